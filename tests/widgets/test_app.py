"""The dashboard app without a browser: its parts and words, the range picker, errors, ``twibox app``.

The browser test (tests/ui/test_app_voila.py) serves the same app under Voila; these check what the
kernel side holds: the widgets, their values, and what ``twibox app`` runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import ipywidgets as widgets
import nbformat
import pytest

import twibox_nb as tb
from twibox_nb import cli
from twibox_nb._exceptions import FetchError, TwilioAPIError
from twibox_nb.widgets import app as app_module
from twibox_nb.widgets.app import APP_CELL, GOALS, METRICS, RANGES, DashboardApp

from ..conftest import NOW, REPO

SECRET = "s3cret-never-shown-0123456789"


def words(html: str) -> str:
    """The text a reader sees in some HTML (tags and SVG drawings left out)."""
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture(scope="module")
def board_app(conn):
    """The app as it opens: the sandbox, the default metrics, goals and range (30 days)."""
    return DashboardApp(conn, now=NOW)


def test_the_app_notebook_is_the_one_cell_twibox_app_serves(tmp_path):
    notebook = nbformat.read(REPO / "notebooks" / "06-dashboard-app.ipynb", as_version=4)
    assert [cell.cell_type for cell in notebook.cells] == ["code"]  # no prose, nothing else
    assert notebook.cells[0].source == APP_CELL and notebook.cells[0].outputs == []
    written = nbformat.read(cli.write_app(tmp_path), as_version=4)
    assert [cell.source for cell in written.cells] == [APP_CELL]
    assert tb.DashboardApp is DashboardApp and "DashboardApp" in tb.__all__


def test_the_app_shows_title_account_range_update_time_scorecard_and_charts(board_app, conn):
    app = board_app
    assert app.picker.label == "Last 30 days" and app.picker.value == "last_30_days"
    assert [app.picker.options[label] for label in RANGES] == list(RANGES.values())
    assert list(RANGES) == ["Last 7 days", "Last 30 days", "Last 4 weeks", "Month to date", "This month"]
    header = words(app.header.value)
    assert header == f"Twilio dashboard {conn.label}" and "SANDBOX" in header
    assert app.status.value == f"last updated {NOW:%H:%M} UTC"
    assert app.error.layout.display == "none" and app.error.value == ""
    # the scorecard: every metric, its value in its unit, the comparison, the goal column, a sparkline
    card = app.scorecard.value
    assert card == app.board.scorecard.to_html() and "width:100%" in card
    assert [r.spec.name for r in app.board.results] == list(METRICS)
    assert ">goal</th>" in card and card.count("<polyline") == 4
    assert re.search(r">\$[\d,]+\.\d\d<", card) and re.search(r">\d+\.\d\d%<", card)
    # a level per day is judged over the 30 days on the page, not the goal's own month (3 days old on Dec 3)
    assert {n: (g.kind, g.target) for n, g in app.board.goals.items()} == {
        n: (g.kind, g.target) for n, g in GOALS.items()}
    assert all(g.timeframe == "last_30_days" for g in app.board.goals.values())
    assert re.search(r"≥ 85\.00% per day: \d+ of 30 days kept", card)
    # the charts: one SVG per metric, two columns
    assert len(app.charts.children) == 4
    assert all(view.value.lstrip().startswith("<svg") for view in app.charts.children)
    assert app.charts.layout.grid_template_columns == "repeat(2, minmax(0, 1fr))"


def test_the_app_holds_no_prose_asserts_or_instructions(board_app):
    app = board_app
    parts = [child for child in app.children if "twibox-app" not in "".join(getattr(child, "_dom_classes", ()))]
    assert len(parts) == 1 and parts[0].value.startswith("<style>")  # the one unnamed part: the app's CSS
    shown = " ".join(words(w.value) for w in (app.header, app.status, app.error))
    assert len(shown.split()) <= 15, shown  # a title, the account, the update time
    for text in (shown, words(app.scorecard.value)):
        assert not re.search(r"assert|Traceback|ground truth|print|run the|click|instructions", text, re.I), text


def test_picking_a_range_refetches_with_the_picker_disabled_and_updating_shown(conn):
    app = DashboardApp(conn, date_range="last_7_days", now=NOW)
    before_card, before_charts = app.scorecard.value, app.charts.children
    seen: list[tuple[bool, str]] = []
    app.status.observe(lambda change: seen.append((app.picker.disabled, change["new"])), names="value")
    app.picker.value = "month_to_date"
    assert seen[0] == (True, "Updating…")  # busy first, with the picker disabled
    assert seen[-1] == (True, f"last updated {NOW:%H:%M} UTC") and not app.picker.disabled
    assert {r.date_range.name for r in app.board.results} == {"month_to_date"}
    assert app.scorecard.value != before_card and "month to date:" in app.scorecard.value
    assert all(view.comm is None for view in before_charts)  # the old charts are closed, not left in the page
    assert len(app.charts.children) == 4 and app.charts.children != before_charts
    app.close()
    # closed through and through: no open widget (a grid, a layout) is left holding a closed one,
    # which would make saving the notebook's widget state fail
    assert app.charts.comm is None and app.picker.comm is None and app.charts.layout.comm is None
    widgets.Widget.get_manager_state(drop_defaults=False)


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            FetchError("GET https://api.twilio.com/x.json: ConnectError (gave up after 5 retries)"),
            "could not be reached",
        ),
        (TwilioAPIError(401, 20003, "Authenticate", url="https://api.twilio.com/x.json"), "did not accept"),
        (TwilioAPIError(503, None, "Service Unavailable"), "answered with an error (503"),
        (RuntimeError("boom at 0x7f"), "unexpected RuntimeError"),
    ],
)
def test_a_failed_update_shows_a_plain_error_and_keeps_the_last_figures(conn, monkeypatch, failure, expected):
    app = DashboardApp(conn, date_range="last_7_days", now=NOW)
    card, charts = app.scorecard.value, app.charts.children

    def fail(*_args, **_kwargs):
        raise failure

    monkeypatch.setattr(app_module, "Databoard", fail)
    app.picker.value = "last_30_days"
    assert app.error.layout.display is None and expected in app.error.value
    assert "Traceback" not in app.error.value and "0x7f" not in app.error.value
    assert not app.picker.disabled and app.status.value == f"last updated {NOW:%H:%M} UTC"
    assert app.scorecard.value == card and app.charts.children == charts
    monkeypatch.undo()
    app.picker.value = "last_4_weeks"  # it works again: the error goes
    assert app.error.layout.display == "none" and app.board.results[0].date_range.name == "last_4_weeks"
    app.close()


def test_a_sandbox_server_that_is_not_running_shows_a_plain_error(monkeypatch):
    conn = tb.connect(sandbox="http://127.0.0.1:9")
    monkeypatch.setattr(app_module, "Databoard", lambda *a, **k: (_ for _ in ()).throw(FetchError("refused")))
    app = DashboardApp(conn, now=NOW)
    assert words(app.header.value) == f"Twilio dashboard {conn.label}"  # where it tried: the sandbox at that URL
    assert "could not be reached" in app.error.value and app.status.value == "not updated"
    assert app.board is None and app.charts.children == () and not app.picker.disabled


def test_incomplete_credentials_show_what_to_set_and_never_the_secret(monkeypatch):
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "0" * 32)
    monkeypatch.setenv("TWILIO_API_SECRET", SECRET)
    for name in ("TWILIO_API_KEY", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    app = DashboardApp()
    assert words(app.header.value) == "Twilio dashboard no account connected"
    assert app.error.value.startswith("No Twilio account is connected.") and "TWILIO_API_KEY" in app.error.value
    state = json.dumps([w.get_state() for w in (app.header, app.status, app.error, app.scorecard)])
    assert SECRET not in state and app.status.value == "not updated"


def test_the_default_connection_is_the_sandbox_without_credentials_else_the_account(monkeypatch):
    for name in app_module.CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    assert app_module.default_connection().is_sandbox
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "f" * 32)
    account = app_module.default_connection()
    assert not account.is_sandbox and account.label == "Twilio account AC" + "1" * 32


def test_twibox_app_without_voila_says_how_to_install_it(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "voila" else real(name, *a))
    assert cli.main(["app", "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("twibox app: Voila is not installed") and "pip install 'twibox-nb[lab]'" in err


def test_twibox_app_runs_voila_on_the_app_with_the_twibox_template(monkeypatch, tmp_path):
    ran = {}

    class Server:
        def __init__(self, command, cwd, env):
            ran.update(command=command, env=env, cell=nbformat.read(Path(cwd) / cli.APP_NOTEBOOK, as_version=4))

        def wait(self, timeout=None):
            return 0

        def poll(self):
            return 0

    monkeypatch.setattr(subprocess, "Popen", Server)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", SECRET)
    assert cli.main(["app", "--port", "8899", "--no-browser", "--sandbox"]) == 0
    command = ran["command"]
    assert command[1:4] == ["-m", "voila", cli.APP_NOTEBOOK] and ran["cell"].cells[0].source == APP_CELL
    for flag in ("--template=twibox", "--Voila.ip=127.0.0.1", "--port=8899", "--preheat_kernel=True", "--no-browser"):
        assert flag in command
    assert "TWILIO_AUTH_TOKEN" not in ran["env"]  # --sandbox: the app shows demo data
    templates = Path(ran["env"]["JUPYTER_PATH"].split(os.pathsep)[0]) / "voila" / "templates" / "twibox"
    assert json.loads((templates / "conf.json").read_text()) == {"base_template": "lab"}
    page = (templates / "index.html.j2").read_text()
    assert "extends 'voila/templates/lab/index.html.j2'" in page and "block notebook_css" in page
    assert "http" not in page and "fontawesome" not in page  # the lab template's Font Awesome links are gone
    assert "--preheat_kernel=False" in cli.app_command(browser=True, preheat=False)
    assert "--no-browser" not in cli.app_command(browser=True)
