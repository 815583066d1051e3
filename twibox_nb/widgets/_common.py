"""What the twibox widgets share: CSS classes, an error area that never loses an exception, busy state.

ipywidgets sends an exception raised in an ``on_click`` or ``observe`` callback to the kernel log,
where nobody looks. Every callback of these widgets is wrapped by :func:`guard`, which shows the
error in the widget's own :class:`ErrorArea` instead.

ipywidgets also queues clicks in the kernel: a second click sent while a long action runs is
handled after it, when the button is enabled again. :class:`Busy` runs one long action at a time,
says what it does in words (with the time it takes), disables the controls that would act again,
and ignores a click that arrives while it runs or that was sent before the last action ended
(:func:`sent_at`). :func:`made_widgets` and :func:`close_all` let a composite widget close every
widget it made.
"""

from __future__ import annotations

import functools
import html
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

import ipywidgets as widgets
from ipywidgets.widgets import widget as _widget_module

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


def sent_at() -> datetime | None:
    """When the front end sent the comm message being handled (its header's date), else None.

    None outside a kernel, off the main thread, or while a cell (not a widget message) runs.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    parent = getattr(get_ipython(), "parent_header", None)
    header = parent.get("header") if isinstance(parent, dict) else None
    if not isinstance(header, dict) or header.get("msg_type") != "comm_msg":
        return None
    date = header.get("date")
    if isinstance(date, str):
        try:
            date = datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            return None
    return date if isinstance(date, datetime) else None


class Busy:
    """One long action at a time, shown in ``indicator`` with words, progress and elapsed time.

    ``with busy("Fetching the pages…", controls):`` disables ``controls`` and the ones
    ``controls_of()`` names (restored afterwards, then ``done()`` runs); nested, it only changes
    the words and disables the extra controls. :meth:`accepts` says whether a click may act now: not
    while an action runs (a re-entrant or queued call), nor when the front end sent it before the
    last action ended (a double click whose second half waited in the kernel's queue): both are
    compared on the front end's clock, with the action's length measured in the kernel.
    """

    def __init__(
        self, indicator: widgets.HTML, controls_of: Callable[[], Iterable[widgets.Widget]],
        done: Callable[[], None] = lambda: None, clock: Callable[[], datetime | None] = sent_at,
    ) -> None:  # fmt: skip
        self.indicator, self._controls_of, self._done, self._clock = indicator, controls_of, done, clock
        self.words: str | None = None
        self.ignored = 0  # clicks ignored so far (for tests and the curious)
        self._detail, self._bar = "", None
        self._started = 0.0
        self._last: tuple[datetime, float] | None = None  # (when the last action's click was sent, its seconds)
        self._lock = threading.RLock()
        self._stop: threading.Event | None = None

    @property
    def active(self) -> bool:
        return self.words is not None

    def accepts(self) -> bool:
        """False (and counted in :attr:`ignored`) for a click during an action or sent before it ended."""
        sent = self._clock()
        stale = sent is not None and self._last is not None and sent < self._last[0] + timedelta(seconds=self._last[1])
        if self.active or stale:
            self.ignored += 1
            return False
        return True

    @contextmanager
    def __call__(self, words: str, controls: Iterable[widgets.Widget] = ()) -> Iterator[None]:
        outer = not self.active
        mine = [
            c for c in (*(self._controls_of() if outer else ()), *controls) if hasattr(c, "disabled") and not c.disabled
        ]
        for control in mine:
            control.disabled = True
        before, sent = self.words, self._clock() if outer else None
        with self._lock:
            self.words = words
            if outer:
                self._started, self._detail, self._bar = time.monotonic(), "", None
                self._stop = threading.Event()
                threading.Thread(target=self._tick, args=(self._stop,), daemon=True).start()
            self._render()
        self.indicator.layout.display = None
        try:
            yield
        finally:
            # the words go before the controls come back: the page never shows "Fetching…" beside
            # controls that would act (the page applies the kernel's messages in this order)
            with self._lock:
                self.words = before
                if outer and self._stop is not None:
                    self._stop.set()
                self._render()
            if outer:
                self.indicator.layout.display = "none"
            for control in mine:
                control.disabled = False
            if outer:
                if sent is not None:
                    self._last = (sent, time.monotonic() - self._started)
                self._done()

    def say(self, words: str) -> None:
        """Change the words of the action that runs (say what it does now)."""
        with self._lock:
            self.words = words
            self._render()

    def progress(self, detail: str, done: int | None = None, total: int | None = None) -> None:
        """Show how far the action got (``done`` of ``total`` as a bar when both are given)."""
        with self._lock:
            self._detail = detail
            self._bar = (done, total) if done is not None and total else None
            self._render()

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(0.5):
            with self._lock:
                if stop.is_set():
                    return
                self._render()

    def _render(self) -> None:
        elapsed = time.monotonic() - self._started
        words = f"<b class='twibox-busy-words'>{esc(self.words)}</b>" if self.words else ""
        clock = f" <span class='twibox-busy-elapsed'>{elapsed:.0f} s</span>" if self.words and elapsed >= 1 else ""
        bar = ""
        if self._bar is not None:
            done, total = self._bar
            bar = f" <progress value='{min(done, total)}' max='{total}' style='width:160px'></progress>"
        detail = f" · {esc(self._detail)}" if self._detail and words else esc(self._detail)
        self.indicator.value = f"<div style='{NOTE_STYLE};margin:4px 0'>{words}{clock}{bar}{detail}</div>"


def live_widget_ids() -> set[str]:
    """The model ids of every widget alive in this kernel (``Widget.widgets``, without its warning)."""
    return set(getattr(_widget_module, "_instances", {}))


@contextmanager
def made_widgets(into: set[str]) -> Iterator[None]:
    """Add to ``into`` the model ids of the widgets made inside the ``with`` block."""
    before = live_widget_ids()
    try:
        yield
    finally:
        into |= live_widget_ids() - before


def close_all(roots: Iterable[widgets.Widget], made: Iterable[str] = ()) -> int:
    """Close ``roots``, their children (recursively), layouts and styles, and the widgets ``made``; how many."""
    instances = getattr(_widget_module, "_instances", {})
    todo: list[Any] = [*roots, *(instances[i] for i in made if i in instances)]
    seen: set[int] = set()
    closed = 0
    while todo:
        w = todo.pop()
        if id(w) in seen or not isinstance(w, widgets.Widget):
            continue
        seen.add(id(w))
        todo.extend(getattr(w, "children", ()) or ())
        todo.extend(x for x in (getattr(w, "layout", None), getattr(w, "style", None)) if x is not None)
        if w.comm is not None:
            closed += 1
        w.close()
    return closed
