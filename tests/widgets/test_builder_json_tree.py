"""The response tree is clickable: a field clicked in it is picked in steps 2–4 (the state decides).

The front end (``_jsontree.js``) sets the tree's ``picked`` traitlet to the clicked field's path;
these tests set it the same way and check what the builder made of it.
"""

from __future__ import annotations

import anywidget
import ipywidgets as widgets
import pytest

from twibox_nb.fetch.connection import connect
from twibox_nb.model.spec import Count, Field
from twibox_nb.widgets import _jsontree
from twibox_nb.widgets.builder import MetricBuilder

from ..conftest import NOW


@pytest.fixture
def builder(sandbox):
    b = MetricBuilder(connect(sandbox=sandbox), now=NOW)
    b.request.endpoint.value = "Messages"
    b.continue_button.click()
    assert b.state.step == "value"
    return b


def click(builder: MetricBuilder, path: str) -> None:
    """What the front end does when a field is clicked: set ``picked`` (the kernel resets it)."""
    builder.response_tree.picked = path
    assert builder.response_tree.picked == ""  # consumed: the same field can be picked again


def test_the_tree_is_an_anywidget_with_its_javascript_in_the_package(builder):
    tree = builder.response_tree
    assert isinstance(tree, anywidget.AnyWidget) and "twibox-builder-response-tree" in tree._dom_classes
    assert "export default" in tree._esm and "http" not in tree._esm  # nothing fetched at runtime
    assert 'data-field="price"' in tree.value and 'data-field="status"' in tree.value
    assert tree.pickable  # step 2 takes picks
    assert "click a field in the tree" in builder.response_status.value


def test_clicking_fields_picks_the_value_dimension_and_date(builder):
    click(builder, "price")  # a number sent as text: a usable value
    assert builder.state.value == Field("price") and builder.value_step.choices.value == Field("price")
    click(builder, "status")  # text: explained, not accepted; no value until a usable one (issue 15)
    assert builder.state.value is None and builder.state.refused("value")[0] == Field("status")
    assert "✗" in builder.value_step.note.value and "status" in builder.value_step.note.value
    builder.value_step.pick(Count())
    builder.continue_button.click()

    click(builder, "status")
    assert builder.state.dimension == Field("status") and builder.dimension_step.choices.value == Field("status")
    assert "delivered" in builder.dimension_step.values.value
    builder.continue_button.click()

    click(builder, "body")  # not a date: explained, the default stays
    assert builder.state.date is None and "✗" in builder.date_step.note.value
    click(builder, "date_created")
    assert builder.state.date == Field("date_created")
    assert "2026" in builder.date_step.note.value

    spec = builder.spec
    assert (spec.value, spec.dimension, spec.date) == (Count(), Field("status"), Field("date_created"))


def test_clicks_count_only_in_the_steps_that_pick_fields(builder):
    builder.back_button.click()
    assert builder.state.step == "request" and not builder.response_tree.pickable
    click(builder, "price")
    assert builder.state.value != Field("price")
    builder.continue_button.click()
    assert builder.response_tree.pickable


def test_without_anywidget_the_tree_is_plain_html(monkeypatch, sandbox):
    monkeypatch.setattr(_jsontree, "JsonTree", None)
    b = MetricBuilder(connect(sandbox=sandbox), now=NOW)
    b.request.endpoint.value = "Messages"
    b.continue_button.click()
    assert type(b.response_tree) is widgets.HTML and "twibox-json-tree" in b.response_tree.value
    b.value_step.pick(Field("price"))  # the list still picks
    assert b.state.value == Field("price")


def test_the_expression_editor_is_a_highlighting_anywidget_that_marks_errors():
    from twibox_nb.widgets._codeeditor import ESM, CodeEditor, code_editor_widget

    editor = code_editor_widget()
    assert isinstance(editor, CodeEditor) and "twibox-tok-error" in ESM.read_text()
    assert editor._esm == ESM.read_text(encoding="utf-8")  # shipped in the package, nothing fetched
    assert (editor.value, editor.error_position, editor.disabled) == ("", -1, False)
