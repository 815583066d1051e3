"""The cache of closed past windows: the second run over the past sends no request."""

from __future__ import annotations

import base64
import io
import re
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import httpx
import pandas as pd
import pytest

from twibox_nb import Cache
from twibox_nb._exceptions import TruncationWarning
from twibox_nb.cli import main
from twibox_nb.fetch.connection import connect
from twibox_nb.model.identity import metric_identity
from twibox_nb.model.spec import RequestSpec
from twibox_nb.pipeline.metric import fetch_metric
from twibox_nb.sandbox import Sandbox

from ..conftest import NOW
from .test_fetch_metric import ACCOUNT, as_dict, messages_by_status, truth_frame

SECRET = "Zq9-CACHE-MUST-NEVER-HOLD-THIS-7f3"


class Recording(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner, self.urls = inner, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return self.inner.handle_request(request)


class AnyAccount(httpx.BaseTransport):
    """Plays Twilio for any account: the sandbox's data, whatever the SID and credentials."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox, self.inner, self.urls = sandbox, sandbox.transport(), []
        c = sandbox.credentials
        self.auth = "Basic " + base64.b64encode(f"{c.api_key}:{c.api_secret}".encode()).decode()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.scheme == "https" and request.url.host.endswith(".twilio.com")
        self.urls.append(request.url)
        demo = f"/Accounts/{self.sandbox.credentials.account_sid}"
        path = re.sub(r"/Accounts/AC[0-9a-f]{32}", demo, request.url.path)
        url = request.url.copy_with(path=path)
        headers = {**request.headers, "authorization": self.auth}
        return self.inner.handle_request(httpx.Request("GET", url, headers=headers))


def account(sandbox: Sandbox, sid: str):
    transport = AnyAccount(sandbox)
    return connect(sid, "SK" + "b2" * 16, SECRET, transport=transport, env={}), transport


A, B = "AC" + "a1" * 16, "AC" + "e5" * 16


def test_second_run_over_a_closed_range_sends_no_request(sandbox, tmp_path):
    recording = Recording(sandbox.transport())
    conn = connect(sandbox=sandbox, transport=recording)
    cache = Cache(tmp_path)
    first = fetch_metric(messages_by_status(), conn, "last_30_days", now=NOW, cache=cache)
    sent = len(recording.urls)
    assert sent >= 30 and first.cached_windows == 0
    second = fetch_metric(messages_by_status(), conn, "last_30_days", now=NOW, cache=cache)
    assert len(recording.urls) == sent  # not one request
    pd.testing.assert_frame_equal(second.data, first.data)
    pd.testing.assert_frame_equal(second.rows, first.rows)
    assert as_dict(second.data) == truth_frame(sandbox, NOW.date() - timedelta(days=30), NOW.date())
    assert second.cached_windows == 30 and second.pages == 0 and "30 closed windows" in repr(second)
    assert second.expression == first.expression
    # Another interval, a sub-range, and tomorrow's last_30_days reuse the same day windows.
    week = fetch_metric(messages_by_status(), conn, "2026-11-10..2026-11-16", "week", now=NOW, cache=cache)
    assert len(recording.urls) == sent and week.cached_windows == 7
    tomorrow = NOW + timedelta(days=1)
    fetch_metric(messages_by_status(), conn, "last_30_days", now=tomorrow, cache=cache)
    assert {u.params["DateSent>"] for u in recording.urls[sent:]} == {"2026-11-27"}  # only the new day


def test_a_range_including_today_refetches_only_the_open_window(sandbox, tmp_path):
    recording = Recording(sandbox.transport())
    conn = connect(sandbox=sandbox, transport=recording)
    cache = Cache(tmp_path)
    first = fetch_metric(messages_by_status(), conn, "week_to_date", now=NOW, cache=cache)
    sent = len(recording.urls)
    second = fetch_metric(messages_by_status(), conn, "week_to_date", now=NOW, cache=cache)
    again = recording.urls[sent:]
    assert again and {u.params["DateSent>"] for u in again} == {NOW.date().isoformat()}
    assert second.cached_windows == 4  # Monday to Thursday; Friday (today) is open
    pd.testing.assert_frame_equal(second.data, first.data)


def test_a_window_that_just_ended_is_not_closed_yet(sandbox, tmp_path):
    conn = connect(sandbox=sandbox)
    cache = Cache(tmp_path)
    just_after_midnight = datetime(2026, 11, 27, 0, 30, tzinfo=timezone.utc)
    fetch_metric(messages_by_status(), conn, "yesterday", now=just_after_midnight, cache=cache, concurrency=1)
    assert cache.info().empty  # ended 30 minutes ago: Twilio may still update it
    fetch_metric(messages_by_status(), conn, "yesterday", now=just_after_midnight + timedelta(hours=1), cache=cache)
    assert len(cache.info()) == 1


def test_accounts_never_share_windows_and_no_credentials_are_stored(sandbox, tmp_path):
    cache = Cache(tmp_path)
    conn_a, server_a = account(sandbox, A)
    conn_b, server_b = account(sandbox, B)
    fetch_metric(messages_by_status(), conn_a, "last_7_days", now=NOW, cache=cache)
    fetch_metric(messages_by_status(), conn_a, "last_7_days", now=NOW, cache=cache)
    assert len(server_a.urls) == 7  # the second run for A came from the cache
    fetch_metric(messages_by_status(), conn_b, "last_7_days", now=NOW, cache=cache)
    assert len(server_b.urls) == 7  # B fetched its own
    info = cache.info()
    assert set(info["account"]) == {A, B} and len(info) == 14
    assert set(info["metric"]) == {metric_identity(messages_by_status())}
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        for secret in (SECRET, sandbox.credentials.api_secret, sandbox.credentials.auth_token):
            assert secret.encode() not in data, path
    assert cache.clear(account=A) == 7 and set(cache.info()["account"]) == {B}


def test_two_sandboxes_never_share_windows(tmp_path):
    cache = Cache(tmp_path)
    one, other = Sandbox(seed=7, scale=1, now=NOW), Sandbox(seed=8, scale=1, now=NOW)
    a = fetch_metric(messages_by_status(), connect(sandbox=one), "last_7_days", now=NOW, cache=cache)
    b = fetch_metric(messages_by_status(), connect(sandbox=other), "last_7_days", now=NOW, cache=cache)
    assert b.cached_windows == 0 and a.summary.current != b.summary.current
    assert as_dict(b.data) == truth_frame(other, NOW.date() - timedelta(days=7), NOW.date())
    assert len(cache.info()["origin"].unique()) == 2


def test_truncated_windows_are_never_cached(sandbox, tmp_path):
    cache = Cache(tmp_path)
    conn = connect(sandbox=sandbox)
    capped = messages_by_status(
        request=RequestSpec(
            f"{ACCOUNT}/Messages.json",
            params={"PageSize": "20", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"},
            max_pages=1,
        )
    )
    with pytest.warns(TruncationWarning):
        fetch_metric(capped, conn, "2026-11-10..2026-11-12", now=NOW, cache=cache, concurrency=1)
    assert cache.info().empty  # one window, truncated
    with pytest.warns(TruncationWarning):
        fetch_metric(capped.replace(request=replace(capped.request, max_pages=8)), conn, "2026-11-10..2026-11-12",
                     now=NOW, cache=cache)  # fmt: skip
    for row in cache.info().itertuples():  # what was stored is complete, day by day
        day = row.start.date()
        assert row.records == len(sandbox.truth.sids("messages", day, day + timedelta(days=1)))


def test_clear_empties_the_cache(sandbox, tmp_path):
    cache = Cache(tmp_path)
    fetch_metric(messages_by_status(), connect(sandbox=sandbox), "last_7_days", now=NOW, cache=cache)
    assert len(cache.info()) == 7 and cache.info()["bytes"].min() > 0
    assert cache.clear(metric="nothing-like-this") == 0
    assert cache.clear() == 7 and cache.info().empty


def test_environment_picks_the_place_or_turns_it_off(sandbox, tmp_path, monkeypatch):
    conn, server = account(sandbox, A)
    monkeypatch.setenv("TWIBOX_CACHE", str(tmp_path))
    fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW)  # a real connection: cached by default
    fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW)
    assert len(server.urls) == 7 and len(Cache(tmp_path).info()) == 7
    monkeypatch.setenv("TWIBOX_CACHE", "off")
    fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW)
    fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, cache=True)
    assert len(server.urls) == 21
    fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, cache=Cache(tmp_path))  # explicit wins
    assert len(server.urls) == 21


def test_sandbox_connections_are_not_cached_by_default(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("TWIBOX_CACHE", str(tmp_path))
    recording = Recording(sandbox.transport())
    conn = connect(sandbox=sandbox, transport=recording)
    fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW)
    fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, cache=False)
    assert len(recording.urls) == 14 and not list(tmp_path.iterdir())


def test_an_unsliced_closed_range_is_one_window(sandbox, tmp_path):
    recording = Recording(sandbox.transport())
    conn = connect(sandbox=sandbox, transport=recording)
    cache = Cache(tmp_path)
    first = fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, cache=cache, concurrency=1)
    sent = len(recording.urls)
    second = fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, cache=cache, concurrency=1)
    assert len(recording.urls) == sent and second.cached_windows == 1
    pd.testing.assert_frame_equal(second.data, first.data)


def test_command_line_info_and_clear(sandbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TWIBOX_CACHE", str(tmp_path))
    fetch_metric(messages_by_status(), connect(sandbox=sandbox), "last_7_days", now=NOW, cache=True)
    assert main(["cache", "info"]) == 0
    out, err = capsys.readouterr()
    assert "7 windows" in err and sandbox.credentials.account_sid in out and str(date(2026, 11, 20)) in out
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: no question asked
    assert main(["cache", "clear"]) == 1
    assert main(["cache", "clear", "--yes"]) == 0
    assert "deleted 7" in capsys.readouterr().err and Cache(tmp_path).info().empty
    monkeypatch.setenv("TWIBOX_CACHE", "off")
    assert main(["cache", "info"]) == 0 and "off" in capsys.readouterr().err
