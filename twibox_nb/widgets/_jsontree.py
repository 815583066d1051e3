"""A response body as a collapsible tree of HTML ``<details>`` (no JavaScript, works everywhere).

Long lists show their first items only (a page of 1000 records would make megabytes of widget
state); long strings are cut. Every node carries ``data-path`` (from the body's root) and, inside
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


def _child(field: str | None, key: str) -> str | None:
    """The field path of a key inside a record (None outside records; "" is the record itself)."""
    if field is None:
        return None
    return f"{field}.{key}" if field else key


def _node(  # noqa: PLR0917
    key: str | None,
    value: Any,
    path: str,
    field: str | None,
    depth: int,
    opened: bool,
    records_path: str | None,
    options: dict[str, int],
) -> str:
    label = "" if key is None else f"<span class='twibox-json-key'>{_esc(key)}</span>: "
    if not isinstance(value, (dict, list)):
        return f"<div class='twibox-json-leaf'{_attrs(path, field)}>{label}{_leaf(value, options['max_string'])}</div>"
    if isinstance(value, dict):
        count = f"{{{len(value)} key{'' if len(value) == 1 else 's'}}}"
        children = [
            _node(k, v, f"{path}.{k}" if path else k, _child(field, k), depth + 1, False, records_path, options)
            for k, v in value.items()
        ]
        more = ""
    else:
        shown = value[: options["max_items"]]
        count = f"[{len(value):,} item{'' if len(value) == 1 else 's'}]"
        is_records = path == records_path
        children = [
            _node(
                f"{i}", item, f"{path}[{i}]", "" if is_records else None, depth + 1,
                is_records and i == 0, records_path, options,
            )
            for i, item in enumerate(shown)
        ]  # fmt: skip
        rest = len(value) - len(shown)
        more = f"<div class='twibox-json-more'>… {rest:,} more not shown</div>" if rest > 0 else ""
    is_open = " open" if opened or path == records_path else ""
    return (
        f"<details class='twibox-json-node'{is_open}{_attrs(path, field)}><summary>{label}"
        f"<span class='twibox-json-count'>{count}</span></summary>{''.join(children)}{more}</details>"
    )


def json_tree_html(body: Any, *, max_items: int = 10, max_string: int = 160) -> str:
    """The body as nested ``<details>``: the root, the records list and its first record open."""
    list_key, records = find_records(body)
    if list_key is not None:
        records_path: str | None = list_key
    elif isinstance(body, list):
        records_path = ""
    else:
        records_path = None
    options = {"max_items": max_items, "max_string": max_string}
    if isinstance(body, dict) and list_key is None and records == [body]:
        # An instance (Balance): the body is the record, so its keys are the fields.
        inner = "".join(_node(k, v, k, k, 1, False, None, options) for k, v in body.items())
    elif isinstance(body, dict):
        inner = "".join(_node(k, v, k, None, 1, False, records_path, options) for k, v in body.items())
    else:
        inner = _node(None, body, "", None, 0, True, records_path, options)
    return f"{STYLE}<div class='twibox-json-tree'>{inner}</div>"


try:  # anywidget makes the tree clickable; without it the same tree is shown, not clickable
    import anywidget
except ImportError:  # pragma: no cover - anywidget is a dependency; this keeps a broken install usable
    anywidget = None

ESM = Path(__file__).with_name("_jsontree.js")

if anywidget is not None:

    class JsonTree(anywidget.AnyWidget):
        """The tree as an anywidget: ``value`` is its HTML; a click on a field sets ``picked``.

        Clicks only count while ``pickable`` is true; the kernel reads ``picked`` and resets it
        to ``""`` (so the same field can be picked again in another step).
        """

        _esm = ESM.read_text(encoding="utf-8")
        value = traitlets.Unicode("").tag(sync=True)
        picked = traitlets.Unicode("").tag(sync=True)
        pickable = traitlets.Bool(False).tag(sync=True)

else:  # pragma: no cover
    JsonTree = None  # type: ignore[assignment,misc]


def json_tree_widget() -> widgets.DOMWidget:
    """A clickable :class:`JsonTree`, or an ``HTML`` widget where anywidget is unavailable."""
    return JsonTree() if JsonTree is not None else widgets.HTML()
