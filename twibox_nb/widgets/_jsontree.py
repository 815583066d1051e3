"""A response body as a collapsible tree of HTML ``<details>`` (no JavaScript, works everywhere).

The tree is widget state, so it is bounded whatever the page (1000 records, thousands of keys,
deep nesting): the first items of each list, the first keys of each object, strings cut, and about
:data:`MAX_BYTES` of HTML in all; what is left out is counted in "… N more not shown" markers.
A :class:`JsonTree` given the body with :meth:`JsonTree.show` keeps it in the kernel and sends the
next items of a marker when the page asks (a custom message, never state).
Every node carries ``data-path`` (from the body's root) and, inside
a record, ``data-field`` (the dotted field path the builder's steps use), so the clickable tree
(:class:`JsonTree`, an anywidget whose hand-written JavaScript is ``_jsontree.js`` next to this
module) picks fields from the same markup: clicking a field sets its ``picked`` traitlet to the
field's path. Where anywidget is not installed, :func:`json_tree_widget` falls back to a plain
``HTML`` widget showing the same tree (not clickable).

>>> html = json_tree_html({"meta": {"key": "alerts"}, "alerts": [{"sid": "NO1", "error_code": "11200"}]})
>>> 'data-field="error_code"' in html and "twibox-json-tree" in html
True
"""

from __future__ import annotations

import html as _html
import json
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import traitlets

from ..model.records import find_records

MAX_BYTES = 100_000  # about this much HTML at most, whatever the page: the tree is widget state

STYLE = """<style>
.twibox-json-tree{font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace;max-height:420px;overflow:auto;
 border:1px solid #d0d7de;border-radius:6px;padding:6px 10px;background:#f6f8fa}
.twibox-json-tree details>div,.twibox-json-tree details>details{margin-left:1.2em}
.twibox-json-tree summary{cursor:pointer}
.twibox-json-key{color:#0550ae}.twibox-json-string{color:#0a3069}.twibox-json-number{color:#953800}
.twibox-json-boolean,.twibox-json-null{color:#8250df}.twibox-json-more,.twibox-json-count{color:#57606a}
</style>"""


def _esc(value: Any) -> str:
    return _html.escape(str(value), quote=True)


def _leaf(value: Any, max_string: int) -> str:
    if value is None:
        return "<span class='twibox-json-null'>null</span>"
    if isinstance(value, bool):
        return f"<span class='twibox-json-boolean'>{'true' if value else 'false'}</span>"
    if isinstance(value, (int, float)):
        return f"<span class='twibox-json-number'>{_esc(json.dumps(value))}</span>"
    text = str(value)
    if len(text) > max_string:
        text = text[: max_string - 1] + "…"
    return f"<span class='twibox-json-string'>{_esc(json.dumps(text, ensure_ascii=False))}</span>"


def _attrs(path: str, field: str | None) -> str:
    out = f' data-path="{_esc(path)}"'
    return out + (f' data-field="{_esc(field)}"' if field else "")


def _path(steps: tuple[str | int, ...]) -> str:
    """``messages[3].subresource_uris``: the steps as the tree's ``data-path`` shows them."""
    out = ""
    for step in steps:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


class _Tree:
    """Renders nodes within limits: items per list, keys per object, depth, and bytes in all."""

    def __init__(self, body: Any, max_items: int, max_string: int, max_bytes: int) -> None:
        self.max_items, self.max_string = max_items, max_string
        self.max_keys, self.max_depth = max(max_items, 100), 24
        self.left = max_bytes
        list_key, records = find_records(body)
        # The steps of the records list, and whether the body is itself the record (an instance).
        self.records: tuple[str | int, ...] | None = (
            (list_key,) if list_key is not None else (() if isinstance(body, list) else None)
        )
        self.instance = isinstance(body, dict) and list_key is None and records == [body]

    def field(self, steps: tuple[str | int, ...]) -> str | None:
        """The dotted field path of a node inside a record; None outside records, "" for a record."""
        if self.instance:
            inside = steps
        elif self.records is not None and steps[: len(self.records)] == self.records and len(steps) > len(self.records):
            if not isinstance(steps[len(self.records)], int):
                return None
            inside = steps[len(self.records) + 1 :]
        else:
            return None
        if any(isinstance(s, int) or len(s) >= self.max_string for s in inside):
            return None  # a list inside a record, or a key too long to show: nothing to pick
        return ".".join(inside)  # type: ignore[arg-type]

    def key(self, key: str) -> str:
        return key if len(key) < self.max_string else key[: self.max_string - 1] + "…"

    def node(self, label: str | int | None, value: Any, steps: tuple[str | int, ...], opened: bool = False) -> str:
        field = self.field(steps)
        text = "" if label is None else f"<span class='twibox-json-key'>{_esc(label)}</span>: "
        if not isinstance(value, (dict, list)):
            leaf = _leaf(value, self.max_string)
            out = f"<div class='twibox-json-leaf'{_attrs(_path(steps), field)}>{text}{leaf}</div>"
            self.left -= len(out)
            return out
        noun = "key" if isinstance(value, dict) else "item"
        count = f"{len(value):,} {noun}{'' if len(value) == 1 else 's'}"
        count = f"{{{count}}}" if isinstance(value, dict) else f"[{count}]"
        is_records = steps == self.records
        head = (
            f"<details class='twibox-json-node'{' open' if opened or is_records else ''}{_attrs(_path(steps), field)}>"
            f"<summary>{text}<span class='twibox-json-count'>{count}</span></summary>"
        )
        self.left -= len(head) + 10
        if len(steps) >= self.max_depth:
            return f"{head}{self.more(steps, 0, len(value))}</details>"
        return f"{head}{self.children(value, steps, 0, is_records)}</details>"

    def children(self, value: dict | list, steps: tuple[str | int, ...], start: int, is_records: bool = False) -> str:
        """The children of ``value`` from ``start``, while the limits allow, then a "more" marker."""
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        limit = self.max_keys if isinstance(value, dict) else self.max_items
        parts, index = [], start
        for index in range(start, min(len(items), start + limit)):
            if self.left <= 0:
                break
            key, item = items[index]
            step = self.key(key) if isinstance(value, dict) else key
            parts.append(self.node(step, item, (*steps, step), opened=is_records and index == 0))
        else:
            index = min(len(items), start + limit)
        return "".join(parts) + self.more(steps, index, len(items))

    def more(self, steps: tuple[str | int, ...], shown: int, total: int) -> str:
        """``… N more not shown``, naming where they are so the front end can ask for them."""
        rest = total - shown
        if rest <= 0:
            return ""
        where = _esc(json.dumps(list(steps), ensure_ascii=False))
        return f"<div class='twibox-json-more' data-more='{where}' data-from='{shown}'>… {rest:,} more not shown</div>"


def json_tree_html(body: Any, *, max_items: int = 10, max_string: int = 160, max_bytes: int = MAX_BYTES) -> str:
    """The body as nested ``<details>``: the root, the records list and its first record open.

    At most ``max_items`` items of a list (100 keys of an object) are shown, strings are cut at
    ``max_string`` characters, and rendering stops after about ``max_bytes`` of HTML, whatever the
    size or shape of the body; what is left out is counted in a "… N more not shown" marker.
    """
    tree = _Tree(body, max_items, max_string, max_bytes)
    if isinstance(body, dict):
        inner = tree.children(body, (), 0)
    else:
        inner = tree.node(None, body, (), opened=True)
    return f"{STYLE}<div class='twibox-json-tree'>{inner}</div>"


def more_html(body: Any, steps: list[str | int], start: int, *, max_items: int = 10, max_string: int = 160) -> str:
    """The next items of the list (or keys of the object) at ``steps``, from ``start``, as tree nodes.

    What a "more" marker of :func:`json_tree_html` asks for; "" when ``steps`` names no list or
    object of ``body``. Bounded like the tree itself.

    >>> page = {"messages": [{"sid": f"SM{i}"} for i in range(25)]}
    >>> html = more_html(page, ["messages"], 10)
    >>> 'data-path="messages[10]"' in html and 'data-path="messages[19]"' in html, "5 more" in html
    (True, True)
    """
    tree = _Tree(body, max_items, max_string, MAX_BYTES)
    node: Any = body
    for step in steps:
        try:
            node = node[step] if isinstance(node, list) and isinstance(step, int) else dict(node)[step]
        except (KeyError, IndexError, TypeError, ValueError):
            return ""  # a key cut for display, or a body that changed meanwhile
    if not isinstance(node, (dict, list)) or not isinstance(start, int) or start < 0:
        return ""
    return tree.children(node, tuple(steps), start, is_records=False)


try:  # anywidget makes the tree clickable; without it the same tree is shown, not clickable
    import anywidget
except ImportError:  # pragma: no cover - anywidget is a dependency; this keeps a broken install usable
    anywidget = None

ESM = Path(__file__).with_name("_jsontree.js")

if anywidget is not None:

    class JsonTree(anywidget.AnyWidget):
        """The tree as an anywidget: ``value`` is its HTML; a click on a field sets ``picked``.

        Clicks only count while ``pickable`` is true; the kernel reads ``picked`` and resets it
        to ``""`` (so the same field can be picked again in another step). :meth:`show` keeps the
        body in the kernel (never in the state) and lets the page ask for what the tree left out:
        a "show more" button on each "… N more not shown" marker sends ``{"type": "more"}`` and
        gets the next items as a message (not state, so nothing of it is saved).
        """

        _esm = ESM.read_text(encoding="utf-8")
        value = traitlets.Unicode("").tag(sync=True)
        picked = traitlets.Unicode("").tag(sync=True)
        pickable = traitlets.Bool(False).tag(sync=True)
        expandable = traitlets.Bool(False).tag(sync=True)

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._body: Any = None
            self._shown = ""
            self.on_msg(self._on_message)

        def show(self, body: Any) -> None:
            """Show ``body`` (bounded: :func:`json_tree_html`) and answer the page's asks for more of it."""
            html = json_tree_html(body)
            self._body, self._shown = body, html
            self.expandable = True
            self.value = html

        @traitlets.observe("value")
        def _value_set(self, change: Any) -> None:
            if change["new"] != self._shown:  # HTML set directly: no body to take more items from
                self._body, self._shown, self.expandable = None, "", False

        def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
            """Answer ``{"type": "more", "steps": [...], "from": n, "ask": id}`` with the next items."""
            if not isinstance(content, dict) or content.get("type") != "more" or self._body is None:
                return
            steps, start = content.get("steps"), content.get("from")
            ok = isinstance(steps, list) and all(isinstance(s, (str, int)) for s in steps) and isinstance(start, int)
            html = more_html(self._body, steps, start) if ok else ""
            self.send({"type": "more", "ask": content.get("ask"), "html": html})

else:  # pragma: no cover
    JsonTree = None  # type: ignore[assignment,misc]


def json_tree_widget() -> widgets.DOMWidget:
    """A clickable :class:`JsonTree`, or an ``HTML`` widget where anywidget is unavailable."""
    return JsonTree() if JsonTree is not None else widgets.HTML()
