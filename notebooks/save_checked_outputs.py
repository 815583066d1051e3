"""Run notebooks and save the outputs of their ``# NBVAL_CHECK_OUTPUT`` cells, and nothing else.

nbval (``--nbval-lax``) compares the outputs of cells marked ``# NBVAL_CHECK_OUTPUT`` with the
outputs saved in the notebook, so those cells are committed with their outputs and an execution
count; every other cell is committed without either. After changing a checked cell on purpose::

    python notebooks/save_checked_outputs.py notebooks/01-quickstart.ipynb [more.ipynb ...]

Each notebook is executed top to bottom in its own folder (as nbval does); widget state is dropped.
"""

from __future__ import annotations

import sys
from pathlib import Path

MARK = "# NBVAL_CHECK_OUTPUT"


def save_checked_outputs(path: Path) -> int:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    run = nbformat.read(path, as_version=4)
    NotebookClient(run, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    checked = 0
    for cell, done in zip(notebook.cells, run.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if cell.source.lstrip().startswith(MARK):
            cell.outputs, cell.execution_count = done.outputs, done.execution_count  # nbval skips unrun cells
            checked += 1
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)
    return checked


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {save_checked_outputs(Path(name))} checked cells saved with their outputs")
