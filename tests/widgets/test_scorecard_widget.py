"""The scorecard widget is a thin view of the scorecard's own HTML."""

from __future__ import annotations

from twibox_nb.fetch.connection import connect
from twibox_nb.model.spec import Field, MetricSpec, RequestSpec
from twibox_nb.present.scorecard import Scorecard

from ..conftest import NOW


def test_the_scorecard_widget_shows_the_same_html(sandbox):
    spec = MetricSpec(
        "Alerts",
        RequestSpec("/v1/Alerts", base_url="https://monitor.twilio.com", params={"StartDate": "{{start_datetime}}"}),
        date=Field("date_generated"),
        favourable_trend="down",
    )
    card = Scorecard([spec], connect(sandbox=sandbox), date_range="last_7_days", now=NOW)
    widget = card.widget()
    assert widget.view.value == card.to_html()
    assert "twibox-scorecard" in widget.view._dom_classes and "twibox-scorecard-widget" in widget._dom_classes
