"""Binder's recipe, checked as closely as can be here: a fresh virtual environment built from the
``binder/`` files alone executes every notebook.

repo2docker runs ``pip install -r binder/requirements.txt`` from the repository's root; so does
this test, in an empty venv, then executes each notebook with that venv's nbconvert and kernel.
The venv is activated as Binder's environment is (its ``bin`` first on ``PATH``, no inherited
``PYTHONPATH``): a kernelspec that starts ``python`` then starts the venv's Python, never the
Python running the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv

import nbformat

from ..conftest import REPO


def test_a_fresh_environment_from_binder_files_runs_every_notebook(tmp_path):
    env_dir = tmp_path / "binder-env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(VIRTUAL_ENV=str(env_dir), PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
        cwd=REPO, capture_output=True, text=True, timeout=1200, check=False, env=env,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 6  # the five tutorials and the dashboard app
    for notebook in notebooks:
        run = subprocess.run(
            [str(python), "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output-dir",
             str(tmp_path / "executed"), "--ExecutePreprocessor.timeout=600", str(notebook)],
            cwd=REPO, capture_output=True, text=True, timeout=900, check=False, env=env,
        )  # fmt: skip
        assert run.returncode == 0, f"{notebook.name}:\n{run.stderr[-3000:]}"
        assert (tmp_path / "executed" / notebook.name).is_file()
    # The environment is Binder's, not ours: it imports twibox_nb from the repository.
    where = subprocess.run([str(python), "-c", "import twibox_nb; print(twibox_nb.__file__)"],
                           capture_output=True, text=True, check=True, env=env)  # fmt: skip
    assert where.stdout.strip().startswith(str(REPO)) and str(env_dir) != sys.prefix
    # ... and the notebooks' kernel was the environment's own Python.
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.prefix)")])
    probe.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(probe, tmp_path / "probe.ipynb")
    kernel = subprocess.run(
        [str(python), "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--stdout",
         str(tmp_path / "probe.ipynb")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=True, env=env,
    )  # fmt: skip
    assert nbformat.reads(kernel.stdout, as_version=4).cells[0].outputs[0].text.strip() == str(env_dir)
