"""Committed notebooks hold no credentials and no absolute paths: sources, outputs and widget state.

What counts as a leak: an API key SID beside a secret, a 32-hex auth token, the sandbox's own
demo secret and token, an ``Authorization`` header value, and absolute paths of someone's machine.
The scanner's own test plants each kind (in a cell, in an output, in saved widget state) and
checks that it is caught, so a scanner that stopped working would fail too.

Notebooks are saved without outputs, except the cells marked ``# NBVAL_CHECK_OUTPUT``: nbval
compares those with their saved outputs (after the sanitizers in ``notebooks/nbval_sanitize.cfg``),
so they are saved with them. A test runs nbval on a planted notebook to see such a check pass
through random ids and fail on a changed output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from twibox_nb.sandbox import DEMO_CREDENTIALS

from ..conftest import REPO

CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"
SANITIZERS = REPO / "notebooks" / "nbval_sanitize.cfg"
NOTEBOOKS = sorted([*REPO.glob("notebooks/**/*.ipynb"), *REPO.glob("tests/ui/notebooks/*.ipynb")])
PATTERNS = {
    "API key SID with a secret": re.compile(r"SK[0-9a-fA-F]{32}\W{1,6}[A-Za-z0-9]{32}"),
    "32-hex auth token": re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32}(?![0-9A-Za-z])"),
    "sandbox demo secret": re.compile(re.escape(DEMO_CREDENTIALS.api_secret)),
    "sandbox demo auth token": re.compile(re.escape(DEMO_CREDENTIALS.auth_token)),
    "Authorization header": re.compile(
        r"(?i)authorization[\"']?\s*[:=]\s*[\"']?(basic|bearer)\s+[A-Za-z0-9+/=._-]{8,}"
    ),
    "absolute path": re.compile(
        r"(?<![\w.~])(/(?:root|home|tmp|Users|var/folders|work|opt)/[^\s\"']+|[A-Za-z]:\\\\Users\\\\)"
    ),
}


def leaks(path: Path) -> list[str]:
    """Every leak in one notebook: the whole file is read (sources, outputs, metadata, widget state)."""
    text = path.read_text(encoding="utf-8")
    nbformat.reads(text, as_version=4)  # a notebook at all
    decoded = json.dumps(json.loads(text), ensure_ascii=False)  # escapes resolved the same way
    found = []
    for kind, pattern in PATTERNS.items():
        for body in {text, decoded}:
            match = pattern.search(body)
            if match:
                found.append(f"{kind}: {match.group(0)[:60]!r}")
                break
    return found


def test_notebooks_are_found():
    names = {p.name for p in NOTEBOOKS}
    assert "01-quickstart.ipynb" in names and len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_committed_notebook_holds_no_credentials_or_absolute_paths(path):
    assert leaks(path) == []


def planted(tmp_path: Path, where: str, text: str) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    if where == "source":
        cell.source = f"value = {text!r}"
    elif where == "output":
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    else:  # saved widget state, as JupyterLab writes it with "Save widget state automatically"
        nb.metadata["widgets"] = {
            "application/vnd.jupyter.widget-state+json": {
                "state": {"abc": {"model_name": "PasswordModel", "state": {"value": text}}},
                "version_major": 2,
                "version_minor": 0,
            }
        }
    nb.cells = [cell]
    target = tmp_path / f"{where}.ipynb"
    nbformat.write(nb, target)
    return target


@pytest.mark.parametrize("where", ["source", "output", "widget state"])
@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("API key SID with a secret", "SK" + "ab12" * 8 + ":" + "Zx9" * 10 + "Qw"),
        ("32-hex auth token", "token " + "0123456789abcdef" * 2),
        ("sandbox demo secret", DEMO_CREDENTIALS.api_secret),
        ("sandbox demo auth token", DEMO_CREDENTIALS.auth_token),
        ("Authorization header", "Authorization: Basic QUNmb286YmFyYmF6cXV4"),
        ("absolute path", "/home/analyst/secrets/metric.json"),
        ("absolute path", "saved to /tmp/pytest-of-root/board.html"),
    ],
)
def test_the_scanner_catches_each_kind_wherever_it_is(tmp_path, where, kind, text):
    found = leaks(planted(tmp_path, where, text))
    assert any(f.startswith(kind) for f in found), found


def test_ordinary_twilio_text_is_not_a_leak(tmp_path):
    text = (
        "GET https://api.twilio.com/2010-04-01/Accounts/AC" + "a" * 32 + "/Messages.json "
        "SM" + "b" * 32 + " price -0.00790 /v1/Alerts ~/.local/share/twibox_nb/store.sqlite3"
    )
    assert leaks(planted(tmp_path, "output", text)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_only_cells_marked_for_output_checking_are_saved_with_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith(CHECK_OUTPUT):
            # nbval only compares outputs of a cell saved as run (with an execution count).
            assert cell.outputs and cell.execution_count is not None, f"cell {index}: checked but saved without output"
        else:
            assert cell.outputs == [] and cell.execution_count is None, f"cell {index}: saved with outputs"


# An app notebook holds its app and nothing else (no asserts, no checks: a manager opens it); its
# tests live beside the app's code, which keeps the notebook's one cell equal to what `twibox app` serves.
APPS = {"06-dashboard-app.ipynb": ("tests/widgets/test_app.py", "tests/ui/test_app_voila.py")}


def test_every_notebook_checks_something():
    for name, tests in APPS.items():
        assert (REPO / "notebooks" / name).exists() and all((REPO / t).exists() for t in tests)
    for path in sorted(REPO.glob("notebooks/*.ipynb")):
        if path.name in APPS:
            continue
        sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        asserts = sum(bool(re.search(r"^\s*assert\b", s, re.M)) for s in sources)
        checked = sum(s.lstrip().startswith(CHECK_OUTPUT) for s in sources)
        assert asserts >= 2 or checked, f"{path.name} proves nothing: no asserting or output-checked cell"
    assert len(list(REPO.glob("notebooks/*.ipynb"))) == 6


def nbval(tmp_path: Path, saved: str) -> subprocess.CompletedProcess:
    """nbval, as the test command runs it, on one checked cell whose saved output is ``saved``."""
    code = (
        f"{CHECK_OUTPUT}\n"
        "import secrets, uuid\n"
        "print(f\"<div id='altair-viz-{secrets.token_hex(8)}'></div> at {hex(id(object()))}\")\n"
        "print(f\"IPY_MODEL_{uuid.uuid4().hex} model_id: '{uuid.uuid4().hex}'\")\n"
        "print('total:', 6 * 7)"
    )
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(code)
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=saved)]
    notebook.cells = [cell]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "checked.ipynb")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(tmp_path / "pytest.ini"), "-p", "no:cacheprovider", "-q",
         "--nbval-lax", "--nbval-sanitize-with", str(SANITIZERS), str(tmp_path / "checked.ipynb")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False, env={**os.environ},
    )  # fmt: skip


def test_an_output_check_passes_through_random_ids_and_fails_on_a_changed_output(tmp_path):
    saved = (
        "<div id='altair-viz-0123456789abcdef'></div> at 0x7f00deadbeef\n"
        f"IPY_MODEL_{'ab' * 16} model_id: '{'cd' * 16}'\n"
        "total: 42\n"
    )
    passed = nbval(tmp_path, saved)
    assert passed.returncode == 0, passed.stdout[-3000:]
    failed = nbval(tmp_path, saved.replace("total: 42", "total: 43"))
    assert failed.returncode == 1 and "Cell outputs differ" in failed.stdout, failed.stdout[-3000:]
