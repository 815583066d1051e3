"""Metric charts: encodings, top N + "other", comparison overlay, badge, goal, partial and truncated marks, export."""

from __future__ import annotations

import base64
import gzip
import html
import json
import re
import warnings

import altair as alt
import pandas as pd
import pytest

import twibox_nb as tb
from twibox_nb.aggregate.frames import aggregate, clip, rows_frame, summarize, total
from twibox_nb.fetch.report import FetchReport
from twibox_nb.model.calculated import CalculatedMetric
from twibox_nb.model.dates import comparison_range, resolve_range
from twibox_nb.pipeline.result import Fetched, MetricResult
from twibox_nb.present.charts import (
    FAVOURABLE,
    NEUTRAL,
    UNFAVOURABLE,
    enable_offline_rendering,
    metric_chart,
    save_chart,
)

from ..conftest import MESSAGES_BY_STATUS, MESSAGES_PARAMS, MESSAGES_PATH, NOW

MESSAGES = MESSAGES_PATH
DATE_PARAMS = MESSAGES_PARAMS
BY_STATUS = MESSAGES_BY_STATUS.replace(aggregation="sum", favourable_trend="up")
TOTAL = BY_STATUS.replace(name="Messages", dimension=None)


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def last_30(conn):
    return tb.fetch_metric(BY_STATUS, conn, "last_30_days", "day", compare="previous_period", now=NOW)


@pytest.fixture(scope="module")
def this_month(conn):
    return tb.fetch_metric(BY_STATUS, conn, "this_month", "day", compare="previous_period", now=NOW)


def spec_of(chart) -> dict:
    return chart.to_dict()


def layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def values(spec: dict, layer: dict) -> list[dict]:
    data = layer.get("data", spec.get("data"))
    return spec["datasets"][data["name"]] if "name" in data else data["values"]


def mark(layer: dict) -> str:
    return layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]


def main_layer(spec: dict) -> dict:
    (found,) = [
        layer for layer in layers(spec)
        if mark(layer) in ("bar", "line") and "strokeDash" not in layer["encoding"]
    ]  # fmt: skip
    return found


def previous_layer(spec: dict) -> dict | None:
    found = [layer for layer in layers(spec) if "strokeDash" in layer.get("encoding", {})]
    return found[0] if found else None


def by_role(spec: dict, kind: str, field: str) -> list[dict]:
    return [
        layer for layer in layers(spec)
        if mark(layer) == kind and field in str(layer.get("encoding", {}))
    ]  # fmt: skip


def badge(spec: dict) -> tuple[str, str] | None:
    found = by_role(spec, "text", "badge")
    if not found:
        return None
    (layer,) = found
    return values(spec, layer)[0]["badge"], layer["mark"]["color"]


def subtitle(spec: dict) -> list[str]:
    return spec["title"]["subtitle"]


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def hand_made(
    rows: list[dict],
    *,
    aggregation: str = "sum",
    trend: str = "up",
    date_range: str = "2026-11-02..2026-11-04",
    interval: str = "day",
    previous_rows: list[dict] | None = None,
    stop_reason: str = "complete",
    is_sandbox: bool = False,
) -> MetricResult:
    """A result built from rows through the real aggregation, without a fetch."""
    spec = BY_STATUS.replace(aggregation=aggregation, favourable_trend=trend, value=tb.Field("price"))
    current_range = resolve_range(date_range, NOW)
    truncated = stop_reason != "complete"

    def fetched(rows: list[dict], where) -> Fetched:
        frame = clip(rows_frame(rows), where)
        report = FetchReport(1, len(rows), 1, 0, 0.0, stop_reason, truncated)  # type: ignore[arg-type]
        return Fetched(where, frame, aggregate(frame, aggregation, interval, where), total(frame, aggregation), report)

    current = fetched(rows, current_range)
    previous = None
    if previous_rows is not None:
        previous = fetched(previous_rows, comparison_range(current_range, "previous_period"))
    summary = summarize(current.total, previous.total if previous else None, trend)
    return MetricResult(
        spec=spec, source="test", is_sandbox=is_sandbox, interval=interval, fetched_at=NOW, expression="",
        current=current, previous=previous, summary=summary,
    )  # fmt: skip


# --- encodings and marks -----------------------------------------------------------------------


def test_encodings_x_utc_time_y_value_colour_dimension(last_30):
    chart = last_30.chart()
    assert isinstance(chart, alt.LayerChart)
    spec = spec_of(chart)
    main = main_layer(spec)
    x, y, colour = main["encoding"]["x"], main["encoding"]["y"], main["encoding"]["color"]
    assert x["type"] == "temporal" and x["scale"]["type"] == "utc" and x["field"] in ("date", "mid")
    assert y == {**y, "field": "value", "type": "quantitative"}
    assert colour["field"] == "dimension" and colour["type"] == "nominal"
    rows = values(spec, main)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", r["date"]) for r in rows)  # UTC, said so
    assert {r["date"] for r in rows} == {f"{d:%Y-%m-%d}T00:00:00Z" for d in last_30.data["date"]}
    assert {"period", "value_text", "dimension"} <= {t["field"] for t in main["encoding"]["tooltip"]}
    assert spec["title"]["text"] == "Messages by status"


@pytest.mark.parametrize(
    ("date_range", "interval", "kind", "expected"),
    [
        ("last_30_days", "day", None, "line"),  # many days: a line
        ("last_7_days", "day", None, "bar"),  # few days: bars
        ("last_30_days", "week", None, "bar"),
        ("last_quarter", "month", None, "bar"),
        ("last_30_days", "day", "bar", "bar"),  # kind= wins
        ("last_30_days", "week", "line", "line"),
    ],
)
def test_mark_by_interval_and_kind(conn, date_range, interval, kind, expected):
    result = tb.fetch_metric(BY_STATUS, conn, date_range, interval, now=NOW)
    main = main_layer(spec_of(result.chart(kind=kind)))
    assert mark(main) == expected
    if expected == "bar":  # counts add up across statuses: stacked, each bar spanning its interval
        assert main["encoding"]["y"]["stack"] == "zero"
        assert main["encoding"]["x"]["field"] == "date" and main["encoding"]["x2"]["field"] == "end"


def test_a_metric_that_does_not_add_up_is_never_stacked():
    rows = [{"date": "2026-11-02T10:00:00Z", "value": v, "dimension": d} for v, d in ((1.0, "a"), (3.0, "b"))]
    result = hand_made(rows, aggregation="average")
    assert mark(main_layer(spec_of(result.chart()))) == "line"  # by default
    bars = main_layer(spec_of(result.chart(kind="bar")))
    assert mark(bars) == "bar" and bars["encoding"]["y"]["stack"] is None


def test_top_n_plus_other_sums_the_rest(last_30):
    spec = spec_of(last_30.chart(top=2))
    main = main_layer(spec)
    data = last_30.data.assign(dimension=last_30.data["dimension"].astype(str))
    ranking = data.groupby("dimension")["value"].sum().sort_values(ascending=False)
    top2, rest = list(ranking.index[:2]), list(ranking.index[2:])
    assert main["encoding"]["color"]["scale"]["domain"] == [*top2, "other"]
    drawn = pd.DataFrame(values(spec, main))
    assert set(drawn["dimension"]) == {*top2, "other"}
    other = drawn[drawn["dimension"] == "other"].set_index("date")["value"]
    expected = data[data["dimension"].isin(rest)].groupby("date")["value"].sum()
    expected.index = expected.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.testing.assert_series_equal(other.sort_index(), expected.sort_index(), check_names=False)
    assert drawn["value"].sum() == last_30.data["value"].sum()  # nothing lost, nothing counted twice
    assert any(line.startswith("top 2 of 5 status values") for line in subtitle(spec))


def test_one_dimension_too_many_is_shown_rather_than_folded(last_30):
    main = main_layer(spec_of(last_30.chart(top=4)))
    assert "other" not in main["encoding"]["color"]["scale"]["domain"]
    assert len(main["encoding"]["color"]["scale"]["domain"]) == 5


def test_a_dimension_called_other_is_not_merged_with_the_folded_rest():
    rows = [
        {"date": "2026-11-02T01:00:00Z", "value": v, "dimension": d}
        for v, d in ((9.0, "other"), (3.0, "a"), (2.0, "b"), (1.0, "c"))
    ]
    spec = spec_of(hand_made(rows).chart(top=1))
    colour = main_layer(spec)["encoding"]["color"]["scale"]
    assert colour["domain"] == ["other", "other (3 more)"]
    assert colour["range"][0] != colour["range"][1] == "#bab0ac"  # only the folded series is grey
    drawn = {r["dimension"]: r["value"] for r in values(spec, main_layer(spec)) if r["date"].startswith("2026-11-02")}
    assert drawn == {"other": 9.0, "other (3 more)": 6.0}


def test_other_of_an_average_is_the_average_of_its_records_not_of_averages():
    rows = [
        {"date": "2026-11-02T01:00:00Z", "value": 100.0, "dimension": "big"},
        {"date": "2026-11-02T02:00:00Z", "value": 10.0, "dimension": "b"},
        {"date": "2026-11-02T03:00:00Z", "value": 20.0, "dimension": "b"},
        {"date": "2026-11-02T04:00:00Z", "value": 30.0, "dimension": "b"},
        {"date": "2026-11-02T05:00:00Z", "value": 2.0, "dimension": "c"},
    ]
    spec = spec_of(hand_made(rows, aggregation="average").chart(top=1))
    drawn = {r["dimension"]: r["value"] for r in values(spec, main_layer(spec))}
    assert drawn == {"big": 100.0, "other": (10 + 20 + 30 + 2) / 4}  # 15.5, not (20 + 2) / 2 = 11


def test_other_of_latest_is_the_sum_of_the_members_latest_values():
    rows = [
        {"date": "2026-11-02T01:00:00Z", "value": 50.0, "dimension": "a"},
        {"date": "2026-11-02T02:00:00Z", "value": 5.0, "dimension": "b"},
        {"date": "2026-11-02T03:00:00Z", "value": 7.0, "dimension": "b"},
        {"date": "2026-11-02T01:00:00Z", "value": 3.0, "dimension": "c"},
    ]
    spec = spec_of(hand_made(rows, aggregation="latest").chart(top=1))
    drawn = {r["dimension"]: r["value"] for r in values(spec, main_layer(spec))}
    assert drawn == {"a": 50.0, "other": 7.0 + 3.0}  # as total() combines the dimensions of a latest metric


def test_other_of_a_calculated_ratio_is_the_ratio_of_its_sums(conn):
    price = BY_STATUS.replace(name="Price", value=tb.Field("price"))
    per_message = CalculatedMetric("Price per message", "ratio", (price, BY_STATUS.replace(name="Count")))
    result = tb.fetch_metric(per_message, conn, "last_7_days", "day", now=NOW)
    spec = spec_of(result.chart(top=2))
    drawn = pd.DataFrame(values(spec, main_layer(spec)))
    kept = [n for n in main_layer(spec)["encoding"]["color"]["scale"]["domain"] if n != "other"]
    rows = result.rows.assign(dimension=result.rows["dimension"].astype(str))
    rest = rows[~rows["dimension"].isin(kept)]
    sums = rest.groupby(["date", "input"])["value"].sum().unstack()
    expected = (sums["Price"] / sums["Count"]).rename(lambda d: f"{d:%Y-%m-%dT%H:%M:%SZ}")
    other = drawn[drawn["dimension"] == "other"].set_index("date")["value"]
    pd.testing.assert_series_equal(other.sort_index(), expected.sort_index(), check_names=False)


# --- comparison, badge, goal --------------------------------------------------------------------


def test_comparison_layer_only_when_compared(conn, last_30):
    plain = tb.fetch_metric(BY_STATUS, conn, "last_30_days", "day", now=NOW)
    spec = spec_of(plain.chart())
    assert previous_layer(spec) is None and badge(spec) is None
    overlay = previous_layer(spec_of(last_30.chart()))
    assert overlay is not None
    assert overlay["encoding"]["strokeDash"]["scale"]["domain"] == ["previous period"]


def test_previous_period_is_moved_onto_the_current_dates(this_month):
    spec = spec_of(this_month.chart())
    drawn = pd.DataFrame(values(spec, previous_layer(spec)))
    # up to the day in progress (NOW is 2026-11-27 15:30): days not started are compared with nothing
    assert drawn["date"].min() == "2026-11-01T00:00:00Z" and drawn["date"].max() == "2026-11-27T00:00:00Z"
    assert "2026-10" not in " ".join(drawn["date"])  # October sits on November's days; its 31st has no place
    before = this_month.previous.data
    first = before[(before["date"] == ts("2026-10-01T00:00:00Z")) & (before["dimension"] == "delivered")]["value"]
    on_nov_1 = drawn[(drawn["date"] == "2026-11-01T00:00:00Z") & (drawn["dimension"] == "delivered")]
    assert on_nov_1["value"].tolist() == first.tolist() and on_nov_1["period"].tolist() == ["2026-10-01"]


def test_previous_period_over_stacked_bars_is_the_total(last_30):
    spec = spec_of(last_30.chart(kind="bar"))
    drawn = pd.DataFrame(values(spec, previous_layer(spec)))
    before = last_30.previous.data.groupby("date")["value"].sum()
    assert drawn["value"].tolist() == before.tolist()
    assert drawn["date"].iloc[0] == f"{last_30.date_range.start:%Y-%m-%dT%H:%M:%SZ}"


@pytest.mark.parametrize(
    ("trend", "now_value", "before", "text", "colour"),
    [
        ("up", 120.0, 100.0, "▲ +20.0% vs previous period", FAVOURABLE),
        ("up", 80.0, 100.0, "▼ −20.0% vs previous period", UNFAVOURABLE),
        ("down", 120.0, 100.0, "▲ +20.0% vs previous period", UNFAVOURABLE),
        ("down", 80.0, 100.0, "▼ −20.0% vs previous period", FAVOURABLE),
        ("up", 100.0, 100.0, "= no change vs previous period", NEUTRAL),
        ("down", 100.0, 100.0, "= no change vs previous period", NEUTRAL),
        ("up", 5.0, 0.0, "▲ +5 vs previous period", FAVOURABLE),  # no percentage from nothing
        ("up", 5.0, None, "no previous period data to compare with", NEUTRAL),
    ],
)
def test_badge_text_and_colour_by_favourable_trend(trend, now_value, before, text, colour):
    current = [{"date": "2026-11-03T10:00:00Z", "value": now_value, "dimension": None}]
    previous = [] if before is None else [{"date": "2026-10-31T10:00:00Z", "value": before, "dimension": None}]
    spec = spec_of(hand_made(current, trend=trend, previous_rows=previous).chart())
    assert badge(spec) == (text, colour)


def test_badge_says_same_period_last_year(conn):
    result = tb.fetch_metric(TOTAL, conn, "last_7_days", "day", compare="same_period_last_year", now=NOW)
    spec = spec_of(result.chart())
    assert badge(spec)[0].endswith("vs same period last year")
    assert previous_layer(spec)["encoding"]["strokeDash"]["scale"]["domain"] == ["same period last year"]


def test_goal_rule_at_the_goal(last_30):
    spec = spec_of(last_30.chart(goal=75))
    (rule,) = by_role(spec, "rule", "goal")
    assert rule["encoding"]["y"]["field"] == "goal"
    assert values(spec, rule) == [{"goal": 75.0, "label": "goal 75", "goal_text": "75"}]
    assert by_role(spec_of(last_30.chart()), "rule", "goal") == []


# --- partial intervals, truncation, sandbox ------------------------------------------------------


def test_running_range_marks_the_interval_in_progress_and_draws_no_future(this_month):
    spec = spec_of(this_month.chart())
    (shade,) = by_role(spec, "rect", "start")
    assert [(r["start"], r["end"], r["note"]) for r in values(spec, shade)] == [
        ("2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z", "in progress")
    ]
    drawn = values(spec, main_layer(spec))
    assert max(r["date"] for r in drawn) == "2026-11-27T00:00:00Z"  # Nov 28–30 are not zeros, they are not yet
    assert {r["status"] for r in drawn if r["date"] == "2026-11-27T00:00:00Z"} == {"in progress"}
    assert any("2026-11-27 in progress" in line for line in subtitle(spec))


def test_closed_range_has_no_partial_mark(conn):
    result = tb.fetch_metric(BY_STATUS, conn, "last_month", "day", now=NOW)
    spec = spec_of(result.chart())
    assert by_role(spec, "rect", "start") == []
    assert {r["status"] for r in values(spec, main_layer(spec))} == {"complete"}
    assert not any("shaded" in line for line in subtitle(spec))


def test_weeks_cut_by_the_range_are_marked_partial(conn):
    result = tb.fetch_metric(TOTAL, conn, "last_30_days", "week", now=NOW)
    spec = spec_of(result.chart())
    (shade,) = by_role(spec, "rect", "start")
    assert [r["start"][:10] for r in values(spec, shade)] == ["2026-10-26", "2026-11-23"]  # Mon before Oct 28, last
    main = main_layer(spec)
    opacity = main["encoding"]["opacity"]  # complete bars solid, partial ones lighter
    assert opacity["condition"][0] == {"test": "(datum.status === 'complete')", "value": 1.0}
    assert opacity["value"] == 0.45


def test_truncated_fetch_is_noted(conn):
    capped = TOTAL.replace(request=tb.RequestSpec(MESSAGES, params={**DATE_PARAMS, "PageSize": "50"}, max_pages=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tb.TruncationWarning)
        result = tb.fetch_metric(capped, conn, "last_7_days", "day", compare="previous_period", now=NOW)
    assert result.truncated
    spec = spec_of(result.chart())
    assert "incomplete: page cap reached after 2 pages; records are missing" in subtitle(spec)
    assert badge(spec)[0].endswith("(incomplete data)")
    complete = spec_of(tb.fetch_metric(TOTAL, conn, "last_7_days", "day", now=NOW).chart())
    assert not any("incomplete" in line for line in subtitle(complete))


def test_sandbox_data_is_noted(last_30):
    assert "SANDBOX demo data, not a real Twilio account" in subtitle(spec_of(last_30.chart()))
    rows = [{"date": "2026-11-02T10:00:00Z", "value": 1.0, "dimension": None}]
    assert not any("SANDBOX" in line for line in subtitle(spec_of(hand_made(rows).chart())))


def test_a_dynamic_date_metric_charts_its_snapshot(conn):
    balance = tb.MetricSpec("Balance", tb.RequestSpec("/2010-04-01/Accounts/{AccountSid}/Balance.json",
                            pagination="none"), value=tb.Field("balance"), aggregation="latest")  # fmt: skip
    spec = spec_of(tb.fetch_metric(balance, conn, now=NOW).chart())
    drawn = values(spec, main_layer(spec))
    assert len(drawn) == 1 and drawn[0]["date"] == "2026-11-27T00:00:00Z"
    assert by_role(spec, "rect", "start") == []
    assert subtitle(spec)[0] == "snapshot at 2026-11-27 15:30 UTC"


def test_empty_result_still_charts():
    spec = spec_of(hand_made([], previous_rows=[]).chart())
    assert "no data in this range" in subtitle(spec)
    assert {r["value"] for r in values(spec, main_layer(spec))} == {0.0}  # no records: a count of zero each day
    assert badge(spec) == ("no previous period data to compare with", NEUTRAL)


def test_bad_options_are_refused(last_30):
    with pytest.raises(ValueError, match="kind"):
        last_30.chart(kind="pie")
    with pytest.raises(ValueError, match="top"):
        last_30.chart(top=0)
    with pytest.raises(ValueError, match="goal"):
        last_30.chart(goal=float("nan"))


# --- spec, export, rendering ----------------------------------------------------------------------


def test_charts_round_trip_and_never_display(last_30, monkeypatch):
    shown = []
    monkeypatch.setattr(alt.LayerChart, "show", shown.append, raising=False)
    layered = metric_chart(last_30, goal=100, title="Custom", width=500, height=200)
    assert alt.LayerChart.from_dict(layered.to_dict()).to_dict() == layered.to_dict()
    assert layered.to_dict()["width"] == 500 and layered.to_dict()["title"]["text"] == "Custom"
    rows = [{"date": "2026-11-02T10:00:00Z", "value": 1.0, "dimension": None}]
    single = hand_made(rows, date_range="last_month").chart()
    assert isinstance(single, alt.Chart)  # nothing to overlay: a plain chart
    assert alt.Chart.from_dict(single.to_dict()).to_dict() == single.to_dict()
    assert shown == []


def test_export_png_svg_html_json_without_a_browser(this_month, tmp_path):
    chart = this_month.chart(goal=100)
    png = save_chart(chart, tmp_path / "chart.png", scale=1).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "<svg" in save_chart(chart, tmp_path / "chart.svg").read_text()
    html = save_chart(chart, tmp_path / "chart.html").read_text()
    assert "<html" in html and "vegaEmbed" in html
    loads = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert loads == [] and "cdn" not in html.lower()
    assert '"editor":false' in html  # no link out to the online editor either
    assert alt.LayerChart.from_json(save_chart(chart, tmp_path / "chart.json").read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart.html", "chart.json", "chart.png", "chart.svg"]
    with pytest.raises(ValueError, match="format"):
        save_chart(chart, tmp_path / "chart.gif")


def test_offline_renderer_html_inlines_vega():
    before = alt.renderers.active
    try:
        assert enable_offline_rendering("html") == "html"
        chart = alt.Chart(alt.InlineData(values=[{"x": 1}])).mark_point().encode(x="x:Q")
        html = chart._repr_mimebundle_()
        html = html[0] if isinstance(html, tuple) else html
        text = html["text/html"]
        assert "cdn.jsdelivr" not in text and not re.search(r"""src\s*=\s*["']https?://""", text)
        # a snippet, not a page: the bundle runs only once per page, the spec in a function scope
        assert text.startswith('<div class="vega-visualization"') and "<!DOCTYPE" not in text
        assert 'typeof window.vegaEmbed !== "function"' in text and text.count("<script") == 1
        titled = chart.properties(title="</script><b>metric</b>")._repr_mimebundle_()
        titled = (titled[0] if isinstance(titled, tuple) else titled)["text/html"]
        assert "</script><b>" not in titled and "<\\/script><b>metric<\\/b>" in titled  # cannot close the script
        assert enable_offline_rendering("jupyter") == "jupyter"  # Altair's own widget, still there
        with pytest.raises(ValueError, match="renderer"):
            enable_offline_rendering("cdn")  # type: ignore[arg-type]
    finally:
        alt.renderers.enable(before)


# --- the default offline renderer: a chart widget without the bundle, and a picture beside it -----

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
BUNDLE_MARK = "window.vegaEmbed="  # the last statement of vl-convert's bundle


@pytest.fixture
def widget_rendering():
    before = alt.renderers.active
    try:
        yield enable_offline_rendering()
    finally:
        alt.renderers.enable(before)


def displayed(chart) -> tuple[dict, dict, object]:
    """What Jupyter gets when the chart is the value of a cell: data, metadata and the widget."""
    from ipywidgets.widgets.widget import _instances

    data, metadata = chart._repr_mimebundle_()
    return data, metadata, _instances[data[WIDGET_VIEW]["model_id"]]


def saved_state(widget) -> tuple[str, list[bytes]]:
    """The widget's state as a notebook saves it: JSON without the binary parts, and those parts."""
    from ipywidgets.widgets.widget import _remove_buffers

    state, _paths, buffers = _remove_buffers(widget.get_state())
    return json.dumps(state), [bytes(b) for b in buffers]


def test_a_displayed_chart_is_a_small_widget_with_a_png_and_alt_text(widget_rendering, last_30):
    from twibox_nb.present.chart_export import vega_bundle

    assert widget_rendering == "twibox_widget"
    chart = last_30.chart(width=560, height=260)
    data, metadata, widget = displayed(chart)
    assert set(data) == {WIDGET_VIEW, "image/png", "text/plain"}
    png = base64.b64decode(data["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 5_000 < len(png) < 100_000
    alt_text = metadata["image/png"]["alt"]
    assert alt_text.startswith("Line chart: Messages by status (last 30 days: ") and "SANDBOX demo data" in alt_text
    assert data["text/plain"] == alt_text == widget.alt  # a terminal, and the widget's own picture, say the same
    # the output and the widget's saved state hold the chart, never the Vega libraries
    bundle = vega_bundle()
    state, buffers = saved_state(widget)
    unpacked = [gzip.decompress(b).decode() for b in buffers]
    for text in (json.dumps(data), json.dumps(metadata), state, *unpacked):
        assert BUNDLE_MARK not in text and bundle[:2_000] not in text
    assert len(state) + sum(len(b) for b in buffers) < 20_000 < len(bundle) / 40
    assert json.loads(gzip.decompress(widget.spec)) == chart.to_dict()
    picture = gzip.decompress(widget.picture).decode()
    assert picture.startswith("<svg") and f"<title>{html.escape(alt_text)}</title>" in picture
    assert widget.options["actions"] == {"export": True, "source": False, "compiled": False, "editor": False}


def test_n_displayed_charts_store_the_bundle_zero_times(widget_rendering, conn):
    charts = [
        tb.fetch_metric(tb.library.get(name), conn, "last_30_days", compare=compare, now=NOW).chart()
        for name in ("Messages by status", "Delivery rate", "Total spend", "Calls by status")
        for compare in ("previous_period", None)
    ]
    states, pictures = [], []
    for chart in charts:
        data, metadata, widget = displayed(chart)
        state, buffers = saved_state(widget)
        assert BUNDLE_MARK not in state and widget.picture is not None
        # saved base64: the widget's state (spec and SVG gzipped), and the output's PNG
        states.append(len(state) + sum(len(b) for b in buffers) * 4 // 3)
        pictures.append(len(json.dumps(data)) + len(json.dumps(metadata)))
    # the bundle alone is ~900 KB: it would be the whole of each chart's size if it were there
    assert max(states) < 20_000 and max(pictures) < 100_000, (states, pictures)
    assert sum(states) + sum(pictures) < len(charts) * 80_000, (states, pictures)


def test_the_kernel_sends_the_bundle_as_a_message_once_per_page(monkeypatch):
    from twibox_nb.present.chart_export import vega_bundle
    from twibox_nb.widgets import _chart

    monkeypatch.setattr(_chart.VegaChart, "_sent", {})
    clock = [1000.0]
    monkeypatch.setattr(_chart.time, "monotonic", lambda: clock[0])
    widget = _chart.VegaChart({"mark": "point"}, alt="Dots")
    sent = []
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: sent.append((content, buffers)))
    before = saved_state(widget)

    def ask(content):  # the comm message the page's JavaScript sends (model.send)
        widget._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})

    ask({"type": "vega-bundle?", "page": "tab-1"})
    ((content, buffers),) = sent
    assert content == {"type": "vega-bundle"} and buffers == [vega_bundle().encode("utf-8")]
    assert saved_state(widget) == before  # a message, not state: nothing of it is ever saved
    ask({"type": "vega-bundle?", "page": "tab-1"})  # asked again while the first answer was on its way
    ask({"type": "something else"})
    assert len(sent) == 1
    ask({"type": "vega-bundle?", "page": "tab-2"})  # another browser page needs its own copy
    clock[0] += _chart.RESEND_AFTER + 1
    ask({"type": "vega-bundle?", "page": "tab-1"})  # tab-1 reloaded, or its load failed: once more
    assert len(sent) == 3


def test_a_chart_whose_picture_cannot_be_drawn_still_displays(widget_rendering):
    remote = alt.Chart(alt.UrlData("https://example.com/data.csv"), title="Remote").mark_bar().encode(x="a:Q")
    with pytest.warns(UserWarning, match="no static picture"):  # vl-convert may not fetch anything
        data, _metadata, widget = displayed(remote)
    assert set(data) == {WIDGET_VIEW, "text/plain"} and widget.picture is None
    assert data["text/plain"] == "Bar chart: Remote"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"mark": "bar", "title": "Calls"}, "Bar chart: Calls"),
        ({"mark": "line", "title": {"text": "Sent", "subtitle": "last 7 days"}}, "Line chart: Sent (last 7 days)"),
        ({"mark": {"type": "point"}, "title": {"text": "Calls"}}, "Scatter chart: Calls"),
        ({"layer": [{"mark": "rect"}, {"mark": "area"}], "title": {"text": ["Two", "lines"]}}, "Area chart: Two lines"),
        ({"mark": "text"}, "Chart"),
        ({"mark": "bar", "title": "Calls", "description": "Calls per day"}, "Calls per day"),
    ],
)
def test_alt_text_says_what_the_chart_shows(spec, expected):
    from twibox_nb.present.chart_export import chart_alt_text

    assert chart_alt_text(spec) == expected


def test_smaller_png_keeps_every_pixel(this_month):
    import struct
    import zlib

    from twibox_nb.present.chart_export import smaller_png, to_png

    def pixels(png: bytes) -> bytes:
        chunks, position = [], 8
        while position < len(png):
            (length,) = struct.unpack(">I", png[position : position + 4])
            kind, body = png[position + 4 : position + 8], png[position + 8 : position + 8 + length]
            (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
            assert crc == zlib.crc32(kind + body)
            chunks.append((kind, body))
            position += 12 + length
        assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
        return zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))

    png = to_png(this_month.chart(), scale=1)
    smaller = smaller_png(png)
    assert pixels(smaller) == pixels(png) and len(smaller) < 0.7 * len(png)
    assert smaller_png(b"not a png") == b"not a png"


def test_the_chart_javascript_is_small_hand_written_and_fetches_nothing():
    from twibox_nb.widgets._chart import ESM, VegaChart

    source = ESM.read_text(encoding="utf-8")
    assert VegaChart._esm == source and len(source.encode()) < 8_000  # stored once per chart
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))
    assert not re.search(r"https?:|fetch\(|XMLHttpRequest|^\s*import\s", code, re.M)
    assert 'model.on("msg:custom"' in code and 'model.send({ type: "vega-bundle?"' in code
    assert "export default { initialize, render }" in code


def test_goal_objects_on_charts():
    """A stay-above level is drawn as a rule; any goal's progress is written under the title."""
    from twibox_nb import library
    from twibox_nb.present.goals import Goal, goal_progress

    conn = tb.connect(sandbox=tb.Sandbox(seed=7, now=NOW))
    result = tb.fetch_metric(library.get("Messages sent"), conn, "this_month", now=NOW)
    reach = Goal("reach", 5_000, "month")
    spec = metric_chart(result, goal=reach).to_dict()
    assert str(goal_progress(reach, result)) in spec["title"]["subtitle"]
    assert not [layer for layer in spec.get("layer", []) if layer.get("mark", {}).get("type") == "rule"]
    level = metric_chart(result, goal=Goal("stay_above", 60, "month")).to_dict()
    rules = [layer for layer in level["layer"] if layer.get("mark", {}).get("type") == "rule"]
    values = [v for r in rules for v in level["datasets"][r["data"]["name"]]]
    assert values and values[0]["goal"] == 60
