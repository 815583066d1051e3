"""The cache serves a window only to the credentials that wrote it, and only to the sandbox that
answered it (issue 14): a refused secret gets no cached data, and a loopback sandbox started later
on the same port with another seed gets its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from twibox_nb import Cache
from twibox_nb._exceptions import TwilioAPIError
from twibox_nb.fetch.connection import Secret, connect
from twibox_nb.pipeline.metric import fetch_metric
from twibox_nb.sandbox import Sandbox

from ..conftest import NOW
from .test_cache import SECRET, A, Recording, account
from .test_fetch_metric import as_dict, messages_by_status, truth_frame

WEEK = (NOW.date() - timedelta(days=7), NOW.date())


def test_a_refused_secret_is_not_served_what_a_good_one_cached(server, sandbox, tmp_path):
    cache = Cache(tmp_path)
    good = connect(sandbox=server.url)
    first = fetch_metric(messages_by_status(), good, "last_7_days", now=NOW, cache=cache)
    assert first.cached_windows == 0 and len(cache.info()) == 7
    again = fetch_metric(messages_by_status(), good, "last_7_days", now=NOW, cache=cache)
    assert again.cached_windows == 7 and again.pages == 0  # the good secret is served from the cache
    wrong = replace(good, secret=Secret("not-the-sandbox-secret-0123456789"))
    with pytest.raises(TwilioAPIError) as refused:
        fetch_metric(messages_by_status(), wrong, "last_7_days", now=NOW, cache=cache)
    assert refused.value.status == 401
    assert len(cache.info()) == 7  # nothing was stored for the wrong secret


def test_another_secret_of_the_same_account_does_not_share_entries(sandbox, tmp_path):
    cache = Cache(tmp_path)
    conn, transport = account(sandbox, A)
    fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, cache=cache)
    rotated = replace(conn, secret=Secret(SECRET + "-rotated"))
    result = fetch_metric(messages_by_status(), rotated, "last_7_days", now=NOW, cache=cache)
    assert result.cached_windows == 0 and len(transport.urls) == 14
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert SECRET.encode() not in stored and b"rotated" not in stored


def test_a_loopback_sandbox_on_a_reused_port_is_served_its_own_data(tmp_path):
    cache = Cache(tmp_path)
    one, other = Sandbox(seed=7, scale=1, now=NOW), Sandbox(seed=8, scale=1, now=NOW)
    with one.serve(port=0) as first_server:
        port = first_server.server_address[1]
        conn = connect(sandbox=first_server.url)
        first = fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, cache=cache)
    assert as_dict(first.data) == truth_frame(one, *WEEK)
    with other.serve(port=port) as second_server:
        # The same URL, another sandbox behind it (a new connection: the old one's pooled sockets
        # still reach the first server's keep-alive threads in this process).
        conn = connect(sandbox=second_server.url)
        assert conn.sandbox == first_server.url
        second = fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, cache=cache)
        assert second.cached_windows == 0 and as_dict(second.data) == truth_frame(other, *WEEK)
        third = fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, cache=cache)
        assert third.cached_windows == 7 and as_dict(third.data) == truth_frame(other, *WEEK)
    assert len(cache.info()["origin"].unique()) == 2


def test_a_sandbox_of_unknown_seed_is_never_cached(sandbox, tmp_path):
    cache = Cache(tmp_path)
    recording = Recording(sandbox.transport())
    conn = connect(sandbox=True, transport=recording)  # which sandbox answers is not known
    fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, cache=cache)
    sent = len(recording.urls)
    again = fetch_metric(messages_by_status(), conn, "last_7_days", now=NOW, cache=cache)
    assert again.cached_windows == 0 and len(recording.urls) == 2 * sent and cache.info().empty


def test_a_server_that_does_not_name_itself_is_not_cached(server, tmp_path, monkeypatch):
    from twibox_nb.sandbox import server as server_module

    monkeypatch.setattr(server_module, "IDENTITY_HEADER", "X-Something-Else")
    cache = Cache(tmp_path)
    fetch_metric(messages_by_status(), connect(sandbox=server.url), "last_7_days", now=NOW, cache=cache)
    assert cache.info().empty
