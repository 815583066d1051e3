"""Telling secrets apart from what may be shown or saved: pure functions, no IO, no pandas.

Three jobs, one place:

* **Showing a value** that may be a credential given in the wrong place (:func:`shape_of`): a short,
  plain value is quoted; anything that could be a secret is described by its shape only.
* **Redacting text** that may hold a database password (:func:`redact`): ``scheme://user:pw@host``
  in any URL, ``password=…`` in a query string (its name percent-encoded or not) or in a libpq
  keyword string, and percent-encoded copies of all of these.
* **Refusing a saved file** that holds a credential (:func:`check_saveable`): user-info URLs,
  ``SK…:secret`` and ``AC…:token`` pairs and Basic/Bearer header values under any name, and, when
  the connection is known, its own secret in any value or name (also without whitespace, in
  another case, percent-encoded, or base64-encoded as ``user:secret``).

>>> shape_of("ie1"), shape_of("0123456789abcdef0123456789abcdef"), shape_of("SK" + "a" * 32)
("'ie1'", 'a 32-character value', 'a 34-character value starting with SK')
>>> redact("postgresql://me:pw@db/m?sslmode=require&password=x")
'postgresql://me:***@db/m?sslmode=require&password=***'
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote

from .._exceptions import SpecError

__all__ = ["check_saveable", "holds_secret", "password_variants", "redact", "scrub", "shape_of"]

_SHOWABLE = re.compile(r"^[A-Za-z0-9_. -]{0,12}$")
_SID_PREFIX = re.compile(r"^(AC|SK)")
# A URL's scheme and what follows up to the next blank or quote: the part redact() looks inside.
_URL = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*)(://|%3A%2F%2F)([^\s'\"<>]*)")
_SENSITIVE_KEY = re.compile(r"(?i)pass|pwd|secret|credential|api[-_]?key|auth[-_]?token|access[-_]?token|^token$")
_QUERY_PAIR = re.compile(r"(?i)([?&;])([^=&;#\s]*)=([^&;#\s]*)")
# libpq keyword strings: ``password=pw`` or ``password = 'a b'``.
_KEYWORD_PASSWORD = re.compile(
    r"(?i)\b((?:ssl)?pass(?:word|wd)?|pwd)(\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s'\"]*)"
)
_LIBPQ_KEYWORD = re.compile(
    r"(?i)^\s*(?:(?:host|hostaddr|port|dbname|user|password|passfile|service|sslmode|options|"
    r"connect_timeout|application_name|target_session_attrs|sslrootcert|sslcert|sslkey)\s*=)"
)
# Credentials that are recognisable without knowing the connection.
_PAIR = re.compile(r"(?i)\b(?:SK[0-9a-f]{32}:\S{16,}|AC[0-9a-f]{32}:[0-9a-f]{32})")
_HEADER_VALUE = re.compile(r"(?i)^\s*(?:basic|bearer|digest)\s+\S+")
_BARE_TOKEN = re.compile(r"(?i)^[0-9a-f]{32}$")
_USERINFO_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s/?#@]*:[^\s/?#]*@")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
MIN_SECRET = 8  # shorter "secrets" (test doubles) would match ordinary text


def shape_of(value: str) -> str:
    """How a message may name a value that might be a credential: quoted when it is short and plain
    (``'ie1'``, ``'AC123'``), else only its shape, never its text."""
    if _SHOWABLE.match(value):
        return repr(value)
    prefix = _SID_PREFIX.match(value)
    start = f" starting with {prefix.group(1)}" if prefix else ""
    blank = " with blanks in it" if any(c.isspace() for c in value) else ""
    return f"a {len(value)}-character value{start}{blank}"


# --- redacting text ---------------------------------------------------------------------------


def _redact_url(scheme: str, sep: str, rest: str) -> str:
    userinfo, at, tail = rest.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        if colon or re.search(r"[/?#=&;@%\s]", user):
            user = "***" if re.search(r"[/?#=&;@%\s]", user) else f"{user}:***"
        rest = f"{user}@{tail}"
    return f"{scheme}{sep}{rest}"


def _redact_once(text: str) -> str:
    text = _URL.sub(lambda m: _redact_url(m.group(1), m.group(2), m.group(3)), text)
    text = _QUERY_PAIR.sub(
        lambda m: f"{m.group(1)}{m.group(2)}=***" if _SENSITIVE_KEY.search(unquote(m.group(2))) else m.group(0), text
    )
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


def redact(text: str) -> str:
    """``text`` with every password a database URL or connection string could carry replaced by ``***``.

    >>> redact("postgresql://u:p%40ss@h:5432/db"), redact("host=h user=u password='a b' dbname=d")
    ('postgresql://u:***@h:5432/db', 'host=h user=u password=*** dbname=d')
    >>> redact("postgres://h/db?pass%77ord=x"), redact("postgresql%3A%2F%2Fu%3Apw%40h%2Fdb")
    ('postgres://h/db?pass%77ord=***', 'postgresql://u:***@h/db')
    >>> redact("postgresql://me:s3cret@db.example.com:5432/metrics")
    'postgresql://me:***@db.example.com:5432/metrics'
    >>> redact("postgresql://db/metrics?user=me&password=s3cret"), redact("host=db password=s3cret")
    ('postgresql://db/metrics?user=me&password=***', 'host=db password=***')
    """
    once = _redact_once(text)
    decoded = unquote(once)
    if decoded != once and _redact_once(decoded) != decoded:
        return _redact_once(decoded)  # a percent-encoded copy of a password: show the decoded, redacted text
    return once


def is_libpq_keywords(text: str) -> bool:
    """Whether ``text`` is a libpq keyword/value connection string (``host=… dbname=…``)."""
    return bool(_LIBPQ_KEYWORD.match(text))


def password_variants(dsn: str) -> list[str]:
    """The password(s) a connection URL or keyword string holds, as written and percent-decoded
    (so that a driver's message quoting either can be scrubbed)."""
    found: list[str] = []
    for m in _URL.finditer(dsn):
        userinfo, at, _ = m.group(3).rpartition("@")
        if at and ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
    for m in _QUERY_PAIR.finditer(dsn):
        if _SENSITIVE_KEY.search(unquote(m.group(2))):
            found.append(m.group(3))
    for m in _KEYWORD_PASSWORD.finditer(dsn):
        found.append(m.group(3).strip("'"))
    out = {v for f in found for v in (f, unquote(f), unquote(f.replace("+", " "))) if len(v) >= 3}
    return sorted(out, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` redacted (:func:`redact`) and with every one of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return redact(text)


# --- refusing to save a credential ------------------------------------------------------------


def _strings(data: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every text in a JSON-like value, names included, with the field path it sits at."""
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key)
            yield from _strings(value, where)
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            yield from _strings(value, f"{path}[{i}]")


def _decoded_forms(value: str) -> Iterator[str]:
    yield value
    squeezed = "".join(value.split())
    yield squeezed
    yield unquote(squeezed)
    for found in _BASE64.findall(squeezed):
        for offset in range(4):  # base64 embedded after other text: try each alignment
            chunk = found[offset:].rstrip("=")
            chunk = chunk[:-1] if len(chunk) % 4 == 1 else chunk
            chunk += "=" * (-len(chunk) % 4)
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    yield decode(chunk).decode("utf-8", "replace")
                except (binascii.Error, ValueError):
                    continue


def holds_secret(value: str, secrets: Iterable[str]) -> bool:
    """Whether ``value`` holds one of ``secrets`` anywhere: as is, without blanks, in another case,
    percent-encoded, or base64-encoded (as in a Basic auth header of ``user:secret``).

    >>> holds_secret("x-" + base64.b64encode(b"SK1:hunter2hunter2").decode(), ["hunter2hunter2"])
    True
    """
    wanted = [s.strip().casefold() for s in secrets if s and len(s.strip()) >= MIN_SECRET]
    if not wanted:
        return False
    return any(s in form.casefold() for form in _decoded_forms(value) for s in wanted)


def _looks_like_credential(value: str) -> str | None:
    """Why ``value`` is a credential whatever the connection, or None."""
    squeezed = "".join(value.split())
    if _USERINFO_URL.search(value) or _USERINFO_URL.search(unquote(squeezed)):
        return "holds a user name and password in a URL (scheme://user:password@host)"
    if _PAIR.search(squeezed) or _PAIR.search(unquote(squeezed)):
        return "holds an API key or Account SID paired with its secret (SID:secret)"
    if _HEADER_VALUE.match(value):
        return "looks like an Authorization header value (Basic/Bearer …)"
    if _BARE_TOKEN.match(squeezed):
        return "looks like an auth token (32 hex digits)"
    return None


def check_saveable(data: Any, secrets: Iterable[str] = ()) -> None:
    """Refuse (:class:`SpecError`, naming the field but never the value) a metric file's content
    that holds a credential: see the module docstring. ``secrets`` are the connection's own
    secret and auth token when it is known.

    >>> check_saveable({"request": {"headers": {"X-Foo": "https://me:pw@example.com"}}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    twibox_nb._exceptions.SpecError: request.headers.X-Foo: holds a user name and password in a URL ...
    """
    secrets = tuple(secrets)
    for where, text in _strings(data):
        why = _looks_like_credential(text)
        if why is None and holds_secret(text, secrets):
            why = "holds the connection's secret"
        if why is not None:
            raise SpecError(
                where or "metric", f"{why}; a saved metric never holds a credential (they come from the connection)"
            )
