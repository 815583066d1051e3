"""Hostile inputs become clear errors (issue 14): dates no timestamp can hold, requests that cannot
be sent, and malformed metric files.

Each family is a table: add a row to add a case. A date case must never crash pandas and is left
out of the metric like any unreadable date; a request case is a ``SpecError`` naming the field
without echoing a huge value; a file case is a ``SpecError`` naming the file, and ``twibox fetch``
prints it on one line (exit 1, no traceback).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from twibox_nb._exceptions import SpecError, TwiboxWarning
from twibox_nb.aggregate.frames import rows_frame
from twibox_nb.cli import main
from twibox_nb.fetch.connection import connect
from twibox_nb.library import load_metric
from twibox_nb.model.spec import Count, Field, MetricSpec, RequestSpec
from twibox_nb.pipeline.metric import fetch_metric

from ..conftest import MESSAGES_PATH, NOW

# --- 1. dates no pandas timestamp can hold ------------------------------------------------------

# (id, date text as Twilio might send it)
OUT_OF_RANGE_DATES = [
    ("iso-9999", "9999-12-31T23:59:59Z"),
    ("rfc2822-9999", "Fri, 31 Dec 9999 23:59:59 +0000"),
    ("iso-year-1", "0001-01-01T00:00:00Z"),
    ("rfc2822-year-1", "Mon, 01 Jan 0001 00:00:00 +0000"),  # email.utils alone reads this as 2001
    ("iso-year-10000", "10000-01-01T00:00:00Z"),
    ("iso-signed-year", "+10000-01-01T00:00:00Z"),
    ("iso-offset-9999", "9999-12-31T23:59:59+01:00"),
    ("just-past-2262", "2262-04-12T00:00:00Z"),
    ("offset-into-2262", "Sun, 31 Dec 2261 23:00:00 -0500"),
    ("date-only-9999", "9999-12-31"),
]
GOOD = "Tue, 03 Nov 2026 10:00:00 +0000"


# Date filters on both ends: with concurrency, the week is fetched as seven day slices (each slice
# is served the same page here, and keeps the records of its own day, plus the unreadable one once).
SLICEABLE = {"PageSize": "1000", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"}


def messages_body(dates: list[str]) -> dict:
    records = [{"sid": f"SM{i:032x}", "date_sent": d, "status": "delivered"} for i, d in enumerate(dates)]
    return {"messages": records, "next_page_uri": None, "page": 0, "page_size": 1000}


@pytest.mark.parametrize("date", [d for _, d in OUT_OF_RANGE_DATES], ids=[i for i, _ in OUT_OF_RANGE_DATES])
def test_a_date_out_of_range_is_an_unreadable_date(date):
    frame = rows_frame([{"date": date, "value": 1}, {"date": GOOD, "value": 1}])
    assert frame["date"].isna().tolist() == [True, False]
    assert frame.attrs["unreadable_dates"] == 1


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("date", [d for _, d in OUT_OF_RANGE_DATES], ids=[i for i, _ in OUT_OF_RANGE_DATES])
def test_fetch_metric_leaves_out_a_record_dated_out_of_range(date, concurrency):
    body = messages_body([date, GOOD, GOOD])
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    conn = connect("AC" + "ab" * 16, "SK" + "cd" * 16, "hostile-secret", transport=transport, env={})
    spec = MetricSpec(
        "Messages", RequestSpec(MESSAGES_PATH, params=SLICEABLE),
        value=Count(), dimension=Field("status"), date=Field("date_sent"),
    )  # fmt: skip
    with pytest.warns(TwiboxWarning, match="1 record has a date that cannot be read"):
        result = fetch_metric(spec, conn, "2026-11-02..2026-11-08", now=NOW, concurrency=concurrency, cache=False)
    assert result.summary.current == 2.0  # the two readable records, each once
    assert result.rows["date"].notna().all()
    assert any("1 record has a date that cannot be read" in w for w in result.warnings)
    assert result.current.report.slices == (7 if concurrency > 1 else 1)  # a day a slice, or one chain


# --- 2. requests that cannot be sent --------------------------------------------------------------

LONG = "/2010-04-01/Accounts/{AccountSid}/" + "M" * 100_000
# (id, RequestSpec arguments, the field the error names, a phrase of the error)
UNSENDABLE_REQUESTS = [
    ("path-crlf", {"path": "/v1/Alerts\r\nX-Injected: 1"}, "request.path", "inject headers"),
    ("path-lf", {"path": "/v1/Alerts\nGET /other"}, "request.path", "control character"),
    ("path-tab", {"path": "/v1/Al\terts"}, "request.path", "control character ('\\t'"),
    ("path-nul", {"path": "/v1/Alerts\x00.json"}, "request.path", "control character ('\\x00'"),
    ("path-del", {"path": "/v1/Alerts\x7f"}, "request.path", "control character"),
    ("path-100k", {"path": LONG}, "request.path", "over the limit of 2,000"),
    ("path-2001", {"path": "/" + "a" * 2000}, "request.path", "2,001 characters"),
    ("path-fragment", {"path": "/v1/Alerts#x"}, "request.path", "no query or fragment"),
    ("base-url-100k", {"path": "/v1/Alerts", "base_url": "https://" + "a." * 50_000 + "twilio.com"},
     "request.base_url", "over the limit"),
    ("header-value-crlf", {"path": "/v1/Alerts", "headers": {"X-Trace": "1\r\nX-Injected: 1"}},
     "request.headers.X-Trace", "inject headers"),
    ("header-name-lf", {"path": "/v1/Alerts", "headers": {"X-Trace\n": "1"}}, "request.headers", "control character"),
    ("header-name-space", {"path": "/v1/Alerts", "headers": {"X Trace": "1"}}, "request.headers.X Trace",
     "a header name is"),
    ("header-name-colon", {"path": "/v1/Alerts", "headers": {"X-Trace:": "1"}}, "request.headers.X-Trace:",
     "a header name is"),
    ("header-value-100k", {"path": "/v1/Alerts", "headers": {"X-Trace": "v" * 100_000}},
     "request.headers.X-Trace", "over the limit"),
    ("param-value-nul", {"path": "/v1/Alerts", "params": {"LogLevel": "error\x00"}}, "request.params.LogLevel",
     "control character"),
    ("param-value-crlf", {"path": "/v1/Alerts", "params": {"LogLevel": "error\r\n"}}, "request.params.LogLevel",
     "inject headers"),
    ("param-name-tab", {"path": "/v1/Alerts", "params": {"Log\tLevel": "error"}}, "request.params", "control"),
    ("param-name-100k", {"path": "/v1/Alerts", "params": {"P" * 100_000: "1"}}, "request.params", "over the limit"),
    ("param-value-nan", {"path": "/v1/Alerts", "params": {"PageSize": float("nan")}}, "request.params.PageSize",
     "strings (or numbers)"),
    ("param-value-line-separator", {"path": "/v1/Alerts", "params": {"To": "a\u2028b"}}, "request.params.To",
     "control character"),
]  # fmt: skip


def _check_refusal(exc: SpecError, field: str, phrase: str) -> None:
    assert str(exc).startswith(f"{field}: "), str(exc)[:300]
    assert phrase in str(exc), str(exc)[:300]
    assert len(str(exc)) < 1_000  # a 100,000-character value is never echoed whole


@pytest.mark.parametrize(
    ("arguments", "field", "phrase"),
    [case[1:] for case in UNSENDABLE_REQUESTS],
    ids=[case[0] for case in UNSENDABLE_REQUESTS],
)
def test_a_request_that_cannot_be_sent_is_refused_naming_the_field(arguments, field, phrase):
    with pytest.raises(SpecError) as caught:
        RequestSpec(**arguments)
    _check_refusal(caught.value, field, phrase)


@pytest.mark.parametrize(
    ("arguments", "field", "phrase"),
    [case[1:] for case in UNSENDABLE_REQUESTS if case[0] != "param-value-nan"],  # a file has no NaN (see below)
    ids=[case[0] for case in UNSENDABLE_REQUESTS if case[0] != "param-value-nan"],
)
def test_a_metric_file_with_such_a_request_is_refused_by_the_reader(tmp_path, arguments, field, phrase):
    request = {"base_url": "https://monitor.twilio.com", **arguments}
    path = tmp_path / "unsendable.json"
    path.write_text(json.dumps({"twibox_metric": 1, "name": "Unsendable", "request": request}), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_metric(path)
    _check_refusal(caught.value, field, phrase)
    assert str(path) in str(caught.value)


def test_a_request_at_the_limits_is_still_accepted():
    path = "/v1/" + "A" * (2000 - 4)
    spec = RequestSpec(path, base_url="https://monitor.twilio.com", params={"To": "+1 555 0100", "Body": "ünïcode"})
    assert spec.path == path and dict(spec.params)["Body"] == "ünïcode"


# --- 3. malformed metric files --------------------------------------------------------------------

VALID = {"twibox_metric": 1, "name": "Messages", "request": {"path": MESSAGES_PATH}}


def _text(text: str) -> bytes:
    return text.encode("utf-8")


# (id, the file's bytes, or a function of the tmp folder giving the path to read; a phrase of the error)
MALFORMED_FILES = [
    ("nested-100k-objects", _text('{"a":' * 100_000 + "1" + "}" * 100_000), "nested"),
    ("nested-100k-arrays", _text('{"twibox_metric": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"), "nested"),
    ("nested-200-levels", _text(json.dumps({**VALID, "extra": json.loads("[" * 200 + "]" * 200)})), "nested more"),
    ("latin-1", '{"twibox_metric": 1, "name": "Café"}'.encode("latin-1"), "not UTF-8 text (byte 0xe9"),
    ("invalid-utf8-bytes", b'{"twibox_metric": 1, "name": "\xc3\x28\xff"}', "save it as UTF-8"),
    ("utf-16", json.dumps(VALID).encode("utf-16"), "not UTF-8 text"),
    ("int-5000-digits", _text('{"twibox_metric": 1, "name": "x", "n": 1' + "0" * 5000 + "}"), "number too long"),
    ("over-5-mb", _text(json.dumps({**VALID, "padding": "x" * (5 * 2**20)})), "over 5 MB"),
    ("array", _text("[1, 2, 3]"), "holds a JSON array, not an object"),
    ("number", _text("42"), "holds a JSON number"),
    ("string", _text('"twibox"'), "holds a JSON string"),
    ("null", _text("null"), "holds a JSON literal"),
    ("nan", _text('{"twibox_metric": 1, "name": "x", "max": NaN}'), "NaN is not a JSON number"),
    ("infinity", _text('{"twibox_metric": 1, "name": "x", "request": {"path": "/", "max_pages": Infinity}}'),
     "Infinity is not a JSON number"),
    ("minus-infinity", _text('{"twibox_metric": 1, "n": -Infinity}'), "-Infinity is not a JSON number"),
    ("duplicate-key", _text('{"twibox_metric": 1, "name": "a", "request": {"path": "/a"}, "request": {"path": "/b"}}'),
     "'request' appears twice"),
    ("lone-surrogate", _text('{"twibox_metric": 1, "name": "\\ud800"}'), "lone surrogate"),
    ("empty", b"", "not JSON"),
    ("truncated", _text(json.dumps(VALID)[:-5]), "not JSON"),
    ("directory", lambda tmp: tmp, "cannot read it"),
    ("endless-device", lambda tmp: Path("/dev/zero"), "over 5 MB"),
]  # fmt: skip


def _file(tmp_path: Path, content) -> Path:
    if callable(content):
        return content(tmp_path)
    path = tmp_path / "hostile.json"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(("content", "phrase"), [c[1:] for c in MALFORMED_FILES], ids=[c[0] for c in MALFORMED_FILES])
def test_a_malformed_metric_file_is_a_spec_error_naming_the_file(tmp_path, content, phrase):
    path = _file(tmp_path, content)
    with pytest.raises(SpecError) as caught:
        load_metric(path)
    message = str(caught.value)
    assert phrase in message and str(path) in message, message[:300]
    assert len(message) < 1_000


@pytest.mark.parametrize(("content", "phrase"), [c[1:] for c in MALFORMED_FILES], ids=[c[0] for c in MALFORMED_FILES])
def test_twibox_fetch_says_what_is_wrong_with_a_malformed_file_in_one_line(tmp_path, capsys, content, phrase):
    path = _file(tmp_path, content)
    code = main(["fetch", str(path), "--sandbox", "--quiet", "--now", "2026-11-27T15:30:00Z", "--no-cache"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and err.startswith("twibox fetch: ") and err.count("\n") == 1
    assert phrase in err and str(path) in err


@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbf" + _text(json.dumps(VALID)),  # a UTF-8 byte-order mark, as some editors write
        _text(json.dumps({**VALID, "notes": {"by": "another tool", "deep": [[[["ok"]]]]}})),
        _text(json.dumps({**VALID, "name": "Café ☕ 📈"}, ensure_ascii=False)),
    ],
    ids=["utf8-bom", "other-tools-nesting", "non-ascii-name"],
)
def test_well_formed_files_near_the_edges_still_load(tmp_path, content):
    path = tmp_path / "fine.json"
    path.write_bytes(content)
    assert load_metric(path).request.path == MESSAGES_PATH
