"""The package's front door and its layering."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
import types
from pathlib import Path

import twibox_nb

from ..conftest import REPO


def test_all_is_explicit_alphabetical_and_importable():
    assert twibox_nb.__all__ == sorted(twibox_nb.__all__)
    for name in twibox_nb.__all__:
        assert hasattr(twibox_nb, name), name
    assert twibox_nb.sandbox.__all__ == sorted(twibox_nb.sandbox.__all__)


def test_every_public_name_is_in_all():
    """As httpx does: whatever the front door offers that is not a module is listed in ``__all__``."""
    public = {
        name
        for name in dir(twibox_nb)
        if not name.startswith("_") and not isinstance(getattr(twibox_nb, name), types.ModuleType)
    }
    assert public - set(twibox_nb.__all__) == set()
    assert {"alerts", "library", "sandbox"} <= set(dir(twibox_nb))  # the public modules: tb.alerts, tb.library …


def test_version_matches_pyproject():
    pyproject = (REPO / "pyproject.toml").read_text()  # (tomllib is 3.11+; the package supports 3.10)
    assert twibox_nb.__version__ == re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert 'name = "twibox-nb"' in pyproject and 'requires-python = ">=3.10"' in pyproject


def test_ships_py_typed():
    assert (Path(twibox_nb.__file__).parent / "py.typed").is_file()


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(twibox_nb.__path__, "twibox_nb."):
        if ".widgets" not in info.name and not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_core_modules_import_without_ipywidgets_or_ipython():
    """Nothing outside widgets/ may import ipywidgets or IPython (DESIGN.md, layering)."""
    modules = core_modules()
    assert "twibox_nb.sandbox.app" in modules
    script = (
        "import sys, importlib\n"
        "sys.modules['ipywidgets'] = None\n"
        # anywidget needs ipywidgets, so it is absent too where ipywidgets is (Altair imports it if present).
        "sys.modules['anywidget'] = None\n"
        "sys.modules['IPython'] = None\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('ok', len(sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_code_is_ruff_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "twibox_nb", "tests", "benchmarks"],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
