"""A notebook re-run all day leaves no widget behind, and the tab's JavaScript heap stays bounded (issue 15).

The quick start (two charts and a MetricBuilder) is run ten times in one JupyterLab tab, in the
same live kernel (never restarted: a restart would free everything); after each run the builder's
endpoint is chosen and Continue fetches its first page (the response tree appears). After each
round the garbage collector runs (Chrome DevTools protocol: ``HeapProfiler.collectGarbage``), the
heap in use is read (``Runtime.getHeapUsage``), and so are the page's DOM nodes alive, attached or
not (``Memory.getDOMCounters``), the widget models the kernel holds (ipywidgets' instances, asked
through the page's kernel connection as a silent request) and the page's widget manager holds. The
figures are printed (``pytest -s`` shows them) and are part of every assertion's message.

What must hold: re-running a cell closes the widgets its previous run made (``_lifetime.track``),
so the kernel's and the page's widget counts after the tenth run equal those after the second
(the first run loads the code; the second is the steady state); the kernel sent the Vega libraries
once for the whole session; and the heap and the DOM grow by less than :data:`HEAP_MARGIN` and
:data:`NODE_MARGIN` from the second run to the tenth.

Why the heap still grows at all (heap snapshots, December 2026): JupyterLab 4.6 keeps every closed
widget model reachable (a comm's handler connects to the kernel's ``statusChanged`` signal and
never disconnects), and an ipywidgets model keeps the last view it made (its ``state_change``
promise), so a removed view, its element and whatever it holds outlive it. Before the fix the
charts' removed views kept their Vega SVG and scenegraph (and the response tree its nodes): the
heap grew 2.9 MB a run (+23.2 MB from run 2 to run 10, 3,830 DOM nodes a run). Now a removed chart
or tree view empties itself and a closed tree drops its HTML (``_chart.js``, ``_jsontree.js``), and
the growth is about 1.2 MB and 1,500 DOM nodes a run, little of it ours: about 0.8 MB is the
builder's standard ipywidgets (closed models whose last views keep the old builder's elements,
through the same JupyterLab leak), about 0.45 MB JupyterLab's cell toolbar (its old toolbars' web
components stay reachable; re-running without clicking into the builder, the growth is about 0.7 MB
and 730 nodes a run), and under 0.1 MB the closed anywidget models' own state (their ESM text, a
chart's gzipped spec and picture). A notebook of plain outputs (tables, PNG pictures, text) re-run
the same way grows by under 0.1 MB a run and not by one DOM node.
"""
from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROUNDS = 10
CHARTS = 2  # the quick start shows two charts
# Widget models that may differ between the second and the tenth run with nothing leaking. Every
# run does the same things, so the counts repeat exactly (measured: the kernel and the page agree
# after every run, 201-203 models after the first depending on the builder's version, and the same
# after later runs once the leftovers of earlier runs are closed); one is allowed for a comm close
# still on its way to the page. A leak of even one model per run is 8 over eight runs.
WIDGET_SLACK = 1
# Measured on the shared 2-core machine (Chromium 156, JupyterLab 4.6): the heap after a forced GC
# is 45.1-45.5 MB after the first run and about 46 MB after the second, and the same round differs
# by < 0.5 MB from session to session. Each further run adds 1.1-1.4 MB (see the module docstring:
# JupyterLab's and the builder's standard widgets', not ours), about 10 MB from run 2 to run 10.
# 13 MB (1.6 MB a run) leaves room for that noise and still fails the leak this test found: a chart
# view keeping its drawing added 1.55 MB a run (+23 MB in all).
HEAP_MARGIN = 13 * 2**20
# DOM nodes alive (attached or not) grow by 1,500 a run for the same reasons (12,000 from run 2 to
# run 10, the same to a few nodes from session to session). A removed chart view keeping its SVG
# adds about 1,600 a run, a removed response tree keeping its nodes about as many: 15,000 fails
# either.
NODE_MARGIN = 15_000

_NOTEBOOK = "window.jupyterapp.shell.currentWidget"
_KERNEL = f"{_NOTEBOOK}.sessionContext.session.kernel"

# Re-run every cell in the live kernel, as Run > Run All Cells does, and wait for the command's own
# promise (it resolves once every cell's execution has replied). The notebook is saved with some
# execution counts, so "the last cell's count went up" is not a sign that the run ended.
_RUN_ALL = f"""async () => {{
  const ok = await window.jupyterapp.commands.execute('notebook:run-all-cells');
  const counts = {_NOTEBOOK}.content.widgets.filter(c => c.model.type === 'code').map(c => c.model.executionCount);
  return {{ok, counts, status: {_KERNEL}.status}};
}}"""

# The kernel's open widgets by class: ipywidgets keeps every widget in ``_instances`` until close().
# A silent request: no execution count, no pre_run_cell event, no output in the notebook.
_COUNT_KERNEL = f"""async () => {{
  const code = "__import__('json').dumps(__import__('collections').Counter("
    + "type(w).__name__ for w in list(__import__('ipywidgets').widgets.widget._instances.values())))";
  const reply = await {_KERNEL}.requestExecute(
    {{code: '', silent: true, store_history: false, user_expressions: {{n: code}}}}).done;
  const value = reply.content.user_expressions.n;
  if (value.status !== 'ok') return {{error: value.ename + ': ' + value.evalue}};
  return {{counts: value.data['text/plain']}};
}}"""

# The page's widget models: the notebook's widget manager, reached from a rendered widget output
# (jupyterlab_widgets' WidgetRenderer keeps it as a promise in ``_manager``).
_COUNT_PAGE = f"""async () => {{
  for (const cell of {_NOTEBOOK}.content.widgets) {{
    if (!cell.outputArea) continue;
    const stack = [...cell.outputArea.widgets];
    while (stack.length) {{
      const w = stack.pop();
      if (w._manager && w._manager.promise) {{
        const manager = await w._manager.promise;
        return Object.keys(manager._models).length;
      }}
      stack.push(...(w.widgets || []));
    }}
  }}
  return -1;
}}"""


def run_all(page, round_: int) -> None:
    """Re-run every cell; check that each code cell ran once, in order, in this round."""
    run = page.evaluate(_RUN_ALL)
    counts = run["counts"]
    assert run["ok"], f"round {round_}: the run did not end well: {run}"
    # The last reply can reach the page just before the kernel's "idle" status does.
    page.wait_for_function(f"{_KERNEL}.status === 'idle'")
    first = counts[0]
    # Silent requests do not count, so round r's cells are numbered from 1 + (r - 1) × cells.
    assert counts == list(range(first, first + len(counts))), f"round {round_}: not every cell ran: {counts}"
    assert first == 1 + (round_ - 1) * len(counts), f"round {round_}: the kernel was restarted or skipped: {counts}"


def kernel_widgets(page) -> dict[str, int]:
    reply = page.evaluate(_COUNT_KERNEL)
    assert "counts" in reply, reply
    return json.loads(ast.literal_eval(reply["counts"]))  # the repr of the JSON text


def heap(cdp) -> tuple[int, int]:
    """The JS heap in use and the DOM nodes alive after a full collection (twice: the first pass's
    finalizers free more)."""
    cdp.send("HeapProfiler.collectGarbage")
    cdp.send("HeapProfiler.collectGarbage")
    return int(cdp.send("Runtime.getHeapUsage")["usedSize"]), int(cdp.send("Memory.getDOMCounters")["nodes"])


def choose_endpoint(builder, starts_with: str) -> None:
    """Choose the catalogue entry whose label starts with ``starts_with`` (the menu beside the search box)."""
    select = builder.locator(".twibox-builder-endpoint select")
    # ipywidgets shows spaces as no-break spaces: compare with plain ones, choose by position.
    labels = [label.replace("\xa0", " ").strip() for label in select.locator("option").all_inner_texts()]
    index = next((i for i, x in enumerate(labels) if x.startswith(starts_with)), None)
    assert index is not None, f"no endpoint starts with {starts_with!r}: {labels}"
    select.select_option(index=index)


@pytest.mark.browser
def test_rerunning_the_quick_start_ten_times_leaves_no_widget_behind(lab, page, tmp_path):
    url, _ = lab
    shots = Path(os.environ.get("TWIBOX_SCREENSHOTS") or tmp_path)
    expect.set_options(timeout=120_000)
    page.set_viewport_size({"width": 1280, "height": 1800})  # a laptop's width, the file browser open
    page.goto(f"{url}/lab/tree/notebooks/01-quickstart.ipynb?reset")
    page.wait_for_function(f"(() => {{ try {{ return Boolean({_KERNEL}); }} catch (e) {{ return false; }} }})()")
    cdp = page.context.new_cdp_session(page)
    cdp.send("HeapProfiler.enable")
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    rows = []
    for round_ in range(1, ROUNDS + 1):
        run_all(page, round_)
        assert tracebacks.count() == 0, tracebacks.first.inner_text()
        charts = page.locator(".vega-embed")
        expect(charts).to_have_count(CHARTS)
        for index in range(CHARTS):
            expect(charts.nth(index).locator("svg").first).to_be_attached()
        builder = page.locator(".twibox-builder")
        expect(builder).to_have_count(1)
        choose_endpoint(builder, "Messages (api)")
        builder.locator(".twibox-builder-continue").click()
        expect(builder.locator(".twibox-builder-response-tree details").first).to_be_attached()
        if round_ == 1:
            builder.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "heap-round-1.png"))
        kernel = kernel_widgets(page)
        used, nodes = heap(cdp)
        rows.append((round_, used, nodes, sum(kernel.values()), kernel.get("VegaChart", 0), page.evaluate(_COUNT_PAGE)))
    page.locator(".jp-DirListing").first.wait_for()  # the file browser is open beside the notebook
    page.screenshot(path=str(shots / "heap-round-10.png"))

    table = ["round  JS heap used (MB)  DOM nodes  kernel widgets  kernel charts  page models"]
    table += [
        f"{r:5}  {used / 2**20:17.2f}  {nodes:9}  {widgets:14}  {charts_:13}  {models:11}"
        for r, used, nodes, widgets, charts_, models in rows
    ]
    second, last = rows[1], rows[-1]
    growth, node_growth = last[1] - second[1], last[2] - second[2]
    runs = ROUNDS - 2
    table.append(
        f"from round 2 to round {ROUNDS}: heap {growth / 2**20:+.2f} MB ({growth / runs / 2**20:+.2f} MB a run; "
        f"bound {HEAP_MARGIN / 2**20:.0f} MB), DOM nodes {node_growth:+,} ({node_growth // runs:+,} a run; "
        f"bound {NODE_MARGIN:,}), widget models: kernel {last[3] - second[3]:+d}, page {last[5] - second[5]:+d}"
    )
    figures = "\n".join(table)
    print("\n" + figures)

    assert last[4] == CHARTS, f"the charts of earlier runs are still open in the kernel:\n{figures}"
    assert abs(last[3] - second[3]) <= WIDGET_SLACK, f"the kernel keeps the widgets of earlier runs:\n{figures}"
    assert last[5] >= 0, f"the page's widget manager was not found:\n{figures}"
    assert abs(last[5] - second[5]) <= WIDGET_SLACK, f"the page keeps the widgets of earlier runs:\n{figures}"
    assert growth <= HEAP_MARGIN, f"the tab keeps what earlier runs drew (JS heap):\n{figures}"
    assert node_growth <= NODE_MARGIN, f"the tab keeps the page elements of earlier runs:\n{figures}"
    assert len(page.bundles) == 1, f"the Vega libraries were sent {len(page.bundles)} times: {page.bundles}"
    assert not page.blocked, page.blocked
