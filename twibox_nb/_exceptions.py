"""One exception hierarchy for twibox_nb: catch ``TwiboxError`` to catch them all.

Messages say what was wrong, where, and what to do. None of them ever holds a credential.
"""

from __future__ import annotations


class TwiboxError(Exception):
    """Base class of every error twibox_nb raises on purpose."""


class SpecError(TwiboxError, ValueError):
    """A metric spec (or one of its fields) is invalid; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{field}: {message}")


class ChoiceError(TwiboxError, ValueError):
    """A choice the metric builder does not accept, with the reason in plain words; ``step`` says
    where (the builder step's key: ``request``, ``value``, ``dimension``, ``date``, ``preview`` or
    ``describe``)."""

    def __init__(self, step: str, message: str) -> None:
        self.step = step
        self.detail = message
        super().__init__(f"{step}: {message}")


class CredentialsError(TwiboxError, ValueError):
    """Credentials are missing or malformed (checked before any request is sent)."""


class DateRangeError(TwiboxError, ValueError):
    """A date range, interval or comparison name is not one twibox_nb knows."""


class UnsafeRequestError(TwiboxError):
    """A request twibox_nb refuses to send: not a GET, or credentials bound for a non-Twilio host."""


class TwilioAPIError(TwiboxError):
    """Twilio answered with an error (after any retries).

    Carries Twilio's ``status``, ``code``, ``message`` and ``more_info`` link, and the URL asked
    for (which never holds credentials: they travel in a header).
    """

    def __init__(
        self,
        status: int,
        code: int | None,
        message: str,
        more_info: str | None = None,
        url: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.more_info = more_info
        self.url = url
        parts = [f"Twilio answered {status}"]
        if code is not None:
            parts.append(f"error {code}")
        text = f"{' '.join(parts)}: {message}"
        if url:
            text += f" (GET {url})"
        if more_info:
            text += f" — see {more_info}"
        super().__init__(text)


class ResponseFormatError(TwiboxError):
    """A response body could not be read as the JSON Twilio sends (malformed or cut off)."""


class FetchError(TwiboxError):
    """The network failed (timeouts, refused or dropped connections) after every retry."""


class LimitExceededError(FetchError):
    """A fetch passed one of its limits (a page's size, a request's deadline) and stopped there.

    ``limit`` names the :class:`~twibox_nb.fetch.session.RetryPolicy` field that was passed
    (``"max_page_bytes"`` or ``"deadline"``) and ``value`` holds its value; the message says how
    to raise it.
    """

    def __init__(self, message: str, limit: str, value: float) -> None:
        self.limit = limit
        self.value = value
        super().__init__(message)


class ExpressionError(TwiboxError):
    """A JSONata expression failed to compile or evaluate, or ran too long.

    ``code`` is JSONata's error code where there is one (``S0201``, ``T0410`` …, or ``"timeout"``),
    ``position`` the character offset in the expression, when known.
    """

    def __init__(self, message: str, code: str | None = None, position: int | None = None) -> None:
        self.code = code
        self.position = position
        self.message = message
        where = f" at position {position}" if position is not None else ""
        prefix = f"{code}: " if code else ""
        super().__init__(f"{prefix}{message}{where}")


class StoreError(TwiboxError):
    """The metric store cannot do what was asked: a bad store URL, an unknown stored metric, a store
    written by a newer twibox_nb, or a database error (the message says which store)."""


class TwiboxWarning(UserWarning):
    """Base class of every warning twibox_nb gives: filter them all with ``warnings.filterwarnings``."""


class TruncationWarning(TwiboxWarning):
    """A fetch stopped before the end of the data (page cap, link cycle or error): records are missing."""
