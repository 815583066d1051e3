"""Twilio read endpoints as data: where the records are, which filters take dates, and what they mean.

Every REST endpoint can be used (a path not in the catalogue works too); the catalogue adds what
the specs say about the common ones: the list key, the record's own date field, each date
filter's boundary rule (from the parameter's own description in Twilio's OpenAPI spec; ``None``
where the description does not say, so tokens render to a superset), whether the list is newest
first (only where known: fetching may then stop once records pass the range start), and a link
to Twilio's documentation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .dates import FilterRule


@dataclass(frozen=True)
class DateFilter:
    param: str
    rule: FilterRule | None  # None: the spec's text does not say; tokens then widen the range
    kind: str = "date"  # "date" (YYYY-MM-DD) or "datetime" (ISO 8601 accepted)


@dataclass(frozen=True)
class Endpoint:
    """One list (or instance) endpoint of a Twilio product."""

    name: str
    product: str  # api, monitor, messaging …: the host is https://{product}.twilio.com
    path: str  # with {AccountSid} where the account goes
    list_key: str | None  # None for an instance (e.g. Balance: the body is the record)
    date_field: str | None  # the record's own date (clipping, default date selection)
    filters: tuple[DateFilter, ...] = ()
    newest_first: bool = False
    # Each record is one event with its own date (date_field), so a range can be fetched as
    # date slices whose answers add up to the whole. False for usage records: each one is a sum
    # over the requested window, so two half-windows do not add up to the whole one.
    sliceable: bool = False
    docs: str = ""
    description: str = ""
    suggested_params: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"https://{self.product}.twilio.com"

    def rule(self, param: str) -> FilterRule | None:
        return next((f.rule for f in self.filters if f.param == param), None)


def _f(param: str, rule: FilterRule | None, kind: str = "date") -> DateFilter:
    return DateFilter(param, rule, kind)


ACCOUNT = "/2010-04-01/Accounts/{AccountSid}"
DOCS = "https://www.twilio.com/docs"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "Messages", "api", f"{ACCOUNT}/Messages.json", "messages", "date_sent",
        (_f("DateSent", "on"), _f("DateSent<", "on_or_before"), _f("DateSent>", "on_or_after")),
        newest_first=True, sliceable=True,
        docs=f"{DOCS}/messaging/api/message-resource#read-multiple-message-resources",
        description="SMS, MMS and WhatsApp messages sent and received",
        suggested_params={"PageSize": "1000", "DateSent>": "{{start_date}}", "DateSent<": "{{end_date}}"},
    ),
    Endpoint(
        "Calls", "api", f"{ACCOUNT}/Calls.json", "calls", "start_time",
        (_f("StartTime", "on"), _f("StartTime<", "before"), _f("StartTime>", "on_or_after"),
         _f("EndTime", "on"), _f("EndTime<", "before"), _f("EndTime>", "on_or_after")),
        newest_first=True, sliceable=True, docs=f"{DOCS}/voice/api/call-resource#read-multiple-call-resources",
        description="Voice calls, inbound and outbound",
        suggested_params={"PageSize": "1000", "StartTime>": "{{start_date}}", "StartTime<": "{{end_date}}"},
    ),
    *(
        Endpoint(
            f"Usage Records{' ' + sub if sub else ''}", "api",
            f"{ACCOUNT}/Usage/Records{'/' + sub if sub else ''}.json",
            "usage_records", "start_date",
            (_f("StartDate", "on_or_after"), _f("EndDate", "on_or_before")),
            docs=f"{DOCS}/usage/api/usage-record",
            description=f"Usage and cost per category{' (' + sub + ')' if sub else ''}",
            suggested_params={"PageSize": "1000", "StartDate": "{{start_date}}", "EndDate": "{{end_date}}"}
            if sub in ("", "Daily", "Monthly", "Yearly") else {"PageSize": "1000"},
        )
        for sub in ("", "Daily", "Monthly", "Yearly", "Today", "Yesterday", "ThisMonth", "LastMonth", "AllTime")
    ),
    Endpoint(
        "Conferences", "api", f"{ACCOUNT}/Conferences.json", "conferences", "date_created",
        (_f("DateCreated", "on"), _f("DateCreated<", None), _f("DateCreated>", None),
         _f("DateUpdated", "on"), _f("DateUpdated<", None), _f("DateUpdated>", None)),
        sliceable=True, docs=f"{DOCS}/voice/api/conference-resource", description="Conference calls",
    ),
    Endpoint(
        "Recordings", "api", f"{ACCOUNT}/Recordings.json", "recordings", "date_created",
        (_f("DateCreated", "on"), _f("DateCreated<", None), _f("DateCreated>", None)),
        sliceable=True, docs=f"{DOCS}/voice/api/recording", description="Call recordings",
    ),
    Endpoint(
        "Notifications", "api", f"{ACCOUNT}/Notifications.json", "notifications", "message_date",
        (_f("MessageDate", "on"), _f("MessageDate<", "on_or_before"), _f("MessageDate>", "on_or_after")),
        sliceable=True, docs=f"{DOCS}/usage/api/notification",
        description="Account notifications (errors and warnings)",
    ),
    Endpoint(
        "Incoming phone numbers", "api", f"{ACCOUNT}/IncomingPhoneNumbers.json", "incoming_phone_numbers",
        "date_created", docs=f"{DOCS}/phone-numbers/api/incomingphonenumber-resource",
        description="The account's phone numbers",
    ),
    Endpoint(
        "Queues", "api", f"{ACCOUNT}/Queues.json", "queues", "date_created",
        docs=f"{DOCS}/voice/api/queue-resource", description="Call queues and their sizes",
    ),
    Endpoint(
        "Balance", "api", f"{ACCOUNT}/Balance.json", None, None,
        docs=f"{DOCS}/usage/api/balance", description="The account balance (a single value: use a dynamic date)",
    ),
    Endpoint(
        "Monitor alerts", "monitor", "/v1/Alerts", "alerts", "date_generated",
        (_f("StartDate", "on_or_after", "datetime"), _f("EndDate", "on_or_before", "datetime")),
        newest_first=True, sliceable=True, docs=f"{DOCS}/usage/monitor-alert",
        description="Debugger alerts (errors and warnings); Twilio keeps 30 days",
        suggested_params={"PageSize": "1000", "StartDate": "{{start_datetime}}", "EndDate": "{{end_datetime}}"},
    ),
    Endpoint(
        "Monitor events", "monitor", "/v1/Events", "events", "event_date",
        (_f("StartDate", "on_or_after", "datetime"), _f("EndDate", "on_or_before", "datetime")),
        sliceable=True, docs=f"{DOCS}/usage/monitor-events", description="Audit events: who changed what",
        suggested_params={"PageSize": "1000", "StartDate": "{{start_datetime}}", "EndDate": "{{end_datetime}}"},
    ),
    Endpoint(
        "Messaging services", "messaging", "/v1/Services", "services", "date_created",
        docs=f"{DOCS}/messaging/api/service-resource", description="Messaging Services",
    ),
)  # fmt: skip

_BY_KEY = {(e.product, e.path): e for e in ENDPOINTS}
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")


def find_endpoint(base_url: str, path: str) -> Endpoint | None:
    """The catalogue entry for a base URL and path (with ``{AccountSid}`` or a real SID), if any.

    >>> find_endpoint("https://api.twilio.com", "/2010-04-01/Accounts/{AccountSid}/Messages.json").list_key
    'messages'
    >>> find_endpoint("https://api.dublin.ie1.twilio.com", "/2010-04-01/Accounts/AC" + "0" * 32 + "/Calls.json").name
    'Calls'
    """
    host = (urlsplit(base_url).hostname or "").lower()
    product = host.split(".", 1)[0]
    normalised = _ACCOUNT_SID.sub("{AccountSid}", path.split("?", 1)[0])
    return _BY_KEY.get((product, normalised))
