"""Goals and alerts on fetched metrics, checked against series computed by hand from ground truth."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from twibox_nb._exceptions import SpecError
from twibox_nb.fetch.connection import connect
from twibox_nb.pipeline.metric import fetch_metric
from twibox_nb.present.alerts import Alert, backtest, check
from twibox_nb.present.goals import Goal, goal_progress

from ..conftest import MESSAGES_BY_STATUS, NOW

MESSAGES = MESSAGES_BY_STATUS


def truth_series(sandbox, start: date, end: date, status: str | None = None) -> pd.Series:
    counts = sandbox.truth.daily_counts("messages", start, end, by="status")
    days = pd.date_range(pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"), freq="D", inclusive="left")
    values = [sum(n for (d, s), n in counts.items() if d == day.date() and status in (None, s)) for day in days]
    return pd.Series(values, index=days, dtype="float64")


@pytest.fixture(scope="module")
def last_30(sandbox):
    return fetch_metric(MESSAGES, connect(sandbox=sandbox), "last_30_days", compare="previous_period", now=NOW)


def test_backtest_fires_on_the_days_the_hand_computed_series_says(sandbox, last_30):
    start, end = NOW.date() - timedelta(days=30), NOW.date()
    expected = truth_series(sandbox, start, end)
    threshold = float(expected.median())
    above = backtest(Alert("above", threshold), last_30)
    assert above["value"].tolist() == expected.tolist()
    assert set(above.loc[above["fired"], "date"]) == set(expected.index[expected > threshold])
    jumps = backtest(Alert("change_above", 30), last_30)
    pct = (expected - expected.shift(1)).abs() / expected.shift(1) * 100
    assert set(jumps.loc[jumps["fired"], "date"]) == set(expected.index[pct > 30])
    assert jumps["fired"].any() and not jumps["fired"].all()


def test_backtest_on_one_dimension(sandbox, last_30):
    start, end = NOW.date() - timedelta(days=30), NOW.date()
    failed = truth_series(sandbox, start, end, "failed")
    result = backtest(Alert("above", 2, dimension="failed"), last_30)
    assert result["value"].tolist() == failed.tolist()
    assert result["fired"].tolist() == (failed > 2).tolist()


def test_check_uses_the_comparison_period(sandbox, last_30):
    s = last_30.summary
    change = abs(s.current - s.previous) / s.previous * 100
    assert check(Alert("change_above", change - 0.01), last_30).fired
    assert not check(Alert("change_above", change + 0.01), last_30).fired
    assert check(Alert("below", s.current + 1), last_30).fired and not check(Alert("above", s.current), last_30).fired
    latest = check(Alert("above", 0, on="latest_interval"), last_30)
    assert latest.value == truth_series(sandbox, NOW.date() - timedelta(days=1), NOW.date()).iloc[0]
    assert "FIRED" in str(latest)


def test_change_edge_cases():
    alert = Alert("change_above", 10)
    assert alert.fires(5.0, 0.0) and not alert.fires(0.0, 0.0) and not alert.fires(5.0, None)
    assert not alert.fires(None, 3.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"condition": "equals", "threshold": 1}, "alert.condition"),
        ({"condition": "above", "threshold": "x"}, "alert.threshold"),
        ({"condition": "change_above", "threshold": -5}, "alert.threshold"),
    ],
)
def test_bad_alerts(kwargs, field):
    with pytest.raises(SpecError) as caught:
        Alert(**kwargs)
    assert caught.value.field == field


def test_reach_goal_progress_and_pace(sandbox):
    result = fetch_metric(MESSAGES, connect(sandbox=sandbox), "this_month", now=NOW)
    so_far = len(sandbox.truth.sids("messages", date(2026, 11, 1), NOW))
    goal = Goal("reach", so_far * 2, "month")
    progress = goal_progress(goal, result)
    assert progress.value == so_far and progress.progress == pytest.approx(0.5)
    elapsed = (NOW - pd.Timestamp("2026-11-01", tz="UTC")).total_seconds() / (30 * 86400)
    assert progress.elapsed == pytest.approx(elapsed)
    assert progress.on_track is (so_far >= goal.target * elapsed) and not progress.met
    assert goal_progress(Goal("reach", so_far, "month"), result).met


def test_reach_goal_is_reversed_for_down_is_good_metrics(sandbox):
    failures = MESSAGES.replace(favourable_trend="down", dimension=None,
                                expression='messages[status = "failed"].{"date": date_sent, "value": 1}')  # fmt: skip
    result = fetch_metric(failures, connect(sandbox=sandbox), "this_month", now=NOW)
    value = result.summary.current
    over = goal_progress(Goal("reach", value / 2, "month"), result)
    assert over.progress == pytest.approx(0.5) and not over.met
    assert goal_progress(Goal("reach", value * 2, "month"), result).met


def test_stay_goals_list_the_intervals_missed(sandbox):
    result = fetch_metric(MESSAGES, connect(sandbox=sandbox), "last_month", now=NOW)
    october = truth_series(sandbox, date(2026, 10, 1), date(2026, 11, 1))
    target = float(october.quantile(0.25))
    above = goal_progress(Goal("stay_above", target, "last_month"), result)
    assert set(above.missed) == set(october.index[october < target])
    assert above.progress == pytest.approx((october >= target).mean()) and not above.met
    below = goal_progress(Goal("stay_below", october.max(), "last_month"), result)
    assert below.met and below.progress == 1.0 and "met" in str(below)


def test_bad_goals():
    with pytest.raises(SpecError, match=r"goal\.kind"):
        Goal("beat", 1)
    with pytest.raises(SpecError, match=r"goal\.timeframe"):
        Goal("reach", 1, "fortnight")
