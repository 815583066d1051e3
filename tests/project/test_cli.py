"""The ``twibox`` command line is one set of rules: one way to name a metric, one way to connect,
command-line hints in its errors, right plurals, and the README's commands run as pasted."""

from __future__ import annotations

import io
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from twibox_nb import Cache, cli, library
from twibox_nb.fetch.connection import connect
from twibox_nb.pipeline.metric import fetch_metric
from twibox_nb.sandbox import Sandbox
from twibox_nb.sandbox import cli as sandbox_cli
from twibox_nb.store.metric_store import Store

from ..conftest import NOW, REPO

CLOCK = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
PINNED = ["--sandbox", "--now", CLOCK]
TODAY = NOW.strftime("%Y-%m-%dT00:00:00Z")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


@pytest.fixture
def spec_file(tmp_path) -> str:
    """A metric file, so that a test of something else does not depend on library names."""
    path = tmp_path / "messages-sent.json"
    library.get("Messages sent").save(path)
    return str(path)


@pytest.fixture
def no_twilio_env(monkeypatch):
    for name in [n for n in os.environ if n.startswith("TWILIO_")]:
        monkeypatch.delenv(name)


# --- 1. one resolver: a metric file or a library name, for every command ----------------------


def test_fetch_takes_a_library_name_as_sync_does(capsys, tmp_path):
    out = tmp_path / "sent.csv"
    code, _, err = run(capsys, "fetch", "Messages sent", "--range", "last_7_days", "--csv", str(out), "--quiet",
                       *PINNED)  # fmt: skip
    assert code == 0, err
    assert err.startswith("Messages sent — SANDBOX") and "wrote 7 rows" in err
    expected = fetch_metric(library.get("messages-sent"), connect(sandbox=Sandbox(now=NOW)), "last_7_days", now=NOW)
    assert pd.read_csv(out)["value"].tolist() == expected.data["value"].tolist()


@pytest.mark.parametrize("command", ["fetch", "sync"])
def test_a_misspelt_name_gets_the_librarys_suggestion(capsys, tmp_path, command):
    store = ["--store", str(tmp_path / "s.db")] if command == "sync" else []
    code, _, err = run(capsys, command, "Mesages sent", *store, *PINNED)
    line = one_line(err)
    assert code == 1 and "'Mesages sent' is neither a metric file nor a library metric" in line
    assert "did you mean 'Messages sent'" in line
    code, _, err = run(capsys, command, "zzz qqq", *store, *PINNED)
    line = one_line(err)
    assert code == 1 and "neither a metric file nor a library metric" in line
    assert "library name such as 'Messages sent'" in line and "library.list()" not in line  # no Python call


def test_a_missing_file_is_named_as_a_file(capsys, tmp_path):
    code, _, err = run(capsys, "fetch", str(tmp_path / "nope.json"), *PINNED)
    assert code == 1 and "no such metric file" in one_line(err)


def test_history_reads_a_metric_file_or_a_stored_name(capsys, tmp_path):
    store = ["--store", str(tmp_path / "s.db")]
    spec_file = tmp_path / "sent.json"
    library.get("Messages sent").save(spec_file)
    assert run(capsys, "sync", "Messages sent", "--range", "yesterday", *store, *PINNED)[0] == 0
    tables = []
    for metric in (str(spec_file), "Messages sent", "messages sent"):
        code, out, err = run(capsys, "history", metric, "--range", "yesterday", "--now", CLOCK, *store)
        assert code == 0, err
        tables.append(out)
    assert tables[0] == tables[1] == tables[2]
    code, _, err = run(capsys, "history", "Mesages sent", *store)
    assert code == 1 and "did you mean 'Messages sent'" in one_line(err)


# --- 2. one connection builder: --now pins the embedded sandbox for every command --------------


def test_fetch_sandbox_now_gives_the_librarys_data_for_that_clock(capsys, tmp_path):
    spec_file = tmp_path / "by-status.json"
    library.get("Messages by status").save(spec_file)
    out = tmp_path / "today.csv"
    code, _, err = run(capsys, "fetch", str(spec_file), "--range", "today", "--interval", "hour", "--csv", str(out),
                       "--quiet", *PINNED)  # fmt: skip
    assert code == 0, err
    conn = connect(sandbox=Sandbox(now=NOW))
    expected = fetch_metric(library.get("Messages by status"), conn, "today", "hour", now=NOW).data
    got = pd.read_csv(out)
    assert got["value"].tolist() == expected["value"].tolist()
    after = got["date"] > NOW.strftime("%Y-%m-%dT%H:00:00Z")
    assert got.loc[~after, "value"].sum() > 0 and (got.loc[after, "value"] == 0).all()  # nothing after the clock


def test_every_connecting_command_uses_one_builder(monkeypatch, capsys, tmp_path):
    built = []
    real = cli.connection
    monkeypatch.setattr(cli, "connection", lambda *a: built.append(a) or real(*a))
    assert run(capsys, "fetch", "Account balance", "--quiet", *PINNED)[0] == 0
    assert run(capsys, "sync", "Account balance", "--store", str(tmp_path / "s.db"), *PINNED)[0] == 0
    assert [args[0] for args in built] == ["in-process", "in-process"] and all(a[1] == NOW for a in built)


@pytest.mark.parametrize("command", ["fetch", "sync", "history"])
def test_a_bad_now_is_one_line_naming_now_with_an_example(capsys, tmp_path, spec_file, command):
    where = ["--sandbox"] if command != "history" else ["--store", str(tmp_path / "s.db")]
    code, _, err = run(capsys, command, spec_file, *where, "--now", "yesterday")
    line = one_line(err)
    assert code in (1, 2) and line.startswith(f"twibox {command}: --now 'yesterday'")
    assert sandbox_cli.NOW_EXAMPLE in line


def test_the_sandbox_command_explains_a_bad_now(capsys):
    assert sandbox_cli.main(["--port", "0", "--now", "noon"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "--now 'noon'" in line and sandbox_cli.NOW_EXAMPLE in line


def test_a_sandbox_url_off_loopback_is_refused_in_command_line_words(capsys, spec_file):
    code, _, err = run(capsys, "fetch", spec_file, "--sandbox", "http://example.com:8765")
    line = one_line(err)
    assert code == 1 and "--sandbox http://example.com:8765" in line and "loopback" in line and "sandbox=" not in line


# --- 3. command-line hints, not Python calls -------------------------------------------------

SECRET = "s3cret-never-shown"
AC = "AC" + "1" * 32
SK = "SK" + "2" * 32


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({}, "TWILIO_ACCOUNT_SID is not set"),
        ({"TWILIO_ACCOUNT_SID": AC}, "neither TWILIO_API_KEY nor TWILIO_AUTH_TOKEN is set"),
        ({"TWILIO_ACCOUNT_SID": AC, "TWILIO_API_KEY": SK}, "TWILIO_API_SECRET is not"),
    ],
)
def test_missing_credentials_say_what_to_set(no_twilio_env, monkeypatch, capsys, tmp_path, spec_file, env, said):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for argv in (["fetch", spec_file], ["sync", spec_file, "--store", str(tmp_path / "s.db")]):
        code, _, err = run(capsys, *argv)
        line = one_line(err)
        assert code == 1 and said in line, line
        for needed in ("TWILIO_ACCOUNT_SID", "TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_AUTH_TOKEN", "--sandbox"):
            assert needed in line
        for python in ("connect(", "sandbox=True", "account_sid=", "api_secret=", "auth_token="):
            assert python not in line


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_ACCOUNT_SID 'AC123' is not an Account SID"),
        ({"TWILIO_ACCOUNT_SID": AC, "TWILIO_API_KEY": AC, "TWILIO_API_SECRET": SECRET}, "TWILIO_API_KEY 'AC"),
        ({"TWILIO_ACCOUNT_SID": AC, "TWILIO_AUTH_TOKEN": SECRET}, "TWILIO_AUTH_TOKEN is malformed"),
        ({"TWILIO_ACCOUNT_SID": AC, "TWILIO_API_KEY": SK, "TWILIO_API_SECRET": SECRET, "TWILIO_REGION": "ie 1"},
         "TWILIO_REGION 'ie 1'"),
    ],
)  # fmt: skip
def test_a_bad_value_names_its_variable_and_never_a_secret(no_twilio_env, monkeypatch, capsys, spec_file, env, said):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = run(capsys, "fetch", spec_file)
    line = one_line(err)
    assert code == 1 and said in line and SECRET not in line


def test_the_python_messages_keep_their_python_hints():
    from twibox_nb._exceptions import CredentialsError

    with pytest.raises(CredentialsError, match=r"pass account_sid=.*connect\(sandbox=True\)"):
        connect(env={})
    with pytest.raises(CredentialsError, match=r"^account_sid 'AC123' is not an Account SID"):
        connect("AC123", env={})
    with pytest.raises(CredentialsError, match=r"^TWILIO_ACCOUNT_SID 'AC123' is not an Account SID"):
        connect(env={"TWILIO_ACCOUNT_SID": "AC123"})
    with pytest.raises(CredentialsError, match="pass api_secret="):
        connect(AC, SK, env={})


# --- 5. history of a dynamic metric synced today shows today's reading ------------------------


def test_history_of_a_dynamic_metric_shows_the_reading_synced_today(capsys, tmp_path):
    store = ["--store", str(tmp_path / "s.db")]
    code, out, err = run(capsys, "sync", "Account balance", *store, *PINNED)
    assert code == 0, err
    for later in (NOW, NOW + timedelta(hours=1)):  # just after the sync, and later the same day
        code, out, err = run(capsys, "history", "Account balance", *store, "--now", later.isoformat())
        assert code == 0, err
        assert TODAY in out and "last_30_days to now" in err and "no stored readings" not in err
    with Store(tmp_path / "s.db") as opened:
        result = opened.history("Account balance", now=NOW)
        assert result.data["date"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").tolist() == [TODAY]
        midnight = NOW.replace(hour=0, minute=0, second=0)
        assert result.date_range.start == midnight - timedelta(days=30) and result.date_range.end > NOW
        # An explicit range is taken as given: last_30_days ends at midnight, before the reading.
        assert opened.history("Account balance", "last_30_days", now=NOW).data.empty
        # A dated metric's default range is its own, unchanged.
        opened.sync(library.get("Messages sent"), connect(sandbox=Sandbox(now=NOW)), "yesterday", now=NOW)
        assert str(opened.history("Messages sent", now=NOW).date_range).startswith("last_30_days [")


# --- 6. plurals ------------------------------------------------------------------------------


def test_counts_of_one_are_singular(capsys, tmp_path, monkeypatch):
    store = ["--store", str(tmp_path / "s.db")]
    code, out, _ = run(capsys, "sync", "Account balance", *store, *PINNED)
    assert code == 0 and "synced Account balance: 1 point written from 1 record, one reading" in out
    csv = tmp_path / "one.csv"
    code, _, err = run(capsys, "history", "Account balance", *store, "--now", CLOCK, "--csv", str(csv))
    assert code == 0 and f"wrote 1 row to {csv}" in err and "1 point (1 record) from 1 sync," in err
    code, _, err = run(capsys, "fetch", "Account balance", "--csv", str(csv), "--quiet", *PINNED)
    assert code == 0 and "wrote 1 row to" in err

    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("TWIBOX_CACHE", str(cache_dir))
    conn = connect(sandbox=Sandbox(now=NOW))
    fetch_metric(library.get("Messages sent"), conn, "yesterday", now=NOW, cache=True, concurrency=1)
    assert len(Cache(cache_dir).info()) == 1
    code, _, err = run(capsys, "cache", "info")
    assert code == 0 and re.search(r"^1 window, [\d,]+ bytes of rows$", err, re.M), err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, "cache", "clear", "--yes")
    assert code == 0 and "deleted 1 cached window from" in err


def test_one_more_gap_is_singular(tmp_path):
    conn = connect(sandbox=Sandbox(now=NOW))
    with Store(tmp_path / "s.db") as store:
        for day in ("01", "03", "05", "07"):
            store.sync(library.get("Messages sent"), conn, f"2026-11-{day}..2026-11-{day}", now=NOW)
        result = store.history("Messages sent", "2026-11-01..2026-11-09", now=NOW)
    assert any(w.endswith("UTC and 1 more gap; the store has nothing there (sums and counts show 0)")
               for w in result.warnings), result.warnings  # fmt: skip


# --- 4. the README's commands run as pasted ---------------------------------------------------


def readme_commands() -> list[str]:
    """The ``twibox …`` lines of the first bash block in the README's section on the metric store."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## The metric store", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"^```bash\n(.*?)^```", section, re.S | re.M)
    assert block, "the README's metric store section has no ```bash block"
    return [line for line in block.group(1).splitlines() if line.startswith("twibox ")]


def test_the_readme_store_commands_are_what_the_tests_run():
    commands = readme_commands()
    assert len(commands) >= 3 and commands[0].startswith("twibox sync ")
    assert all("--sandbox" in c for c in commands if c.startswith("twibox sync"))
    assert not any("metrics/" in c for c in commands)


def test_the_readme_store_commands_run_with_a_pinned_clock(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TWIBOX_STORE", str(tmp_path / "env-store.sqlite3"))
    outs = []
    for line in readme_commands():
        argv = shlex.split(line)
        assert argv[0] == "twibox"
        code, out, err = run(capsys, *argv[1:], "--now", CLOCK)
        assert code == 0, f"{line}\n{err}"
        outs.append((argv[1], argv[2], out, err))
    synced = next(o for o in outs if o[0] == "sync")[2]
    assert "synced Messages sent: " in synced and "synced Account balance: 1 point written" in synced
    for _command, metric, out, _err in [o for o in outs if o[0] == "history"]:
        dates = re.findall(r"^(\d{4}-\d{2}-\d{2}T\S+Z)", out, re.M)
        assert dates, out
        if metric == "Account balance":
            assert dates == [TODAY]  # the reading just synced
        else:
            assert len(dates) == 7 and dates[-1] == (NOW - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    assert (tmp_path / "history.sqlite3").is_file() and not (tmp_path / "env-store.sqlite3").exists()


def test_the_readme_store_commands_run_verbatim_in_a_shell(tmp_path):
    """As pasted, on the real clock: they succeed and print a table, whatever the date."""
    env = {**os.environ, "TWIBOX_STORE": str(tmp_path / "env-store.sqlite3"), "TWIBOX_CACHE": "off",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
    for line in readme_commands():
        result = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=180, check=False)  # fmt: skip
        assert result.returncode == 0, f"{line}\n{result.stderr}"
        if line.startswith("twibox history"):
            assert re.search(r"^\d{4}-\d{2}-\d{2}T", result.stdout, re.M), result.stdout
    assert (tmp_path / "history.sqlite3").is_file() and not (tmp_path / "env-store.sqlite3").exists()


# --- 7. the sandbox banner names faults only when some were asked for ---------------------------


def banner(*options: str) -> str:
    command = [sys.executable, "-m", "twibox_nb.sandbox", "--port", "0", "--now", CLOCK, *options]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    watchdog = threading.Timer(60, proc.kill)  # never hang the suite on a sandbox that does not start
    watchdog.start()
    lines: list[str] = []
    try:
        while not lines or ("Ctrl-C" not in lines[-1] and lines[-1]):
            lines.append(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        watchdog.cancel()
    text = "".join(lines)
    assert "Ctrl-C" in text, text
    return text


def test_the_sandbox_banner_shows_faults_only_when_asked():
    assert "faults" not in banner()
    asked = banner("--fault-rate", "0.2")
    assert "; faults: {" in asked and '"rate_limited": 0.05' in asked
    asked = banner("--latency-ms", "5", "--concurrency-limit", "3")
    assert '"latency_ms": 5.0' in asked and '"concurrency_limit": 3' in asked
