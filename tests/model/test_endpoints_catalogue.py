"""The endpoint catalogue generated from Twilio's specs, and ``tb.endpoints()`` that searches it.

The figures are counted here from the vendored specs, independently of the generator: every GET
operation whose operationId starts with ``List`` is a list, every other one (``Fetch…``) an
instance. The hand-written catalogue (``twibox_nb.model.catalog``) must agree with the generated
one wherever both hold a fact; where they differ, the difference is named below, not hidden.
"""

from __future__ import annotations

import dataclasses
import lzma
import subprocess
import sys
import time

import pytest

import twibox_nb as tb
from twibox_nb import SpecError, openapi
from twibox_nb.model.catalog import ENDPOINTS as HAND_WRITTEN
from twibox_nb.openapi import catalogue
from twibox_nb.openapi.endpoints import ApiEndpoint, _catalogue, products

from ..conftest import REPO

ACCOUNT = "/2010-04-01/Accounts/{AccountSid}"
# Lists whose page is not one of Twilio's two usual shapes, as their specs describe them.
ODD_PAGING = {
    ("api", f"{ACCOUNT}/AvailablePhoneNumbers.json"): None,  # one page of countries, no next link
    ("iam_organizations", "/Organizations/{OrganizationSid}/scim/Users"): None,  # SCIM: totalResults
    ("numbers", "/v1/Porting/PortIn/PortInRequests"): "meta.next_token",
    ("numbers", "/v2/ShortCodes/Applications"): "has_next",  # numbered pages
}
# Where the hand-written catalogue decides a boundary rule that the spec's text leaves open: the
# Notifications filters say "at or before midnight on a date", the same midnight wording for which
# model/catalog.py itself says None on Conferences and Recordings.
UNDECIDED_BY_THE_SPEC = {
    ("api", f"{ACCOUNT}/Notifications.json", "MessageDate<"): "on_or_before",
    ("api", f"{ACCOUNT}/Notifications.json", "MessageDate>"): "on_or_after",
}
RULES = {"on", "on_or_before", "before", "on_or_after", "after", None}


def _get_operations() -> dict[str, set[tuple[str, str]]]:
    """(base URL, path) of every GET operation in the vendored specs, by List / Fetch, counted here."""
    found: dict[str, set[tuple[str, str]]] = {"list": set(), "instance": set()}
    for name in openapi.names():
        doc = openapi.load(name)
        for path, item in doc["paths"].items():
            if "get" in item:
                server = (item.get("servers") or doc["servers"])[0]["url"].rstrip("/")
                kind = "list" if item["get"]["operationId"].startswith("List") else "instance"
                found[kind].add((server, path))
    return found


@pytest.fixture(scope="module")
def operations():
    return _get_operations()


@pytest.fixture(scope="module")
def raw_entries():
    return catalogue.entries()


def test_every_list_operation_of_the_specs_is_listed(operations):
    listed = tb.endpoints()
    assert {(e.base_url, e.path) for e in listed} == operations["list"]
    assert len(listed) == len(operations["list"])  # 351 for the vendored commit (the issue counted 348)
    assert all(e.kind == "list" for e in listed)
    instances = tb.endpoints(kind="instance")
    assert {(e.base_url, e.path) for e in instances} == operations["instance"]
    assert len(tb.endpoints(kind="all")) == len(operations["list"]) + len(operations["instance"])
    assert {e.spec for e in listed} <= set(openapi.names())


def test_every_list_has_a_list_key_and_the_paging_of_its_api_version():
    odd = {}
    for entry in tb.endpoints():
        assert entry.list_key, entry.url
        expected = "next_page_uri" if entry.version == "v2010" else "meta.next_page_url"
        if entry.paging != expected:
            odd[(entry.product, entry.path)] = entry.paging
    assert odd == ODD_PAGING
    assert all(e.list_key is None and e.paging is None for e in tb.endpoints(kind="instance"))


def test_list_and_fetch_operation_ids_match_the_response_shape(raw_entries):
    # A list's response holds an array of records and a next link; only the odd pages above lack the link.
    mismatched = {(e["product"], e["path"]) for e in raw_entries if e["kind"] != e["shape"]}
    assert mismatched == {key for key, paging in ODD_PAGING.items() if paging is None}


def test_the_shipped_file_is_what_the_generator_writes(tmp_path, monkeypatch):
    monkeypatch.delenv(openapi.OVERRIDE_ENV, raising=False)
    shipped = catalogue.OUTPUT.read_bytes()
    assert catalogue.build() == shipped, "regenerate: python -m twibox_nb.openapi.catalogue"
    out = tmp_path / "catalogue.json.xz"
    run = subprocess.run(
        [sys.executable, "-m", "twibox_nb.openapi.catalogue", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert out.read_bytes() == shipped
    assert b"date_created" in lzma.decompress(shipped)


def test_known_facts_agree_with_the_hand_written_catalogue():
    generated = {(e.product, e.path): e for e in tb.endpoints(kind="all")}
    undecided = {}
    for hand in HAND_WRITTEN:
        entry = generated[(hand.product, hand.path)]
        assert entry.base_url == hand.base_url, hand.name
        assert entry.list_key == hand.list_key, hand.name
        assert entry.date_field == hand.date_field, hand.name
        assert [f.param for f in entry.filters] == [f.param for f in hand.filters], hand.name
        for mine in entry.filters:
            theirs = hand.rule(mine.param)
            assert mine.kind == next(f.kind for f in hand.filters if f.param == mine.param), (hand.name, mine.param)
            if mine.rule is not None and theirs is not None:
                assert mine.rule == theirs, (hand.name, mine.param)
            elif mine.rule != theirs:
                undecided[(hand.product, hand.path, mine.param)] = theirs
        assert (entry.records == "event") == hand.sliceable, hand.name
        assert bool(entry.newest_first) == hand.newest_first, hand.name
        assert entry.docs == hand.docs, hand.name
    assert undecided == UNDECIDED_BY_THE_SPEC


def test_what_the_specs_cannot_say_comes_from_the_overlay():
    alerts = tb.endpoints("alerts", product="monitor")[0]
    assert (alerts.retention_days, alerts.newest_first, alerts.docs_source) == (30, True, "overlay")
    assert tb.endpoints("Messages.json", product="api")[0].newest_first is True
    studio = tb.endpoints("executions", product="studio")[0]
    assert studio.newest_first is None and studio.docs_source == "derived"
    assert studio.docs.startswith("https://www.twilio.com/docs/studio")


def test_entries_hold_fields_dates_filters_and_page_sizes():
    messages = tb.endpoints("messages", product="api")[0]
    assert messages.page_size == (1, 1000)
    status = messages.field("status")
    assert status is not None and "delivered" in status.enum and status.description
    assert messages.field("date_sent").format == "date-time-rfc-2822"
    assert messages.rule("DateSent>") == "on_or_after" and messages.rule("To") is None
    calls = tb.endpoints("calls", product="api")[0]
    assert calls.path_params == ("AccountSid",) and calls.rule("StartTime<") == "before"
    usage = tb.endpoints("usage records daily")[0]
    assert usage.records == "aggregate" and usage.date_field == "start_date"
    executions = [e for e in tb.endpoints("executions", product="studio") if e.path.endswith("/Executions")]
    assert [e.version for e in executions] == ["v1", "v2"]
    assert executions[0].path_params == ("FlowSid",) and executions[0].paging == "meta.next_page_url"
    for entry in tb.endpoints():
        assert entry.records in ("event", "aggregate", "unknown")
        assert entry.date_field is None or entry.field(entry.date_field) is not None, entry.url
        for flt in entry.filters:
            assert flt.rule in RULES and flt.kind in ("date", "datetime"), (entry.url, flt.param)
        if entry.records == "event":
            assert entry.date_field, entry.url
    with pytest.raises(dataclasses.FrozenInstanceError):
        messages.path = "/elsewhere"  # type: ignore[misc]


def test_boundary_rules_come_from_the_parameters_own_words():
    rule = catalogue.boundary_rule
    assert rule("StartDate", "Only include usage that has occurred on or after this date.", False) == "on_or_after"
    assert rule("EndTime", "Only include usage that occurred before this time (exclusive).", False) == "before"
    assert rule("CreatedAfter", "Conferences created after the provided timestamp.", False) == "after"
    shared = "`YYYY-MM-DD` (a specific day), `<=YYYY-MM-DD` (on and before), and `>=YYYY-MM-DD` (on and after)."
    assert [rule(p, shared, True) for p in ("X", "X<", "X>")] == ["on", "on_or_before", "on_or_after"]
    midnight = "On this date. `X<=YYYY-MM-DD` reads those created on or before midnight of this date."
    assert rule("X<", midnight, True) is None
    assert rule("StartTime", "A Start time of the calls: 4h, 3d or datetime-ISO.", False) is None


def test_search_by_product_and_words():
    conversations = tb.endpoints(product="conversations")
    assert conversations and {e.product for e in conversations} == {"conversations"}
    assert tb.endpoints(product=" Conversations ") == conversations
    assert [e.path for e in tb.endpoints("MESSAGES media")] == [f"{ACCOUNT}/Messages/{{MessageSid}}/Media.json"]
    assert tb.endpoints("messages media") == tb.endpoints("Media Messages")
    services = tb.endpoints("services channels")
    assert {e.product for e in services} >= {"chat", "ip_messaging"}
    everything = tb.endpoints()
    assert everything == sorted(everything, key=lambda e: (e.product, e.path, e.version))
    assert tb.endpoints("") == everything == tb.endpoints("   ") == tb.endpoints(None)
    assert tb.endpoints("verifications", product="verify", kind="instance")
    assert "api" in products() and len(products()) == len({e.product for e in tb.endpoints(kind="all")})
    assert isinstance(everything[0], ApiEndpoint)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": 42}, "text"),
        ({"text": b"messages"}, "text"),
        ({"text": ["messages"]}, "text"),
        ({"text": "x" * 10_000}, "text"),
        ({"product": 7}, "product"),
        ({"product": "nope"}, "product"),
        ({"product": "x" * 10_000}, "product"),
        ({"kind": "lists"}, "kind"),
        ({"kind": None}, "kind"),
    ],
)
def test_hostile_inputs_give_a_clear_error(kwargs, field):
    with pytest.raises(SpecError) as caught:
        tb.endpoints(**kwargs)
    assert caught.value.field == field
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("text", ["(.*", "\x00", "[", "\\", "{AccountSid}", "🙂 messages", "a" * 200])
def test_odd_words_find_nothing_or_something_but_never_fail(text):
    assert isinstance(tb.endpoints(text), list)


def test_the_catalogue_loads_well_under_a_second():
    _catalogue.cache_clear()
    started = time.perf_counter()
    _catalogue()
    assert time.perf_counter() - started < 0.5
    started = time.perf_counter()
    tb.endpoints("messages")
    assert time.perf_counter() - started < 0.05  # cached: no file is read again
