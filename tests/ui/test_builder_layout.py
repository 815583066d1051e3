"""The MetricBuilder fits a laptop (issue 15): JupyterLab at 1280×800 and 1024×768 with the file browser
open, Notebook 7 and Voila (no sidebar: the page's full width) at 1280×800.

A notebook displays a builder on the sandbox (clock pinned); the test walks the six steps by
clicking (Messages, count of records, by ``status``, dated by ``date_sent``, the preview, a name)
and at each step keeps a screenshot of what the analyst sees (in the ``shots`` folder; the paths
are printed) and measures the page with Playwright:

- the step pills are one row (every pill at the same top);
- no button's label is cut (ipywidgets buttons ellipsize: ``scrollWidth <= clientWidth``), nor a
  drop-down menu's chosen label (its text measured in the menu's font against the room inside);
- nothing of the builder sticks out to the right of the cell's output area (an element inside
  its own scroll box is measured by that box);
- step 5: every date of the preview table is on one line, every legend label of the chart is
  whole and inside the chart, and Back / Continue are on the same screen as the preview's start
  (the notebook's scrolling panel; in Voila the window);
- step 6: the description is typed in the page's proportional font, not in monospace.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from .test_builder_six_steps import current_step, pick, type_in

CELL = """\
from datetime import datetime, timezone
import twibox_nb as tb
from twibox_nb.widgets.builder import MetricBuilder

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=timezone.utc)
builder = MetricBuilder(tb.connect(sandbox=tb.Sandbox(seed=7, now=NOW)), now=NOW, preview_range="last_7_days")
builder
"""
# (front end, width, height): JupyterLab's file browser takes part of the width; the others have none.
SCREENS = [("lab", 1280, 800), ("lab", 1024, 768), ("notebook7", 1280, 800), ("voila", 1280, 800)]
SLACK = 1  # px: sub-pixel rounding

# Every visible element of the builder whose right edge passes the output area's, or, inside a box
# meant to scroll (a table's box, a code block, the pill row), that box when it passes.
_OVERFLOW = """(builder) => {
  const area = builder.closest('.jp-OutputArea-output').getBoundingClientRect();
  // ipywidgets' boxes scroll (overflow: auto) by default: content cut by one of them counts as sticking out.
  const clips = (e) => getComputedStyle(e).overflowX !== 'visible' && !e.classList.contains('widget-container');
  const name = (e) => e.tagName.toLowerCase() + '.' + [...e.classList].filter(c => c.startsWith('twibox-')
    || c.startsWith('widget-')).join('.') + ' "' + (e.textContent || '').trim().slice(0, 40) + '"';
  const bad = [];
  const walk = (e) => {
    for (const child of e.children) {
      const r = child.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (getComputedStyle(child).display === 'none') continue;
      if (r.right > area.right + %d)
        bad.push(`${name(child)} right ${Math.round(r.right)} > ${Math.round(area.right)}`);
      if (!clips(child)) walk(child);
    }
  };
  walk(builder);
  return bad;
}""" % SLACK  # noqa: UP031 - braces of the JavaScript

# Buttons whose label is cut (ellipsized, or wider than the button).
_CUT_BUTTONS = """(builder) => [...builder.querySelectorAll('button')]
  .filter(b => b.getClientRects().length && getComputedStyle(b).visibility !== 'hidden')
  .filter(b => b.scrollWidth > b.clientWidth + %d)
  .map(b => `"${b.textContent.trim()}" ${b.scrollWidth} > ${b.clientWidth}`)""" % SLACK  # noqa: UP031

# Drop-down menus whose chosen label is cut: its text, measured in the menu's font, is wider than the
# room inside the menu (its padding leaves room for the arrow).
_CUT_MENUS = """(builder) => {
  const ctx = document.createElement('canvas').getContext('2d');
  return [...builder.querySelectorAll('select')]
    .filter(s => s.getClientRects().length && !s.multiple && s.size <= 1 && s.selectedIndex >= 0)
    .map(s => {
      const cs = getComputedStyle(s);
      ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      const text = s.options[s.selectedIndex].textContent.trim();
      const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      return [text, Math.ceil(ctx.measureText(text).width), Math.floor(room)];
    })
    .filter(([, need, room]) => need > room + %d)
    .map(([text, need, room]) => `"${text}" ${need} > ${room}`);
}""" % SLACK  # noqa: UP031

# How many lines each date cell of the preview table takes (line boxes of its text).
_DATE_LINES = """(table) => [...table.querySelectorAll('tbody tr')].map(tr => {
  const range = document.createRange(); range.selectNodeContents(tr.cells[0]);
  const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
  return [tr.cells[0].textContent.trim(), tops.size];
})"""

# The chart's legend labels: their text, and whether each lies inside the chart's widget and the
# visible part of every box around it.
_LEGEND = """(chart) => {
  const box = chart.getBoundingClientRect();
  const labels = [...chart.querySelectorAll('.role-legend-label text')];
  const visible = (e) => { let r = e.getBoundingClientRect();
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX === 'visible') continue;
      const q = p.getBoundingClientRect();
      if (r.left < q.left - %d || r.right > q.right + %d) return false;
    }
    return true; };
  return labels.map(t => { const r = t.getBoundingClientRect();
    return [t.textContent, r.left >= box.left - %d && r.right <= box.right + %d && visible(t)]; });
}""" % (SLACK, SLACK, SLACK, SLACK)  # noqa: UP031


def check(page, builder, shots: Path, name: str, problems: list[str]) -> None:
    """Screenshot at the builder's top, then the measures every step must pass (failures kept in ``problems``)."""
    builder.evaluate("b => b.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)  # let the layout settle (widgets resize on the next frame)
    path = shots / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")

    tops = [round(b["y"]) for b in page.locator(".twibox-builder-steps button").evaluate_all(
        "bs => bs.map(b => b.getBoundingClientRect().toJSON())")]  # fmt: skip
    if len(tops) != 6 or max(tops) - min(tops) > SLACK:
        problems.append(f"{name}: the step pills wrap: tops {tops}")
    cut = builder.evaluate(_CUT_BUTTONS)
    if cut:
        problems.append(f"{name}: button labels cut: {cut}")
    menus = builder.evaluate(_CUT_MENUS)
    if menus:
        problems.append(f"{name}: drop-down labels cut: {menus}")
    over = builder.evaluate(_OVERFLOW)
    if over:
        problems.append(f"{name}: sticks out of the output area: {over}")


@pytest.mark.browser
@pytest.mark.parametrize(
    ("front_end", "width", "height"), SCREENS, ids=[f"{f}-{w}x{h}" for f, w, h in SCREENS], indirect=["front_end"]
)
def test_the_builder_fits_a_laptop(front_end, page, shots, width, height):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nbformat.write(nb, front_end.root / "ui" / "builder_layout.ipynb")
    expect.set_options(timeout=90_000)
    page.set_viewport_size({"width": width, "height": height})
    front_end.open(page, "ui/builder_layout.ipynb")
    front_end.open_sidebar(page)  # JupyterLab's file browser beside the notebook
    builder = page.locator(".twibox-builder").first
    tag = f"layout-{front_end.name}-{width}x{height}"
    problems: list[str] = []  # every step is measured; all that fails is reported at the end

    expect(current_step(page)).to_have_text("1 Prepare API request")
    pick(page, "builder-endpoint", "Messages (api)")
    check(page, builder, shots, f"{tag}-1-request", problems)
    page.locator(".twibox-builder-continue").click()

    expect(current_step(page)).to_have_text("2 Select value")
    expect(page.locator(".twibox-builder-response-status")).to_contain_text("HTTP 200")
    pick(page, "builder-value", "count of records")
    check(page, builder, shots, f"{tag}-2-value", problems)
    page.locator(".twibox-builder-continue").click()

    expect(current_step(page)).to_have_text("3 Segment by dimension")
    pick(page, "builder-dimension", "status ·")
    expect(page.locator(".twibox-builder-dimension-values")).to_contain_text("delivered")
    check(page, builder, shots, f"{tag}-3-dimension", problems)
    page.locator(".twibox-builder-continue").click()

    expect(current_step(page)).to_have_text("4 Select date")
    pick(page, "builder-date", "date_sent ·")
    expect(page.locator(".twibox-builder-date-parsed")).to_contain_text("UTC")
    check(page, builder, shots, f"{tag}-4-date", problems)
    page.locator(".twibox-builder-continue").click()

    # 5: the preview runs on entering the step (the range is fetched once).
    expect(current_step(page)).to_have_text("5 Preview & customize")
    expect(page.locator(".twibox-builder-preview-total")).to_be_visible()
    expect(page.locator(".twibox-builder-progress")).to_be_hidden()
    expect(page.locator(".twibox-builder-chart-svg svg .role-legend-label text").first).to_be_attached()
    check(page, builder, shots, f"{tag}-5-preview", problems)
    table = page.locator(".twibox-builder-preview-rows").first
    dates = table.evaluate(_DATE_LINES)
    assert len(dates) >= 5, dates
    if any(lines != 1 for _, lines in dates):
        problems.append(f"step 5: dates wrap (lines per date): {dates}")
    legend = page.locator(".twibox-builder-preview-chart").first.evaluate(_LEGEND)
    assert len(legend) >= 3, legend
    statuses = {label for label, _ in legend}
    assert {"delivered", "failed"} <= statuses and not any(s.endswith("…") for s in statuses), legend
    if not all(whole for _, whole in legend):
        problems.append(f"step 5: legend labels cut (label, whole): {legend}")
    # The navigation is on the same screen as the start of the preview (no scrolling past it).
    summary = page.locator(".twibox-builder-preview-summary").first
    summary.evaluate("s => s.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / f"{tag}-5-preview-scrolled.png"))
    print(f"screenshot: {shots / f'{tag}-5-preview-scrolled.png'}")
    screen = front_end.screen(page)
    for css in ("builder-back", "builder-continue"):
        box = page.locator(f".twibox-{css}").bounding_box()
        assert box and screen, (box, screen)
        if box["y"] + box["height"] > screen["y"] + screen["height"] + SLACK:
            problems.append(f"step 5: {css} is below the screen that shows the preview: {box} in {screen}")
    page.locator(".twibox-builder-continue").click()

    expect(current_step(page)).to_have_text("6 Describe metric")
    type_in(page, "builder-name", "Messages by status")
    expect(page.locator(".twibox-builder-save-path input")).to_have_value("messages_by_status.json")
    check(page, builder, shots, f"{tag}-6-describe", problems)
    font = page.locator(".twibox-builder-description textarea").evaluate("t => getComputedStyle(t).fontFamily")
    if "monospace" in font.lower():
        problems.append(f"step 6: the description is typed in {font}")
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0 and page.locator(".twibox-error:visible").count() == 0
    assert not front_end.blocked(page), page.blocked
    assert not problems, "\n".join(problems)
