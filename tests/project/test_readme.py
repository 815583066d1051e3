"""Every Python snippet in the README runs as pasted, on the sandbox, on any date.

Each ```python block runs on its own, in a fresh Python process whose working directory is an empty
temporary folder (so the files a snippet saves land there) and whose metric store and cache point
into it too. A snippet that uses a name it does not define, or that breaks on another date, fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from ..conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = [
    (README.count("\n", 0, match.start()) + 2, match.group(1))
    for match in re.finditer(r"^```python\n(.*?)^```", README, re.S | re.M)
]
# Run a block as a notebook would: each top-level expression is evaluated (reprs and displays are
# computed, so a broken repr fails too), with no display to show it on.
RUNNER = textwrap.dedent(
    """
    import ast, sys
    source, name = sys.stdin.read(), sys.argv[1]
    namespace = {"__name__": "__main__"}
    for node in ast.parse(source, name).body:
        if isinstance(node, ast.Expr):
            value = eval(compile(ast.Expression(node.value), name, "eval"), namespace)
            for method in ("_repr_mimebundle_", "_repr_html_"):
                if hasattr(value, method):
                    getattr(value, method)()
                    break
            else:
                repr(value)
        else:
            exec(compile(ast.Module([node], []), name, "exec"), namespace)
    print("ran", name)
    """
)


def test_the_readme_has_python_snippets():
    assert len(BLOCKS) >= 6, [line for line, _ in BLOCKS]


@pytest.mark.parametrize(("line", "code"), BLOCKS, ids=[f"line-{line}" for line, _ in BLOCKS])
def test_a_readme_snippet_runs_as_pasted(line, code, tmp_path):
    env = {**os.environ, "TWIBOX_STORE": str(tmp_path / "store.sqlite3"), "TWIBOX_CACHE": "off", "MPLBACKEND": "Agg"}
    run = subprocess.run(
        [sys.executable, "-c", RUNNER, f"README.md:{line}"],
        input=code, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, f"README.md line {line}:\n{run.stderr[-3000:]}"
    assert f"ran README.md:{line}" in run.stdout
    # What the snippets save lands in the working folder, and nowhere else.
    for name in re.findall(r"""\.save(?:_chart)?\([^)]*?["']([\w.-]+\.(?:json|png|html|svg))["']""", code):
        assert (tmp_path / name).is_file(), name
