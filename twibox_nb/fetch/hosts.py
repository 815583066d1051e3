"""Which hosts may receive credentials: Twilio's own (``https://*.twilio.com``) and loopback sandboxes."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import httpx

#: A Twilio host name, ``<product>[.<edge>][.<region>].twilio.com``; group 1 is the product. The
#: sandbox keeps an identical copy (it imports nothing of twibox_nb outside itself).
TWILIO_HOST = re.compile(r"^([a-z0-9-]+)(?:\.[a-z0-9-]+)*\.twilio\.com$")


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
