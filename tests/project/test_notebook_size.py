"""Executed notebooks stay small and viewable without JavaScript.

``jupyter nbconvert --to notebook --execute`` saves every output and the widget state, as a person's
executed copy would be; the Vega libraries (~900 KB) must be in neither, once per chart or at all,
and every chart must carry a picture that GitHub and nbviewer show (they run no JavaScript and
know no widgets). The quick start was 2.3 MB executed when its charts stored the libraries twice.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import pytest

from twibox_nb.present.chart_export import vega_bundle

from ..conftest import REPO

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CHART_WIDGET = "twibox_nb.widgets._chart.VegaChart"
BUNDLE_MARK = "window.vegaEmbed="  # the last statement of vl-convert's bundle
STATIC_VIEWER = ("image/png", "image/jpeg", "image/svg+xml", "text/markdown", "text/plain")  # no scripts, no widgets
OFFLINE_CALL = re.compile(r"enable_offline_rendering\(([^)]*)\)")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    out = tmp_path_factory.mktemp("executed")
    source = REPO / "notebooks" / "01-quickstart.ipynb"
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", str(source),
         "--output-dir", str(out)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return out / source.name


def chart_outputs(notebook: dict) -> list[dict]:
    state = notebook["metadata"]["widgets"][WIDGET_STATE]["state"]
    charts = {k for k, v in state.items() if v["state"].get("_anywidget_id") == CHART_WIDGET}
    return [
        output
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if output.get("data", {}).get(WIDGET_VIEW, {}).get("model_id") in charts
    ]


def test_executed_quickstart_is_small_and_holds_no_vega_bundle(executed):
    size = executed.stat().st_size
    assert size < 600_000, f"{size:,} bytes"
    text = executed.read_text(encoding="utf-8")
    bundle = vega_bundle()
    assert BUNDLE_MARK not in text and bundle[len(bundle) // 2 :][:1_000] not in text
    notebook = json.loads(text)
    state = notebook["metadata"]["widgets"][WIDGET_STATE]["state"]  # saved, as nbconvert does
    for model in state.values():
        if model["state"].get("_anywidget_id") == CHART_WIDGET:
            assert len(json.dumps(model)) < 30_000  # the chart's spec and SVG, gzipped; no libraries


def test_every_chart_of_the_executed_quickstart_has_a_picture_with_alt_text(executed):
    charts = chart_outputs(json.loads(executed.read_text(encoding="utf-8")))
    assert len(charts) == 2  # result.chart() and rate.chart(goal=90)
    for output in charts:
        shown = next(kind for kind in STATIC_VIEWER if kind in output["data"])  # what a static viewer picks
        assert shown == "image/png"
        png = base64.b64decode(output["data"]["image/png"])
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
        alt = output["metadata"]["image/png"]["alt"]
        assert re.match(r"Line chart: (Messages by status|Delivery rate) \(last 30 days: ", alt), alt


@pytest.mark.parametrize("name", ["01-quickstart.ipynb", "02-build-a-metric.ipynb", "04-metric-library.ipynb"])
def test_notebooks_chart_with_the_renderer_that_stores_no_bundle(name):
    """The "html" and "jupyter" renderers store the libraries with every chart; "widget" does not."""
    notebook = json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))
    calls = [
        args.strip()
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for args in OFFLINE_CALL.findall("".join(cell["source"]))
    ]
    assert calls and set(calls) <= {"", '"widget"', "'widget'"}, calls
