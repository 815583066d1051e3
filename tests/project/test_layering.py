"""The package's shape: folders in ranks, imports only downward, no cycle, UI and network in their place.

Every module of ``twibox_nb`` is parsed with :mod:`ast`; every import counts, at the top of a
module or inside a function, except those under ``if TYPE_CHECKING:``. A module imports only from
folders of a lower rank (or its own folder); only the display conveniences in ``DISPLAY`` reach
upward, lazily, to draw a result. The last tests add a module with an upward import to a copy of
the package, to show the rule failing.
"""

from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import REPO

PACKAGE = REPO / "twibox_nb"
# Each folder (or top-level module) of twibox_nb, and its rank: a module imports from lower ranks only.
RANKS = {
    "_exceptions": 0, "_files": 0, "_version": 0,
    "openapi": 1, "model": 1, "sandbox": 1,
    "fetch": 2, "evaluate": 2, "aggregate": 2, "library": 2,
    "pipeline": 3,
    "store": 4, "present": 4, "builder": 4,
    "widgets": 5,
    "cli": 6, "__init__": 6,
}  # fmt: skip
# The display conveniences: (module, function) -> the module it may import although it ranks higher.
DISPLAY = {
    ("twibox_nb.pipeline.result", "chart"): "twibox_nb.present.charts",
    ("twibox_nb.present.scorecard", "widget"): "twibox_nb.widgets.scorecard",
    ("twibox_nb.present.databoard", "widget"): "twibox_nb.widgets.databoard",
    ("twibox_nb.present.chart_export", "_widget_renderer"): "twibox_nb.widgets._chart",
}
# Display code outside widgets/ that may import a UI library: Altair's own widget renderer needs anywidget.
DISPLAY_UI = {("twibox_nb.present.chart_export", "_needs_anywidget"): "anywidget"}
UI = ("ipywidgets", "anywidget", "IPython")
NO_PANDAS = ("model", "evaluate", "fetch")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module, dotted (a name imported from a package counts as its module)
    function: str | None  # the enclosing function's name, None at module level
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path, modules: set[str]) -> list[Import]:
    """Every import in one file, TYPE_CHECKING blocks left out, with the function it sits in."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other, function)
                continue
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Import):
                found.extend(Import(name, alias.name, function, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                for alias in child.names:
                    full = f"{target}.{alias.name}"
                    found.append(Import(name, full if full in modules else target, function, child.lineno))
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), None)
    return found


def package_imports(root: Path) -> list[Import]:
    files = sorted(root.rglob("*.py"))
    modules = {module_name(p, root) for p in files}
    return [i for p in files for i in imports_of(p, root, modules)]


def rank(module: str) -> int:
    parts = module.split(".")
    return RANKS[parts[1] if len(parts) > 1 else "__init__"]


def upward(imports: list[Import]) -> list[str]:
    """Imports from a higher rank, or from a sibling folder of the same rank, except the display ones."""
    wrong = []
    for i in imports:
        if not i.target.startswith("twibox_nb.") and i.target != "twibox_nb":
            continue
        if i.target == "twibox_nb" or i.source.split(".")[:2] == i.target.split(".")[:2]:
            if i.target == "twibox_nb" and i.source != "twibox_nb":
                wrong.append(f"{i.source}:{i.line} imports the package's front door")
            continue
        if rank(i.target) < rank(i.source):
            continue
        if DISPLAY.get((i.source, i.function or "")) == i.target:
            continue
        wrong.append(f"{i.source}:{i.line} (rank {rank(i.source)}) imports {i.target} (rank {rank(i.target)})")
    return wrong


def cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected groups of more than one module (display conveniences aside)."""
    graph: dict[str, set[str]] = {}
    for i in imports:
        if i.target.startswith("twibox_nb.") and DISPLAY.get((i.source, i.function or "")) != i.target:
            graph.setdefault(i.source, set()).add(i.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in list(graph):
        if node not in index:
            connect(node)
    return found


IMPORTS = package_imports(PACKAGE)


def test_every_folder_has_a_rank():
    tops = {p.stem for p in PACKAGE.glob("*.py")} | {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert tops == set(RANKS), tops ^ set(RANKS)


def test_imports_only_go_down_the_ranks():
    assert upward(IMPORTS) == []


def test_there_is_no_import_cycle():
    assert cycles(IMPORTS) == []


def test_model_evaluate_and_fetch_never_import_pandas():
    found = [
        f"{i.source}:{i.line}"
        for i in IMPORTS
        if i.source.split(".")[1:2] in ([f] for f in NO_PANDAS) and i.target.split(".")[0] in ("pandas", "numpy")
    ]
    assert found == []


def test_ui_libraries_are_imported_only_by_widgets_and_display_code():
    found = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in IMPORTS
        if i.target.split(".")[0] in UI
        and i.source.split(".")[1:2] != ["widgets"]
        and (i.source, i.function or "") not in DISPLAY
        and DISPLAY_UI.get((i.source, i.function or "")) != i.target
    ]
    assert found == []


def test_only_fetch_creates_an_http_client():
    makers = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("httpx.Client", "httpx.AsyncClient", "Client"):
                makers.append(module_name(path, PACKAGE))
    assert makers and {m.split(".")[1] for m in makers} == {"fetch"}, makers


def test_the_sandbox_imports_nothing_of_twibox_nb_outside_itself():
    found = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in IMPORTS
        if i.source.startswith("twibox_nb.sandbox")
        and i.target.startswith("twibox_nb")
        and not i.target.startswith("twibox_nb.sandbox")
    ]
    assert found == []


def test_every_module_is_under_500_lines_and_says_what_it_is_for():
    long, silent = {}, []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 500:
            long[module_name(path, PACKAGE)] = len(text.splitlines())
        if not ast.get_docstring(ast.parse(text)):
            silent.append(module_name(path, PACKAGE))
    assert long == {} and silent == []


def test_the_top_level_stays_small():
    modules = [p.name for p in PACKAGE.glob("*.py")]
    assert len(modules) <= 12, modules


# --- the rule fails when it should -------------------------------------------------------------


@pytest.fixture
def copy_of_the_package(tmp_path) -> Path:
    root = tmp_path / "twibox_nb"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("*.xz", "*.json", "__pycache__"))
    return root


def test_an_upward_import_fails_the_rule(copy_of_the_package):
    (copy_of_the_package / "model" / "shortcut.py").write_text(
        "def draw(result):\n    from ..present.charts import metric_chart  # model reaching up to present\n"
        "    return metric_chart(result)\n"
    )
    wrong = upward(package_imports(copy_of_the_package))
    assert wrong == ["twibox_nb.model.shortcut:2 (rank 1) imports twibox_nb.present.charts (rank 4)"]


def test_a_lazy_cycle_fails_the_rule(copy_of_the_package):
    (copy_of_the_package / "fetch" / "loop_a.py").write_text("def f():\n    from .loop_b import g\n")
    (copy_of_the_package / "fetch" / "loop_b.py").write_text("from .loop_a import f\n\ndef g():\n    pass\n")
    assert ["twibox_nb.fetch.loop_a", "twibox_nb.fetch.loop_b"] in cycles(package_imports(copy_of_the_package))


def test_type_checking_imports_do_not_count(copy_of_the_package):
    (copy_of_the_package / "model" / "typed.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..pipeline.metric import MetricResult\n"
    )
    assert upward(package_imports(copy_of_the_package)) == []
