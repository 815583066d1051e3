"""Where a store lives (URL, $TWIBOX_STORE, the user's data directory) and the command line."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from twibox_nb import cli, library
from twibox_nb._exceptions import StoreError
from twibox_nb.store.db import default_path, resolve
from twibox_nb.store.metric_store import Store

from ..conftest import NOW, REPO

ARGS = ["--sandbox", "--now", NOW.isoformat()]


def test_locations(tmp_path, monkeypatch):
    monkeypatch.delenv("TWIBOX_STORE", raising=False)
    assert resolve(None).target == str(default_path()) and default_path().name == "store.sqlite3"
    assert "twibox_nb" in str(default_path())
    assert resolve(f"sqlite:///{tmp_path}/a.db").target == f"{tmp_path}/a.db"  # sqlite:////abs
    assert resolve("sqlite:///rel/a.db").target == "rel/a.db"
    assert resolve(tmp_path / "b.db").url == f"sqlite:///{tmp_path}/b.db"
    monkeypatch.setenv("TWIBOX_STORE", str(tmp_path / "env.db"))
    assert resolve(None).target == str(tmp_path / "env.db")
    monkeypatch.setenv("TWIBOX_STORE", f"sqlite:///{tmp_path}/env2.db")
    with Store() as store:
        assert store.url == f"sqlite:///{tmp_path}/env2.db" and (tmp_path / "env2.db").exists()
    for bad, message in [("mysql://x", "unknown store URL"), ("sqlite:///", "names no file"), (" ", "empty")]:
        with pytest.raises(StoreError, match=message):
            resolve(bad)
    assert resolve("postgresql://me:pw@db:5432/m").url == "postgresql://me:***@db:5432/m"


def test_the_default_store_is_in_the_user_data_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("TWIBOX_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # platformdirs on Linux follows it
    with Store() as store:
        assert store.url == f"sqlite:///{tmp_path}/data/twibox_nb/store.sqlite3"
    assert (tmp_path / "data" / "twibox_nb" / "store.sqlite3").is_file()


def test_twibox_sync_then_history(store_url, tmp_path, capsys):
    store = store_url
    spec_file = tmp_path / "sent.json"
    library.get("Messages sent").save(spec_file)
    code = cli.main(["sync", str(spec_file), "Account balance", "--range", "last_7_days", "--store", store, *ARGS])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("synced Messages sent: ") and "complete" in lines[0] and store in lines[0]
    assert lines[1].startswith("synced Account balance: 1 point written") and "one reading" in lines[1]

    csv = tmp_path / "out.csv"
    for metric in ("Messages sent", str(spec_file)):
        code = cli.main(["history", metric, "--range", "last_7_days", "--interval", "day", "--store", store,
                         "--csv", str(csv), "--now", NOW.isoformat()])  # fmt: skip
        out, err = capsys.readouterr()
        assert code == 0, err
        table = pd.read_csv(csv)
        assert list(table.columns) == ["date", "dimension", "value"] and len(table) == 7
        assert "from the store" in err
    code = cli.main(["history", "Messages sent", "--range", "last_7_days", "--store", store, "--now", NOW.isoformat()])
    out, err = capsys.readouterr()
    assert code == 0 and "2026-11-26T00:00:00Z" in out


def test_twibox_sync_errors_and_exit_codes(tmp_path, capsys):
    store = f"sqlite:///{tmp_path}/s.db"
    code = cli.main(["sync", "No such metric", "Messages sent", "--range", "yesterday", "--store", store, *ARGS])
    out, err = capsys.readouterr()
    assert code == 1 and "synced Messages sent" in out  # the others still sync
    assert err.startswith("twibox sync: No such metric: metric: 'No such metric' is neither a metric file")
    assert len(err.strip().splitlines()) == 1
    assert cli.main(["sync", "Messages sent", "--range", "nonsense", "--store", store, *ARGS]) == 1
    assert "unknown date range 'nonsense'" in capsys.readouterr().err
    assert cli.main(["sync", "Messages sent", "--store", "mysql://x", *ARGS]) == 1
    assert capsys.readouterr().err.startswith("twibox sync: unknown store URL")
    assert cli.main(["history", "Nope", "--store", store]) == 1
    assert capsys.readouterr().err.startswith("twibox history: no stored metric named 'Nope'")


def test_a_truncated_sync_exits_3(tmp_path, capsys):
    spec = library.get("Messages sent")
    params = {**dict(spec.request.params), "PageSize": "50"}
    capped = spec.replace(request=spec.request.__class__(spec.request.path, params=params, max_pages=1))
    capped.save(tmp_path / "capped.json")
    code = cli.main(["sync", str(tmp_path / "capped.json"), "--range", "last_7_days", "--store",
                     str(tmp_path / "s.db"), *ARGS])  # fmt: skip
    out, _ = capsys.readouterr()
    assert code == 3 and "TRUNCATED (page_cap)" in out


def test_the_twibox_command_runs_sync_in_a_process_of_its_own(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "twibox_nb.cli", "sync", "Messages sent", "--range", "yesterday", "--store",
         str(tmp_path / "s.db"), "--quiet", *ARGS],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr.startswith("synced Messages sent")
    with Store(tmp_path / "s.db") as store:
        assert store.metrics()["name"].tolist() == ["Messages sent"]
