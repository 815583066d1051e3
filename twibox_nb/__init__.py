"""twibox_nb: Twilio metrics for notebooks.

Turn any read-only Twilio REST endpoint into a metric: a tidy pandas DataFrame and an Altair
chart. Everything also runs offline against the embedded sandbox, a seeded stand-in for Twilio's
read API:

>>> import twibox_nb
>>> conn = twibox_nb.connect(sandbox=True)
>>> spec = twibox_nb.MetricSpec(
...     name="Messages by status",
...     request=twibox_nb.RequestSpec("/2010-04-01/Accounts/{AccountSid}/Messages.json",
...                                   params={"PageSize": "1000", "DateSent>": "{{start_date}}",
...                                           "DateSent<": "{{end_date}}"}),
...     dimension=twibox_nb.Field("status"), date=twibox_nb.Field("date_sent"), date_range="last_7_days")
>>> result = twibox_nb.fetch_metric(spec, conn)
>>> list(result.data.columns)
['date', 'dimension', 'value']
"""

import importlib

from . import library
from ._exceptions import (
    ChoiceError,
    CredentialsError,
    DateRangeError,
    ExpressionError,
    FetchError,
    LimitExceededError,
    ResponseFormatError,
    SpecError,
    StoreError,
    TruncationWarning,
    TwiboxError,
    TwiboxWarning,
    TwilioAPIError,
    UnsafeRequestError,
)
from ._version import __version__
from .aggregate.frames import Summary
from .evaluate.engines import SlowEngineWarning
from .fetch.connection import Connection, connect
from .fetch.session import RetryPolicy
from .library import load_metric
from .model.calculated import CalculatedMetric
from .model.dates import DateRange, comparison_range, resolve_range
from .model.spec import Count, Dynamic, Field, MetricSpec, RequestSpec
from .model.units import format_value, set_locale
from .openapi.endpoints import endpoints
from .pipeline.cache import Cache
from .pipeline.metric import fetch_metric
from .pipeline.result import MetricResult
from .present import alerts as alerts  # tb.alerts.check(alert, result): the module, as before
from .present.alerts import Alert, backtest
from .present.chart_export import enable_offline_rendering, save_chart
from .present.databoard import Databoard
from .present.goals import Goal, goal_progress
from .present.scorecard import Scorecard
from .sandbox import DEMO_CREDENTIALS, Faults, Sandbox
from .store.metric_store import Store

# Widgets load ipywidgets, which the core never imports: they come on first use.
_WIDGETS = {
    "ConnectWidget": "twibox_nb.widgets.connect",
    "DashboardApp": "twibox_nb.widgets.app",
    "LibraryBrowser": "twibox_nb.widgets.library",
    "MetricBuilder": "twibox_nb.widgets.builder",
}


def __getattr__(name: str):
    if name in _WIDGETS:
        return getattr(importlib.import_module(_WIDGETS[name]), name)
    raise AttributeError(f"module 'twibox_nb' has no attribute {name!r}")


__all__ = [
    "Alert",
    "Cache",
    "CalculatedMetric",
    "ChoiceError",
    "ConnectWidget",
    "Connection",
    "Count",
    "CredentialsError",
    "DEMO_CREDENTIALS",
    "DashboardApp",
    "Databoard",
    "DateRange",
    "DateRangeError",
    "Dynamic",
    "ExpressionError",
    "Faults",
    "FetchError",
    "Field",
    "Goal",
    "LibraryBrowser",
    "LimitExceededError",
    "MetricBuilder",
    "MetricResult",
    "MetricSpec",
    "RequestSpec",
    "ResponseFormatError",
    "RetryPolicy",
    "Sandbox",
    "Scorecard",
    "SlowEngineWarning",
    "SpecError",
    "Store",
    "StoreError",
    "Summary",
    "TruncationWarning",
    "TwiboxError",
    "TwiboxWarning",
    "TwilioAPIError",
    "UnsafeRequestError",
    "__version__",
    "backtest",
    "comparison_range",
    "connect",
    "enable_offline_rendering",
    "endpoints",
    "fetch_metric",
    "format_value",
    "goal_progress",
    "library",
    "load_metric",
    "resolve_range",
    "save_chart",
    "set_locale",
]
