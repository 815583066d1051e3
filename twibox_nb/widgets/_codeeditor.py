"""The JSONata editor of the builder's preview step: highlighted, with the error position marked.

An anywidget whose hand-written JavaScript (``_codeeditor.js`` beside this module) ships in the
package, so nothing is fetched or built. ``value`` is the text (sent when the field loses focus,
like a ``Textarea`` with ``continuous_update=False``); ``error_position`` is the character offset
of a compile error (-1 for none), drawn with a red underline. Without anywidget, a plain
``Textarea`` takes its place.
"""

from __future__ import annotations

from pathlib import Path

import ipywidgets as widgets
import traitlets

try:
    import anywidget
except ImportError:  # pragma: no cover - anywidget is a dependency; this keeps a broken install usable
    anywidget = None

ESM = Path(__file__).with_name("_codeeditor.js")

if anywidget is not None:

    class CodeEditor(anywidget.AnyWidget):
        """A highlighted JSONata editor (``value``, ``error_position``, ``disabled`` while busy)."""

        _esm = ESM.read_text(encoding="utf-8")
        value = traitlets.Unicode("").tag(sync=True)
        error_position = traitlets.Int(-1).tag(sync=True)
        disabled = traitlets.Bool(False).tag(sync=True)

else:  # pragma: no cover
    CodeEditor = None  # type: ignore[assignment,misc]


def code_editor_widget() -> widgets.DOMWidget:
    """A :class:`CodeEditor`, or a plain ``Textarea`` where anywidget is unavailable."""
    if CodeEditor is not None:
        return CodeEditor()
    return widgets.Textarea(rows=4, layout=widgets.Layout(width="720px"), continuous_update=False)
