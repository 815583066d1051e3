"""Widgets live as long as the output of the cell that made them: re-running the cell closes them.

A widget's model stays in the kernel (``Widget.widgets``) and in every browser page's widget
manager until ``close()`` is called, even after its output was cleared. A notebook whose cells are
re-run all day therefore piles up charts and builders nobody can see any more, until the tab runs
out of memory. :func:`track` ties a widget to the cell being executed: JupyterLab and Notebook 7
send the cell's id in every ``execute_request`` (``metadata.cellId``), and ipykernel keeps that
message as the shell's ``parent_header``. When the same cell runs again, the widgets tracked in its
previous run are closed (from IPython's ``pre_run_cell`` event, and again when the new run tracks
its first widget, should the event have been missed).

Outside a cell run (plain Python, tests, a thread, a button's callback) and in front ends that send
no cell id, :func:`track` does nothing and returns ``None``: a widget is then closed only by whoever
made it. A tracked object only needs a ``close()`` method; composite widgets close their own
children in it.

>>> class Thing:
...     def close(self):
...         print("closed")
>>> track(Thing()) is None  # no IPython kernel running a cell here
True
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

_registry: dict[str, tuple[str, list[weakref.ref]]] = {}  # cell id -> (message id of its run, widgets)
_hooked: weakref.WeakSet = weakref.WeakSet()  # shells whose pre_run_cell event closes old widgets


def _shell() -> Any:
    """The running IPython shell, or ``None`` (tests replace this function)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    return get_ipython()


def current_run(shell: Any = None) -> tuple[str, str] | None:
    """``(cell id, message id)`` of the cell the kernel is executing now, or ``None``.

    Only on the main thread, and only while the shell's parent message is an ``execute_request``
    carrying ``metadata.cellId`` (a widget made by a comm message's callback is no cell's).
    """
    shell = _shell() if shell is None else shell
    if shell is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = getattr(shell, "parent_header", None)
    if not isinstance(parent, dict):
        return None
    header, metadata = parent.get("header") or {}, parent.get("metadata") or {}
    cell, message = metadata.get("cellId"), header.get("msg_id")
    if header.get("msg_type") != "execute_request" or not isinstance(cell, str) or not cell or not message:
        return None
    return cell, str(message)


def _close_earlier_run(cell: str, message: str) -> int:
    """Close the widgets of ``cell``'s runs other than ``message``; how many were closed."""
    entry = _registry.get(cell)
    if entry is None or entry[0] == message:
        return 0
    del _registry[cell]
    closed = 0
    for ref in entry[1]:
        widget = ref()
        if widget is None:
            continue
        try:
            widget.close()
            closed += 1
        except Exception:  # one widget failing to close must not stop the new run
            continue
    return closed


def _pre_run_cell(*_info: Any) -> None:
    run = current_run()
    if run is not None:
        _close_earlier_run(*run)


def _hook(shell: Any) -> None:
    """Register :func:`_pre_run_cell` on ``shell``'s events, once per shell."""
    if shell in _hooked:
        return
    events = getattr(shell, "events", None)
    if events is None:
        return
    events.register("pre_run_cell", _pre_run_cell)
    _hooked.add(shell)


def track(widget: Any) -> str | None:
    """Close ``widget`` (call its ``close()``) when the cell now running is run again.

    Returns the cell id it was tied to, or ``None`` when no cell with an id is running (then
    nothing is done). Safe to call more than once for the same widget; it keeps no strong
    reference, so a widget closed and dropped earlier is simply skipped.
    """
    shell = _shell()
    run = current_run(shell)
    if run is None:
        return None
    cell, message = run
    try:
        _hook(shell)
    except Exception:  # without the event, the next tracked widget still closes them
        pass
    _close_earlier_run(cell, message)
    refs = _registry.setdefault(cell, (message, []))[1]
    if not any(ref() is widget for ref in refs):
        refs[:] = [ref for ref in refs if ref() is not None]
        refs.append(weakref.ref(widget))
    return cell


def tracked(cell: str) -> list[Any]:
    """The live widgets tracked for ``cell``'s latest run (for tests and diagnostics)."""
    entry = _registry.get(cell)
    return [] if entry is None else [w for w in (ref() for ref in entry[1]) if w is not None]
