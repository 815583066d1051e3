"""Calculated metrics: ratios of sums (never averages of ratios), differences and sums."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pandas as pd
import pytest

from twibox_nb._exceptions import SpecError
from twibox_nb.fetch.connection import connect
from twibox_nb.library import load_metric
from twibox_nb.model.calculated import CalculatedMetric
from twibox_nb.model.spec import Count, Field, MetricSpec
from twibox_nb.pipeline.metric import fetch_metric

from ..conftest import MESSAGES_REQUEST, NOW

MESSAGES = MESSAGES_REQUEST
SENT = MetricSpec(
    "Messages sent",
    MESSAGES,
    value=Count(),
    date=Field("date_sent"),
    expression='messages[direction != "inbound"].{"date": date_sent, "value": 1}',
)
DELIVERED = SENT.replace(
    name="Messages delivered", expression='messages[status = "delivered"].{"date": date_sent, "value": 1}'
)
RECEIVED = SENT.replace(
    name="Messages received", expression='messages[direction = "inbound"].{"date": date_sent, "value": 1}'
)
RATE = CalculatedMetric("Delivery rate", "ratio", (DELIVERED, SENT), scale=100, favourable_trend="up")


def daily(sandbox, start: date, end: date, keep) -> dict[date, int]:
    out: dict[date, int] = defaultdict(int)
    for m in sandbox.truth.records("messages", start, end):
        if keep(m):
            out[pd.Timestamp(m["date_sent"]).tz_convert("UTC").date()] += 1
    return out


def test_delivery_rate_is_the_ratio_of_the_sums(sandbox):
    result = fetch_metric(RATE, connect(sandbox=sandbox), "last_7_days", compare="previous_period", now=NOW)
    start, end = NOW.date() - timedelta(days=7), NOW.date()
    sent = daily(sandbox, start, end, lambda m: m["direction"] != "inbound")
    delivered = daily(sandbox, start, end, lambda m: m["status"] == "delivered")
    per_day = {d.date(): v for d, v in zip(result.data["date"], result.data["value"], strict=True)}
    assert per_day == pytest.approx({d: 100 * delivered[d] / sent[d] for d in sent})
    total = 100 * sum(delivered.values()) / sum(sent.values())
    assert result.summary.current == pytest.approx(total)
    average_of_ratios = sum(per_day.values()) / len(per_day)
    assert abs(total - average_of_ratios) > 1e-9  # the two differ: we must be computing the right one
    before = daily(sandbox, start - timedelta(days=7), start, lambda m: m["direction"] != "inbound")
    delivered_before = daily(sandbox, start - timedelta(days=7), start, lambda m: m["status"] == "delivered")
    assert result.summary.previous == pytest.approx(100 * sum(delivered_before.values()) / sum(before.values()))
    assert result.spec is RATE and "Delivery rate" in repr(result)
    assert set(result.rows["input"]) == {"Messages delivered", "Messages sent"}


def test_difference_and_sum(sandbox):
    conn = connect(sandbox=sandbox)
    start, end = date(2026, 11, 1), date(2026, 11, 8)
    sent = daily(sandbox, start, end, lambda m: m["direction"] != "inbound")
    received = daily(sandbox, start, end, lambda m: m["direction"] == "inbound")
    net = fetch_metric(
        CalculatedMetric("Net outbound", "difference", (SENT, RECEIVED)), conn, "2026-11-01..2026-11-07", now=NOW
    )
    both = fetch_metric(
        CalculatedMetric("All messages", "sum", (SENT, RECEIVED)), conn, "2026-11-01..2026-11-07", now=NOW
    )
    assert net.summary.current == sum(sent.values()) - sum(received.values())
    assert both.summary.current == sum(sent.values()) + sum(received.values())
    assert dict(zip(both.data["date"].dt.date, both.data["value"], strict=True)) == {
        d: sent[d] + received[d] for d in sent
    }


def test_shared_dimension_is_kept(sandbox):
    by_status = SENT.replace(dimension=Field("status"), expression=None)
    inbound = RECEIVED.replace(dimension=Field("status"), expression=None)
    metric = CalculatedMetric("Twice", "sum", (by_status, inbound))
    result = fetch_metric(metric, connect(sandbox=sandbox), "2026-11-02..2026-11-02", now=NOW)
    counts = sandbox.truth.daily_counts("messages", date(2026, 11, 2), date(2026, 11, 3), by="status")
    assert {str(d): v for d, v in zip(result.data["dimension"], result.data["value"], strict=True)} == {
        status: 2 * n for (_, status), n in counts.items()
    }


@pytest.mark.parametrize(
    ("kwargs", "field", "hint"),
    [
        (
            {"op": "ratio", "inputs": (SENT.replace(aggregation="average"), SENT)},
            "calculated.inputs.numerator",
            "average of ratios",
        ),
        ({"op": "ratio", "inputs": (SENT,)}, "calculated.inputs", "exactly 2"),
        ({"op": "sum", "inputs": (SENT,)}, "calculated.inputs", "at least 2"),
        ({"op": "product", "inputs": (SENT, SENT)}, "calculated.op", "ratio, difference, sum"),
        (
            {"op": "sum", "inputs": (SENT.replace(dimension=Field("status")), SENT)},
            "calculated.inputs",
            "different dimensions",
        ),
        ({"op": "ratio", "inputs": (SENT, SENT), "scale": 0}, "calculated.scale", "non-zero"),
    ],
)
def test_invalid_calculated_metrics(kwargs, field, hint):
    with pytest.raises(SpecError) as caught:
        CalculatedMetric("x", **kwargs)
    assert caught.value.field == field and hint in str(caught.value)


def test_round_trip_with_library_references(tmp_path):
    library = {"Messages delivered": DELIVERED, "Messages sent": SENT}
    text = (
        '{"twibox_metric": 1, "name": "Delivery rate", "calculated": {"op": "ratio", "scale": 100, '
        '"inputs": [{"library": "Messages delivered"}, {"library": "Messages sent"}]}, "favourable_trend": "up"}'
    )
    metric = CalculatedMetric.from_json(text, resolve=library.__getitem__)
    assert metric.inputs == (DELIVERED, SENT) and metric.refs == ("Messages delivered", "Messages sent")
    assert metric.to_dict()["calculated"]["inputs"] == [{"library": "Messages delivered"}, {"library": "Messages sent"}]
    RATE.save(tmp_path / "rate.json")
    assert load_metric(tmp_path / "rate.json") == RATE
