"""What the twibox widgets share: CSS classes, an error area that never loses an exception, busy state.

ipywidgets sends an exception raised in an ``on_click`` or ``observe`` callback to the kernel log,
where nobody looks. Every callback of these widgets is wrapped by :func:`guard`, which shows the
error in the widget's own :class:`ErrorArea` instead.
"""

from __future__ import annotations

import functools
import html
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import ipywidgets as widgets

from .._exceptions import TwiboxError
from ..builder.state import describe_error

W = TypeVar("W", bound=widgets.DOMWidget)
F = TypeVar("F", bound=Callable[..., Any])

MUTED = "#57606a"
ERROR_STYLE = "color:#82071e;background:#ffebe9;border:1px solid #ff818266;border-radius:6px;padding:6px 10px"
OK_STYLE = "color:#116329;background:#dafbe1;border:1px solid #4ac26b66;border-radius:6px;padding:6px 10px"
NOTE_STYLE = "color:#57606a;font-size:0.92em"


def classed(widget: W, *names: str) -> W:
    """Add ``twibox-<name>`` CSS classes (stable hooks for tests and users' own automation)."""
    for name in names:
        widget.add_class(f"twibox-{name}")
    return widget


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def link(url: str, text: str | None = None) -> str:
    return f"<a href='{esc(url)}' target='_blank' rel='noopener' style='color:#0969da'>{esc(text or url)}</a>"


class ErrorArea(widgets.HTML):
    """Shows the last error in plain words (with Twilio's link); unexpected ones with a traceback.

    ``errors`` keeps every exception shown, so a test (or a curious user) can look at them.
    """

    def __init__(self, name: str) -> None:
        super().__init__(value="")
        classed(self, "error", name)
        self.errors: list[BaseException] = []
        self.layout.display = "none"

    def show(self, exc: BaseException) -> None:
        self.errors.append(exc)
        message, more_info = describe_error(exc)
        parts = [f"<b>⚠</b> {esc(message)}"]
        if more_info:
            parts.append(f" {link(more_info, 'More about this error')}")
        if not isinstance(exc, TwiboxError):
            trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            pre = f"<pre style='font-size:11px'>{esc(trace)}</pre>"
            parts.append(f"<details><summary>Traceback (a bug: please report it)</summary>{pre}</details>")
        self.value = f"<div style='{ERROR_STYLE}'>{''.join(parts)}</div>"
        self.layout.display = None

    @property
    def message(self) -> str:
        """The text of the error shown (empty when none is)."""
        return describe_error(self.errors[-1])[0] if self.value and self.errors else ""

    def clear(self) -> None:
        self.value = ""
        self.layout.display = "none"


def guard(report: Callable[[BaseException], None]) -> Callable[[F], F]:
    """Wrap a callback so that whatever it raises is reported (shown in the widget), never lost."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # every error reaches the widget: that is the point
                report(exc)
                return None

        return inner  # type: ignore[return-value]

    return wrap


@contextmanager
def busy(controls: Iterable[widgets.Widget], indicator: widgets.Widget | None = None) -> Iterator[None]:
    """Disable ``controls`` (and show ``indicator``) while a request runs; restore them afterwards.

    The frontend gets the ``disabled`` updates before the request starts, so nobody clicks twice.
    """
    controls = [c for c in controls if hasattr(c, "disabled")]
    before = [c.disabled for c in controls]
    for control in controls:
        control.disabled = True
    if indicator is not None:
        indicator.layout.display = None
    try:
        yield
    finally:
        for control, was in zip(controls, before, strict=True):
            control.disabled = was
        if indicator is not None:
            indicator.layout.display = "none"
