"""The evaluate folder after its split: modules with one job each, no leftover shim, one warning hierarchy."""

from __future__ import annotations

import importlib
import warnings

import pytest

from twibox_nb._exceptions import TwiboxWarning

# The modules expression.py was split into, in the order a generated expression is built.
SPLIT = ("jsonata_ast", "rows", "compiled", "generated", "custom")


@pytest.mark.parametrize("name", SPLIT)
def test_each_module_says_what_it_is_for_and_lists_what_it_offers(name):
    module = importlib.import_module(f"twibox_nb.evaluate.{name}")
    assert module.__doc__ and module.__doc__.strip()
    # constants, then classes, then functions, each alphabetical (as expression.py's __all__ was)
    assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), n[0].islower(), n))
    for public in module.__all__:
        value = getattr(module, public)
        if isinstance(value, type) or callable(value):
            assert value.__module__ == module.__name__, public  # defined here, not re-exported


def test_each_public_name_has_one_home():
    homes: dict[str, str] = {}
    for name in SPLIT:
        for public in importlib.import_module(f"twibox_nb.evaluate.{name}").__all__:
            assert public not in homes, (public, homes.get(public), name)
            homes[public] = name
    assert {"generate", "Selection", "custom_expression", "render", "compile_python", "rows_from_result"} <= set(homes)


def test_the_old_module_is_gone():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("twibox_nb.evaluate.expression")


def test_the_slow_engine_warning_is_a_twibox_warning():
    from twibox_nb.evaluate.engines import SlowEngineWarning

    assert issubclass(SlowEngineWarning, TwiboxWarning) and issubclass(SlowEngineWarning, UserWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", TwiboxWarning)  # filtering the base class reaches it
        warnings.warn("slow", SlowEngineWarning, stacklevel=1)
    assert [w.category for w in caught] == [SlowEngineWarning]
