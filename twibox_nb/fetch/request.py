"""Building the first request of a fetch: pure, no IO.

``build_request(spec, conn, date_range)`` fills ``{AccountSid}`` from the connection, moves the
base URL to the connection's region/edge, renders date tokens so the server returns a superset of
the range (each token knows its filter's boundary rule from the catalogue) and returns an
``httpx.Request`` that nobody has sent yet.
"""

from __future__ import annotations

import httpx

from .._exceptions import UnsafeRequestError
from ..model.catalog import find_endpoint
from ..model.dates import DateRange, render_tokens
from ..model.spec import MetricSpec, RequestSpec
from .connection import Connection
from .session import DEFAULT_HEADERS


def resolve_params(request: RequestSpec, date_range: DateRange) -> list[tuple[str, str]]:
    """The request's parameters with every date token rendered for ``date_range``."""
    endpoint = find_endpoint(request.base_url, request.path)
    return [
        (name, render_tokens(value, date_range, endpoint.rule(name) if endpoint else None))
        for name, value in request.params
    ]


def build_request(spec: MetricSpec | RequestSpec, conn: Connection, date_range: DateRange) -> httpx.Request:
    """The first page's request for ``spec`` over ``date_range``.

    >>> from datetime import datetime, timezone
    >>> from twibox_nb.fetch.connection import connect
    >>> from twibox_nb.model.dates import resolve_range
    >>> conn = connect(sandbox=True)
    >>> req = RequestSpec("/2010-04-01/Accounts/{AccountSid}/Messages.json",
    ...                   params={"DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"})
    >>> r = build_request(req, conn, resolve_range("2026-11-01..2026-11-07", datetime.now(timezone.utc)))
    >>> r.method, r.url.params["DateSent>"], r.url.params["DateSent<"]
    ('GET', '2026-11-01', '2026-11-07')
    """
    request = spec.request if isinstance(spec, MetricSpec) else spec
    if request.method != "GET":  # RequestSpec refuses it already; this guards hand-made objects
        raise UnsafeRequestError("only GET requests are sent: twibox_nb only reads")
    url = conn.route(request.base_url) + request.path.replace("{AccountSid}", conn.account_sid)
    headers = {**DEFAULT_HEADERS, **dict(request.headers)}
    return httpx.Request("GET", url, params=resolve_params(request, date_range), headers=headers)
