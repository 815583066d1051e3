"""The builder's response tree is light: its widget state is bounded whatever the page (issue 15).

A first page of 1000 messages is about 1 MB of JSON; the tree ships a bounded view of it (the
first records whole, counts of the rest) and the page asks for more on demand, by message.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest

from twibox_nb.sandbox import Sandbox
from twibox_nb.widgets._jsontree import MAX_BYTES, JsonTree, json_tree_html, more_html

NOW = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def page_of_1000() -> dict:
    sandbox = Sandbox(seed=7, scale=30, now=NOW)
    c = sandbox.credentials
    with httpx.Client(transport=sandbox.transport(), auth=(c.api_key, c.api_secret)) as http:
        url = f"https://api.twilio.com/2010-04-01/Accounts/{c.account_sid}/Messages.json"
        page = http.get(url, params={"PageSize": 1000}).json()
    assert len(page["messages"]) == 1000
    return page


def state_bytes(widget) -> int:
    state = widget.get_state()
    return len(json.dumps({k: v for k, v in state.items() if k != "_esm"}))


def sent(tree: JsonTree, monkeypatch) -> list:
    messages: list = []
    monkeypatch.setattr(tree, "send", lambda content, buffers=None: messages.append(content))
    return messages


def test_a_page_of_1000_records_makes_a_small_bounded_state(page_of_1000):
    tree = JsonTree()
    tree.show(page_of_1000)
    raw, size = len(json.dumps(page_of_1000)), state_bytes(tree)
    print(f"\n1000-record page: {raw:,} bytes of JSON, tree state {size:,} bytes ({raw / size:.0f}x smaller)")
    assert size <= MAX_BYTES + 10_000 and size * 10 < raw
    assert 'data-path="messages[9]"' in tree.value and 'data-path="messages[10]"' not in tree.value
    assert "990 more not shown" in tree.value
    assert 'data-field="price"' in tree.value and 'data-field="subresource_uris.media"' in tree.value
    assert tree.expandable


@pytest.mark.parametrize(
    "shape",
    [
        {"messages": [{f"field_{i}": i for i in range(20_000)}]},  # a record with 20,000 keys
        {"messages": [{"body": "x" * 5_000_000}] * 3},  # 5 MB strings
        {"messages": [{"k" * 1_000_000: 1}]},  # a 1 MB key
        [[[[[[[[1] * 10] * 10] * 10] * 10] * 10] * 10] * 10],  # 10 million leaves, 10 to a list
        json.loads("[" * 500 + "1" + "]" * 500),  # 500 levels
        {"messages": list(range(1_000_000))},
    ],
    ids=["wide-record", "long-strings", "long-key", "ten-million-leaves", "500-levels", "million-items"],
)
def test_the_tree_is_bounded_whatever_the_shape(shape):
    html = json_tree_html(shape)
    print(f"\n{len(html):,} bytes of tree")
    assert len(html) <= MAX_BYTES + 10_000
    assert "more not shown" in html or "…" in html  # what was left out is said, or a text cut


def test_show_more_sends_the_next_items_as_a_message(page_of_1000, monkeypatch):
    tree = JsonTree()
    tree.show(page_of_1000)
    messages = sent(tree, monkeypatch)
    before = tree.get_state()
    tree._on_message(tree, {"type": "more", "steps": ["messages"], "from": 10, "ask": "1"}, [])
    (answer,) = messages
    assert answer["type"] == "more" and answer["ask"] == "1"
    assert 'data-path="messages[10]"' in answer["html"] and 'data-path="messages[19]"' in answer["html"]
    assert 'data-path="messages[20]"' not in answer["html"] and "980 more not shown" in answer["html"]
    assert "data-more='[&quot;messages&quot;]' data-from='20'" in answer["html"]  # the next marker asks from 20
    assert 'data-field="status"' in answer["html"]  # the items shown later are pickable too
    assert len(answer["html"]) <= MAX_BYTES + 10_000
    assert tree.get_state() == before  # a message, not state: nothing of it is saved with the notebook

    tree._on_message(tree, {"type": "more", "steps": ["messages", 10, "subresource_uris"], "from": 0, "ask": "2"}, [])
    assert 'data-field="subresource_uris.media"' in messages[-1]["html"]
    for bad in (["nope"], ["messages", "x"], ["messages", 10_000], "messages"):
        tree._on_message(tree, {"type": "more", "steps": bad, "from": 0, "ask": "3"}, [])
        assert messages[-1]["html"] == ""


def test_html_set_directly_has_no_body_to_show_more_of(page_of_1000, monkeypatch):
    tree = JsonTree()
    tree.show(page_of_1000)
    tree.value = json_tree_html({"calls": [{"sid": "CA1"}]})
    assert not tree.expandable
    messages = sent(tree, monkeypatch)
    tree._on_message(tree, {"type": "more", "steps": ["messages"], "from": 10, "ask": "1"}, [])
    assert messages == []


def test_more_of_an_instance_keeps_its_fields():
    balance = {"account_sid": "AC1", "balance": "1.00", "extra": {f"k{i}": i for i in range(150)}}
    html = json_tree_html(balance)
    assert 'data-field="balance"' in html and 'data-field="extra.k99"' in html and "50 more not shown" in html
    assert 'data-field="extra.k120"' in more_html(balance, ["extra"], 100)
