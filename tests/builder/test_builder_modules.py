"""The builder folder after its split: one module per step, each name in one home."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from twibox_nb._exceptions import ChoiceError, TwiboxError
from twibox_nb.builder.describe import DescribeStep
from twibox_nb.builder.field_steps import FieldSteps
from twibox_nb.builder.preview_step import PreviewStep
from twibox_nb.builder.request_step import ParamRow, RequestStep
from twibox_nb.builder.state import BuilderState

from ..conftest import REPO

BUILDER = REPO / "twibox_nb" / "builder"
# The modules state.py was split into, in the order of the steps, and what is left of it.
SPLIT = ("request_step", "field_steps", "preview_step", "describe", "state")


@pytest.mark.parametrize("name", SPLIT)
def test_each_module_says_what_it_is_for_and_defines_what_it_offers(name):
    module = importlib.import_module(f"twibox_nb.builder.{name}")
    assert module.__doc__ and module.__doc__.strip()
    for public in module.__all__:
        value = getattr(module, public)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__ == module.__name__, (public, value.__module__)


def test_each_public_name_has_one_home():
    homes: dict[str, str] = {}
    for name in SPLIT:
        for public in importlib.import_module(f"twibox_nb.builder.{name}").__all__:
            assert public not in homes, (public, homes.get(public), name)
            homes[public] = name
    assert {"BuilderState", "ParamRow", "FirstPage", "DESCRIBED", "describe_error", "search_endpoints"} <= set(homes)


def test_the_state_composes_the_steps_and_keeps_no_dead_code():
    assert BuilderState.__mro__[1:5] == (RequestStep, FieldSteps, PreviewStep, DescribeStep)
    assert not hasattr(BuilderState, "error_pointer")  # the widget points at errors with preview.point_at


def test_the_builders_choice_error_is_in_the_one_hierarchy():
    assert issubclass(ChoiceError, TwiboxError) and issubclass(ChoiceError, ValueError)
    assert ChoiceError.__module__ == "twibox_nb._exceptions"
    error = ChoiceError("value", "pick one")
    assert (str(error), error.step, error.detail) == ("value: pick one", "value", "pick one")
    for path in BUILDER.glob("*.py"):  # no exception class of the builder's own
        classes = [n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.ClassDef)]
        assert [c.name for c in classes if c.name.endswith("Error")] == [], path.name


def test_a_request_row_is_a_param_row():
    state = BuilderState()
    state.choose_endpoint("Messages")
    assert state.params and all(type(row) is ParamRow for row in state.params)
    assert state.add_row("headers", "Accept", "application/json") == 0 and type(state.headers[0]) is ParamRow
    for name in SPLIT:
        assert not hasattr(importlib.import_module(f"twibox_nb.builder.{name}"), "Row"), name
