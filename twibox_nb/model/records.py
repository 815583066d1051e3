"""Where the records are in a Twilio response body.

Product APIs name the list in ``meta.key``; the 2010 API puts it under the one key that is not a
paging key; token-paged APIs use ``data``. A body with no list (an instance such as the Balance)
is itself the one record. This is the rule Twilio's own client libraries follow.
"""

from __future__ import annotations

from typing import Any

PAGING_KEYS = frozenset(
    {
        "page",
        "page_size",
        "uri",
        "first_page_uri",
        "next_page_uri",
        "previous_page_uri",
        "start",
        "end",
        "num_pages",
        "total",
        "last_page_uri",
        "meta",
        "nextToken",
        "previousToken",
    }
)


def find_records(body: Any) -> tuple[str | None, list[Any]]:
    """Return ``(list key, records)`` of one response body.

    >>> find_records({"meta": {"key": "alerts"}, "alerts": [{"sid": "NO1"}]})
    ('alerts', [{'sid': 'NO1'}])
    >>> find_records({"page": 0, "next_page_uri": None, "messages": [{"sid": "SM1"}]})
    ('messages', [{'sid': 'SM1'}])
    >>> find_records({"account_sid": "AC1", "balance": "1.00", "currency": "USD"})
    (None, [{'account_sid': 'AC1', 'balance': '1.00', 'currency': 'USD'}])
    """
    if isinstance(body, list):
        return None, body
    if not isinstance(body, dict):
        return None, []
    meta = body.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("key"), str) and isinstance(body.get(meta["key"]), list):
        return meta["key"], body[meta["key"]]
    lists = [k for k, v in body.items() if isinstance(v, list) and k not in PAGING_KEYS]
    if len(lists) == 1:
        return lists[0], body[lists[0]]
    if "data" in lists:
        return "data", body["data"]
    if not lists and not (PAGING_KEYS & body.keys() - {"uri"}):
        return None, [body]
    return None, []
