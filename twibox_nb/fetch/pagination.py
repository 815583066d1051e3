"""Paging strategies: one small class per shape of Twilio list response (no IO here).

Each paginator reads one page's JSON body and answers a single question: which URL holds the
next page (``None`` when there is none). The one loop that sends requests lives in
:mod:`twibox_nb.fetch.chain`; this split follows dlt's REST client paginators.

Twilio's shapes (DESIGN.md, "Twilio facts"):

* :class:`NextPageUri` — the 2010 API: a top-level, *relative* ``next_page_uri``.
* :class:`MetaNextPageUrl` — product APIs: an absolute ``meta.next_page_url``.
* :class:`NextToken` — token paging: ``meta.nextToken`` (or a top-level ``nextToken`` beside
  ``data``); the next request is the *original* one with the token parameter set.
* :class:`NoPagination` — a single resource, or a list without links.

A link is followed exactly as given: it already carries every query parameter of the first
request, and re-adding them would duplicate them. A link that is not a usable URL (a control
character, a port out of range, longer than :data:`MAX_LINK_LENGTH`) raises
:class:`~twibox_nb.ResponseFormatError` saying why, with the link shortened: nothing is sent to it.

>>> first = httpx.URL("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=2")
>>> body = {"messages": [], "next_page_uri": "/2010-04-01/Accounts/AC1/Messages.json?PageSize=2&Page=1&PageToken=PA9"}
>>> paginator = detect(body)
>>> paginator
NextPageUri()
>>> str(paginator.next_url(body, first=first, current=first))
'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=2&Page=1&PageToken=PA9'
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import httpx

from .._exceptions import ResponseFormatError

__all__ = ["MetaNextPageUrl", "NextPageUri", "NextToken", "NoPagination", "Paginator", "detect"]

DEFAULT_TOKEN_PARAM = "PageToken"
#: The longest next-page link (or next token) followed: httpx's own limit on a URL. Twilio's links
#: are a few hundred characters.
MAX_LINK_LENGTH = 65_536
_SHOWN = 80  # characters of a malformed link an error message shows


def _link(value: Any) -> str | None:
    """A usable link: a non-empty string (Twilio sends ``null`` on the last page)."""
    return value if isinstance(value, str) and value.strip() else None


def _malformed(current: httpx.URL, what: str, value: str, why: str) -> ResponseFormatError:
    """The error for a next-page link (or token) that is no usable URL; a long one is shortened."""
    shown = repr(value) if len(value) <= _SHOWN else f"{value[:_SHOWN]!r}… ({len(value):,} characters)"
    return ResponseFormatError(
        f"the {what} in the page from {current} is malformed ({why}): {shown}; nothing was sent to it"
    )


def resolve_link(link: str, current: httpx.URL) -> httpx.URL:
    """``link`` resolved against ``current``, the page it came in; ResponseFormatError unless it is a usable URL.

    >>> here = httpx.URL("https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json")
    >>> str(resolve_link("/x.json?Page=1", here))
    'https://api.twilio.com/x.json?Page=1'
    >>> resolve_link("https://api.twilio.com:99999/x", here)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.ResponseFormatError: ... (port 99999 is out of range): 'https://api.twilio.com:99999/x'; ...
    >>> resolve_link("/x?" + "a" * 200_000, here)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.ResponseFormatError: ... (200,003 characters, more than 65,536): '/x?aaa...aaa'… (200,003 ...
    """
    if len(link) > MAX_LINK_LENGTH:
        raise _malformed(current, "next-page link", link, f"{len(link):,} characters, more than {MAX_LINK_LENGTH:,}")
    try:
        url = current.join(link)
        port = url.port
    except httpx.InvalidURL as exc:
        raise _malformed(current, "next-page link", link, str(exc).rstrip(".")) from None
    if port is not None and not 0 < port < 65_536:
        raise _malformed(current, "next-page link", link, f"port {port} is out of range")
    return url


class Paginator(ABC):
    """Finds the next page's URL in a page body.

    ``first`` is the URL of the first request (token paging repeats it), ``current`` the URL the
    body came from (relative links are resolved against it). Both are the Twilio URLs as asked,
    never a rewritten transport address.
    """

    @abstractmethod
    def next_url(self, body: Any, *, first: httpx.URL, current: httpx.URL) -> httpx.URL | None:
        """The URL of the next page, or ``None`` on the last page (ResponseFormatError for a malformed link)."""


@dataclass(frozen=True)
class NoPagination(Paginator):
    """One page only: an instance resource, or a list body without any paging link.

    >>> NoPagination().next_url({"sid": "AC1"}, first=httpx.URL("https://api.twilio.com/"),
    ...                         current=httpx.URL("https://api.twilio.com/")) is None
    True
    """

    def next_url(self, body: Any, *, first: httpx.URL, current: httpx.URL) -> httpx.URL | None:
        return None


@dataclass(frozen=True)
class NextPageUri(Paginator):
    """The 2010 API: top-level ``next_page_uri``, relative to the host the page came from.

    >>> here = httpx.URL("https://api.ie1.twilio.com/2010-04-01/Accounts/AC1/Calls.json")
    >>> str(NextPageUri().next_url({"next_page_uri": "/x.json?Page=1"}, first=here, current=here))
    'https://api.ie1.twilio.com/x.json?Page=1'
    >>> NextPageUri().next_url({"next_page_uri": None}, first=here, current=here) is None
    True
    """

    def next_url(self, body: Any, *, first: httpx.URL, current: httpx.URL) -> httpx.URL | None:
        link = _link(body.get("next_page_uri")) if isinstance(body, dict) else None
        # join keeps the current scheme and host for a "/path?query" link; an absolute (or
        # scheme-relative) link replaces them, and the client then checks where it points.
        return resolve_link(link, current) if link else None


@dataclass(frozen=True)
class MetaNextPageUrl(Paginator):
    """Product APIs (Monitor, Messaging …): absolute ``meta.next_page_url``.

    >>> here = httpx.URL("https://monitor.twilio.com/v1/Alerts")
    >>> body = {"alerts": [], "meta": {"key": "alerts", "next_page_url": "https://monitor.twilio.com/v1/Alerts?Page=1"}}
    >>> str(MetaNextPageUrl().next_url(body, first=here, current=here))
    'https://monitor.twilio.com/v1/Alerts?Page=1'
    """

    def next_url(self, body: Any, *, first: httpx.URL, current: httpx.URL) -> httpx.URL | None:
        meta = body.get("meta") if isinstance(body, dict) else None
        link = _link(meta.get("next_page_url")) if isinstance(meta, dict) else None
        return resolve_link(link, current) if link else None


@dataclass(frozen=True)
class NextToken(Paginator):
    """Token paging: the next page is the first request with ``param`` set to the token.

    The token is read from ``meta.nextToken``, else from a top-level ``nextToken``. Any value
    the first request already had for ``param`` is replaced, not repeated.

    >>> first = httpx.URL("https://example.twilio.com/v1/Things?PageSize=2")
    >>> str(NextToken("PageToken").next_url({"data": [], "nextToken": "t2"}, first=first, current=first))
    'https://example.twilio.com/v1/Things?PageSize=2&PageToken=t2'
    """

    param: str = DEFAULT_TOKEN_PARAM

    @staticmethod
    def token(body: Any) -> str | None:
        """The next token of a body, or ``None`` (last page)."""
        if not isinstance(body, dict):
            return None
        meta = body.get("meta")
        if isinstance(meta, dict) and "nextToken" in meta:
            return _link(meta["nextToken"])
        return _link(body.get("nextToken"))

    def next_url(self, body: Any, *, first: httpx.URL, current: httpx.URL) -> httpx.URL | None:
        token = self.token(body)
        if not token:
            return None
        if len(token) > MAX_LINK_LENGTH:
            raise _malformed(current, "next token", token, f"{len(token):,} characters, more than {MAX_LINK_LENGTH:,}")
        try:
            return first.copy_set_param(self.param, token)
        except httpx.InvalidURL as exc:
            raise _malformed(current, "next token", token, str(exc).rstrip(".")) from None


def detect(body: Any, token_param: str = DEFAULT_TOKEN_PARAM) -> Paginator:
    """Pick the paging shape of one response body.

    >>> detect({"meta": {"key": "alerts", "next_page_url": None}, "alerts": []})
    MetaNextPageUrl()
    >>> detect({"data": [], "nextToken": None}, token_param="pageToken")
    NextToken(param='pageToken')
    >>> detect({"sid": "AC1", "friendly_name": "x"})
    NoPagination()
    """
    if isinstance(body, dict):
        meta = body.get("meta")
        if isinstance(meta, dict):
            if "nextToken" in meta:
                return NextToken(token_param)
            if "next_page_url" in meta:
                return MetaNextPageUrl()
        if "nextToken" in body and "data" in body:
            return NextToken(token_param)
        if "next_page_uri" in body:
            return NextPageUri()
    return NoPagination()
