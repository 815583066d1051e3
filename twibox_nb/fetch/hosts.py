"""Which hosts may receive credentials: Twilio's own (``https://*.twilio.com``) and loopback sandboxes."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import httpx

# TWILIO_HOST: <product>[.<edge>][.<region>].twilio.com, group 1 the product, defined once in
# model.spec; the sandbox keeps an identical copy (it imports nothing of twibox_nb outside itself).
from ..model.spec import TWILIO_HOST

__all__ = ["TWILIO_HOST", "is_loopback_url", "is_twilio_url"]


def is_twilio_url(url: httpx.URL | str) -> bool:
    """True for ``https://<something>.twilio.com`` URLs (the only place real credentials may go)."""
    parsed = httpx.URL(str(url))
    return parsed.scheme == "https" and bool(TWILIO_HOST.match(parsed.host or ""))


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
