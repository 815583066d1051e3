"""Constants the fetch layer once wrote twice, now defined once; and the connection's cache origin.

The sandbox imports nothing of twibox_nb outside itself, so it keeps its own copy of Twilio's host
pattern: this file keeps the copy identical.
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path
from typing import get_args

import httpx
import pytest

import twibox_nb
from twibox_nb._version import __version__
from twibox_nb.fetch import chain, hosts, report, session
from twibox_nb.fetch.connection import SANDBOX_LABEL, connect
from twibox_nb.fetch.diagnose import diagnose
from twibox_nb.fetch.request import build_request
from twibox_nb.fetch.slicing import fetch_all
from twibox_nb.model import spec
from twibox_nb.model.dates import resolve_range
from twibox_nb.sandbox import Sandbox
from twibox_nb.sandbox import app as sandbox_app

from ..conftest import NOW, InFlight
from .conftest import ACCOUNT, KEY, MESSAGES, SECRET, json_response, mock_connection

PACKAGE = Path(twibox_nb.__file__).parent


def test_the_sandbox_keeps_an_identical_copy_of_the_twilio_host_pattern():
    assert sandbox_app._TWILIO_HOST.pattern == hosts.TWILIO_HOST.pattern
    for host in ("api.twilio.com", "monitor.dublin.ie1.twilio.com", "twilio.com", "api.twilio.com.evil.io"):
        ours, theirs = hosts.TWILIO_HOST.match(host), sandbox_app._TWILIO_HOST.match(host)
        assert bool(ours) == bool(theirs) and (ours is None or ours.group(1) == host.split(".")[0])


def test_one_user_agent_on_every_request():
    agents: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        agents.append(request.headers["User-Agent"])
        return json_response({"messages": [], "next_page_uri": None, "friendly_name": "x"})

    conn, _ = mock_connection(answer)
    fetch_all(conn, build_request(spec.RequestSpec("/2010-04-01/Accounts/{AccountSid}/Messages.json"), conn,
                                  resolve_range("last_7_days", NOW)))  # fmt: skip
    fetch_all(conn, httpx.Request("GET", MESSAGES))  # a request built by hand gets the session's
    diagnose(conn)
    assert agents == [session.USER_AGENT] * 3
    assert session.USER_AGENT.startswith(f"twibox_nb/{__version__} ")
    assert session.DEFAULT_HEADERS == {"Accept": "application/json", "User-Agent": session.USER_AGENT}


def test_pagination_kinds_and_stop_reasons_have_one_definition():
    assert chain.PAGINATIONS == get_args(spec.Pagination) == ("none", "next_page")
    assert set(report.STOP_WORDS) == set(get_args(report.StopReason))
    capped = report.FetchReport(1, 1, 1, 0, 0.0, "page_cap", True)
    assert report.STOP_WORDS["page_cap"] in capped.summary()
    assert not hasattr(session, "StopReason") and not hasattr(session, "_user_agent")


def test_the_sandbox_label_is_used_not_rewritten():
    assert connect(sandbox=True).label == f"{SANDBOX_LABEL}, in-process"
    assert repr(connect(sandbox=True)).startswith(f"Connection({SANDBOX_LABEL}, ")


def code_strings(path: Path) -> list[str]:
    """The string constants of a module's code (f-string parts included), docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


FETCH_AND_SANDBOX = sorted(PACKAGE.rglob("*.py"))  # the whole package: every folder reads the one definition


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (SANDBOX_LABEL, ["fetch/connection.py"]),
        ("twibox_nb/", ["fetch/session.py"]),  # the user agent
        ("stopped at the page cap", ["fetch/report.py"]),
        ("stopped once the records were older", ["fetch/report.py"]),
        (hosts.TWILIO_HOST.pattern, ["model/spec.py", "sandbox/app.py"]),  # the sandbox's copy, kept identical above
    ],
)
def test_each_constant_is_written_once_in_fetch_and_the_sandbox(text, where):
    found = [f"{p.parent.name}/{p.name}" for p in FETCH_AND_SANDBOX for value in code_strings(p) if text in value]
    assert found == where


def test_the_pagination_kinds_are_listed_once_in_the_package():
    """model/spec.py's Pagination is their one definition; fetch and the builder read PAGINATIONS."""
    listed = []
    for path in FETCH_AND_SANDBOX:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if {"none", "next_page"} <= values:
                    listed.append(f"{path.parent.name}/{path.name}")
    assert listed == ["model/spec.py"]


# --- the cache origin: known by the connection, computed where it is built ----------------------------


def test_a_real_accounts_origin_is_its_hosts_region_and_edge_included():
    plain = connect(ACCOUNT, KEY, SECRET, env={})
    regional = connect(ACCOUNT, KEY, SECRET, region="ie1", edge="dublin", env={})
    assert plain.cache_origin == "https://*.twilio.com"
    assert regional.cache_origin == "https://*.dublin.ie1.twilio.com"


def test_a_sandboxs_origin_names_its_seed_and_scale_not_its_clock():
    """A closed day's data depend on seed and scale alone, so a live clock keeps its cache hits."""

    def origin(**options) -> str:
        return connect(sandbox=Sandbox(**{"seed": 7, "scale": 1, "now": NOW, **options})).cache_origin

    assert origin() == "https://*.twilio.com sandbox(seed=7, scale=1)"
    assert len({origin(), origin(seed=8), origin(scale=2)}) == 3
    assert origin(now=NOW + timedelta(days=1)) == origin()


def test_the_origin_does_not_depend_on_the_transport():
    sandbox = Sandbox(seed=9, scale=1, now=NOW)
    wrapped = connect(sandbox=sandbox, transport=InFlight(sandbox.transport()))  # no .app to dig into
    assert wrapped.cache_origin == connect(sandbox=sandbox).cache_origin
    assert "seed=9" in wrapped.cache_origin


def test_a_loopback_sandbox_is_named_by_its_url():
    loopback = connect(sandbox="http://127.0.0.1:8765/")
    assert loopback.cache_origin == "https://*.twilio.com sandbox(http://127.0.0.1:8765)"
