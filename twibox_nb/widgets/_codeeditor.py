"""The JSONata editor of the builder's preview step, and the button that copies code to the clipboard.

Anywidgets whose hand-written JavaScript (``_codeeditor.js`` beside this module, one module for
both) ships in the package, so nothing is fetched or built.

:class:`CodeEditor`: ``value`` is the text (sent when the field loses focus, like a ``Textarea``
with ``continuous_update=False``), ``draft`` the text as typed (sent as the user types, so the
step can say "Customised" at once); ``error_position`` is the character offset of a compile
error (-1 for none), drawn with a red underline. Without anywidget, a plain ``Textarea`` takes
its place.

:class:`CopyButton`: a click puts ``text`` on the clipboard with the browser's Clipboard API
(the kernel cannot reach the user's clipboard) and says "Copied", or why not (a page served
over plain http from another host may not copy); ``status`` tells the kernel the same.
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
        draft = traitlets.Unicode("").tag(sync=True)
        error_position = traitlets.Int(-1).tag(sync=True)
        disabled = traitlets.Bool(False).tag(sync=True)

    class CopyButton(anywidget.AnyWidget):
        """A button that copies ``text`` to the clipboard in the browser (``status``: "copied" or why not)."""

        _esm = ESM.read_text(encoding="utf-8")
        _role = traitlets.Unicode("copy").tag(sync=True)  # the module renders a copy button, not an editor
        # The label stays on one line beside a long status ("Not copied: …"), inside a builder or not.
        _css = ".twibox-copy button.twibox-copy-button {white-space: nowrap; flex-shrink: 0}"
        text = traitlets.Unicode("").tag(sync=True)
        label = traitlets.Unicode("Copy").tag(sync=True)
        status = traitlets.Unicode("").tag(sync=True)
        disabled = traitlets.Bool(False).tag(sync=True)

else:  # pragma: no cover
    CodeEditor = None  # type: ignore[assignment,misc]
    CopyButton = None  # type: ignore[assignment,misc]


def code_editor_widget() -> widgets.DOMWidget:
    """A :class:`CodeEditor`, or a plain ``Textarea`` where anywidget is unavailable."""
    if CodeEditor is not None:
        return CodeEditor()
    return widgets.Textarea(rows=4, layout=widgets.Layout(width="720px"), continuous_update=False)


def copy_button_widget(text: str = "", label: str = "Copy") -> widgets.DOMWidget | None:
    """A :class:`CopyButton` (None where anywidget is unavailable: the text can still be selected)."""
    if CopyButton is None:  # pragma: no cover
        return None
    return CopyButton(text=text, label=label)


def code_block_html(text: str, intro: str, escape) -> str:
    """``text`` as a selectable code block under a one-line ``intro`` (``escape`` makes text HTML-safe)."""
    return (
        f"<div style='color:#57606a;font-size:12px'>{escape(intro)}</div>"
        f"<pre class='twibox-builder-code-text' style='background:#f6f8fa;border:1px solid #d0d7de;"
        f"border-radius:6px;padding:8px;user-select:text;max-height:320px;overflow:auto'>{escape(text)}</pre>"
    )
