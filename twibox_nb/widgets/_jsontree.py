"""A response body as a collapsible tree of HTML ``<details>`` (no JavaScript, works everywhere).

Long lists show their first items only (a page of 1000 records would make megabytes of widget
state); long strings are cut. Every node carries ``data-path`` (from the body's root) and, inside
a record, ``data-field`` (the dotted field path the builder's steps use), so a later clickable
tree can pick fields from the same markup.

>>> html = json_tree_html({"meta": {"key": "alerts"}, "alerts": [{"sid": "NO1", "error_code": "11200"}]})
>>> 'data-field="error_code"' in html and "twibox-json-tree" in html
True
"""

from __future__ import annotations

import html as _html
import json
from typing import Any

from ..records import find_records

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
