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

from importlib import import_module

from . import library
from ._exceptions import (
    CredentialsError,
    DateRangeError,
    ExpressionError,
    FetchError,
    ResponseFormatError,
    SpecError,
    StoreError,
    TwiboxError,
    TwilioAPIError,
    UnsafeRequestError,
)
from ._version import __version__
from .aggregate import Summary
from .alerts import Alert, backtest
from .cache import Cache
from .calculated import CalculatedMetric
from .chart_export import enable_offline_rendering, save_chart
from .connection import Connection, connect
from .databoard import Databoard
from .dates import DateRange, comparison_range, resolve_range
from .goals import Goal, goal_progress
from .library import load_metric
from .metric import MetricResult, TruncationWarning, fetch_metric
from .sandbox import DEMO_CREDENTIALS, Faults, Sandbox
from .scorecard import Scorecard
from .spec import Count, Dynamic, Field, MetricSpec, RequestSpec
from .store import Store

# Widgets load ipywidgets, which the core never imports: they come on first use.
_WIDGETS = {
    "ConnectWidget": "twibox_nb.widgets.connect",
    "LibraryBrowser": "twibox_nb.widgets.library",
    "MetricBuilder": "twibox_nb.widgets.builder",
}


def __getattr__(name: str):
    if name in _WIDGETS:
        return getattr(import_module(_WIDGETS[name]), name)
    raise AttributeError(f"module 'twibox_nb' has no attribute {name!r}")


__all__ = [
    "Alert",
    "Cache",
    "CalculatedMetric",
    "ConnectWidget",
    "Connection",
    "Count",
    "CredentialsError",
    "DEMO_CREDENTIALS",
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
    "MetricBuilder",
    "MetricResult",
    "MetricSpec",
    "RequestSpec",
    "ResponseFormatError",
    "Sandbox",
    "Scorecard",
    "SpecError",
    "Store",
    "StoreError",
    "Summary",
    "TruncationWarning",
    "TwiboxError",
    "TwilioAPIError",
    "UnsafeRequestError",
    "__version__",
    "backtest",
    "comparison_range",
    "connect",
    "enable_offline_rendering",
    "fetch_metric",
    "goal_progress",
    "library",
    "load_metric",
    "resolve_range",
    "save_chart",
]
