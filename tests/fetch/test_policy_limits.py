"""The limits of a fetch in its policy (issue 14): defaults, validation, and where they reach.

Hostile servers try the limits themselves (tests/hostile/test_network_limits.py); these are the
quick checks of the fields, and of the limits on answers a test double holds in memory.
"""

from __future__ import annotations

import math

import httpx
import pytest

from twibox_nb._exceptions import FetchError, LimitExceededError, TwiboxError
from twibox_nb.fetch.connection import connect
from twibox_nb.fetch.session import RetryPolicy
from twibox_nb.fetch.slicing import fetch_all
from twibox_nb.model.spec import Field, MetricSpec, RequestSpec
from twibox_nb.pipeline.metric import fetch_metric

from .conftest import MESSAGES, json_response, mock_connection, scripted, twilio_error


def test_the_limits_default_to_generous_values():
    policy = RetryPolicy()
    assert (policy.max_page_bytes, policy.deadline, policy.retry_budget) == (64 * 2**20, 120.0, 180.0)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"max_page_bytes": 0}, "max_page_bytes"),
        ({"max_page_bytes": -5}, "max_page_bytes"),
        ({"deadline": 0}, "deadline"),
        ({"deadline": math.nan}, "deadline"),
        ({"retry_budget": -1}, "retry_budget"),
        ({"retry_budget": math.nan}, "retry_budget"),
    ],
)
def test_a_limit_that_makes_no_sense_is_refused(bad, field):
    with pytest.raises(ValueError, match=f"RetryPolicy.{field}"):
        RetryPolicy(**bad)


def test_no_limit_is_infinity_and_no_retry_wait_is_a_zero_budget():
    assert RetryPolicy(max_page_bytes=math.inf, deadline=math.inf, retry_budget=math.inf).deadline == math.inf
    assert RetryPolicy(retry_budget=0).retry_budget == 0


def test_the_limits_reach_fetch_metric_through_its_policy():
    spec = MetricSpec(
        "Alerts by level",
        RequestSpec("/v1/Alerts", base_url="https://monitor.twilio.com", params={"PageSize": "50"}),
        dimension=Field("log_level"),
        date=Field("date_generated"),
        date_range="last_7_days",
    )
    with pytest.raises(LimitExceededError, match="max_page_bytes"):
        fetch_metric(spec, connect(sandbox=True), policy=RetryPolicy(max_page_bytes=100), concurrency=1)


def test_a_page_held_in_memory_is_held_to_the_size_limit(fake):
    conn, _ = mock_connection(scripted(json_response({"messages": [{"sid": "SM1"}] * 1000})))
    with pytest.raises(LimitExceededError) as caught:
        fetch_all(conn, httpx.Request("GET", MESSAGES), policy=RetryPolicy(max_page_bytes=1000), **fake.options())
    error = caught.value
    assert isinstance(error, FetchError) and isinstance(error, TwiboxError)
    assert (error.limit, error.value) == ("max_page_bytes", 1000)
    assert "the size limit of 1,000 bytes" in str(error) and "RetryPolicy(max_page_bytes=...)" in str(error)


def test_a_zero_retry_budget_allows_no_wait(fake):
    conn, net = mock_connection(scripted(twilio_error(503, 20503, "busy")))
    with pytest.raises(TwiboxError, match=r"retry budget of 0 s") as caught:
        fetch_all(conn, httpx.Request("GET", MESSAGES), policy=RetryPolicy(retry_budget=0), **fake.options())
    assert fake.sleeps == [] and len(net.requests) == 1
    assert "RetryPolicy(retry_budget=...)" in str(caught.value)
