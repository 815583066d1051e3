"""A real JupyterLab on loopback and Debian's Chromium driven by Playwright, offline.

Checked facts about driving JupyterLab offline: the browser is Debian's
(/usr/bin/chromium, installed by the README's test command), never one Playwright downloads;
JupyterLab runs without auth, isolated in a temporary directory, with the popups switched off;
every request off loopback is blocked so that a CDN dependency fails loudly.

The builder's browser tests run in three front ends: :class:`FrontEnd` opens a notebook of the
UI root in JupyterLab (``lab``), Notebook 7 (``notebook7``) or Voila (``voila``, which runs it
on load and has no re-run), and a test parametrized with ``front_end`` (``indirect``) gets one.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ..conftest import REPO

CHROMIUM = os.environ.get("TWIBOX_CHROMIUM", "/usr/bin/chromium")
BUNDLE_FRAME = 500_000  # bytes: a websocket frame this large carries the Vega libraries
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(root: Path) -> dict[str, str]:
    """Jupyter's config, data, runtime and settings in ``root``, with the popups switched off."""
    home = root / ".jupyter-home"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    quiet = {"fetchNews": "false", "checkForUpdates": False}
    every_cell_in_the_dom = {"windowingMode": "none", "autoStartDefaultKernel": True}
    for name, value in {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": quiet,
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": every_cell_in_the_dom,
    }.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    return env


def serve(command: list[str], root: Path, ready_path: str, name: str):
    """Start a Jupyter server on a free loopback port; wait until ``ready_path`` answers 200."""
    port = free_port()
    log_path = root / f"{name}.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", *command, f"--port={port}"],
        cwd=root, env=isolated_env(root), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}{ready_path}", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{name} did not start; its log:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.5)
    return url, proc, log


def stop(proc: subprocess.Popen, log) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


SERVER_FLAGS = [
    "--no-browser", "--allow-root", "--ip=127.0.0.1", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
    "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
]  # fmt: skip


@pytest.fixture(scope="session")
def ui_root(tmp_path_factory) -> Path:
    """A folder with a copy of notebooks/ and the UI tests' own notebooks."""
    root = tmp_path_factory.mktemp("ui")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    shutil.copytree(Path(__file__).parent / "notebooks", root / "ui")
    return root


@pytest.fixture(scope="session")
def lab(ui_root):
    """JupyterLab on loopback, without auth; yields (url, root)."""
    url, proc, log = serve(
        ["jupyterlab", *SERVER_FLAGS, f"--ServerApp.root_dir={ui_root}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        ui_root, "/api/status", "jupyterlab",
    )  # fmt: skip
    yield url, ui_root
    stop(proc, log)


@pytest.fixture(scope="session")
def notebook7(ui_root):
    """Notebook 7 on loopback, without auth; yields (url, root)."""
    url, proc, log = serve(
        ["notebook", *SERVER_FLAGS, f"--ServerApp.root_dir={ui_root}",
         "--JupyterNotebookApp.expose_app_in_browser=True"],
        ui_root, "/api/status", "notebook7",
    )  # fmt: skip
    yield url, ui_root
    stop(proc, log)


@pytest.fixture(scope="session")
def voila(ui_root):
    """Voila on loopback serving the UI root as a tree (``/voila/render/<path>``); yields (url, root)."""
    # Ready when a static file answers: a page of the tree would list the folder first.
    url, proc, log = serve(
        ["voila", "--no-browser", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", f"--Voila.root_dir={ui_root}"],
        ui_root, "/voila/static/favicon.ico", "voila",
    )  # fmt: skip
    yield url, ui_root
    stop(proc, log)


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: ``$TWIBOX_SCREENSHOTS`` when set, else the test's own ``tmp_path``."""
    return Path(os.environ.get("TWIBOX_SCREENSHOTS") or tmp_path)


@dataclass
class FrontEnd:
    """A front end serving the UI root at ``url``: ``lab``, ``notebook7`` or ``voila``."""

    name: str
    url: str
    root: Path

    @property
    def reruns(self) -> bool:
        """Whether a cell can be run again in the page (Voila runs the notebook once, on load)."""
        return self.name != "voila"

    def open(self, page, path: str) -> None:
        """Open the notebook at ``path`` (relative to the root) and wait until every cell ran."""
        if self.name == "voila":
            page.goto(f"{self.url}/voila/render/{path}")
            # Voila removes its "Executing…" spinner once the last cell ran and shows the outputs.
            page.wait_for_function("!document.getElementById('loading')", timeout=180_000)
            return
        page.goto(f"{self.url}/lab/tree/{path}?reset" if self.name == "lab" else f"{self.url}/notebooks/{path}")
        run_all_cells(page)

    def open_sidebar(self, page) -> None:
        """JupyterLab: open the file browser beside the notebook (the other front ends have none)."""
        if self.name != "lab":
            return
        page.evaluate("window.jupyterapp.commands.execute('filebrowser:activate')")
        page.locator(".jp-DirListing").first.wait_for()
        sidebar = page.locator(".jp-FileBrowser").first.bounding_box()
        assert sidebar and sidebar["width"] >= 200, f"the file browser is not open: {sidebar}"

    def blocked(self, page) -> list[str]:
        """The requests off loopback the page made, less Voila's template's Font Awesome (only icons are lost)."""
        return [u for u in page.blocked if self.name != "voila" or "fontawesome" not in u]

    def screen(self, page) -> dict:
        """The box of the page that shows the notebook (it scrolls inside it): Voila scrolls the window."""
        if self.name == "voila":
            size = page.viewport_size
            return {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
        box = page.locator(".jp-NotebookPanel:visible .jp-WindowedPanel-outer").first.bounding_box()
        assert box, "the notebook's scrolling panel was not found"
        return box


FRONT_ENDS = ("lab", "notebook7", "voila")


@pytest.fixture
def front_end(request) -> FrontEnd:
    """The front end named by the test's (indirect) parameter, its server started once a session."""
    name = getattr(request, "param", "lab")
    url, root = request.getfixturevalue(name)
    return FrontEnd(name, url, root)


def run_all_cells(page, timeout: float = 180_000) -> None:
    """Run every cell of the notebook open in JupyterLab or Notebook 7 and wait until all ran."""
    page.wait_for_function(
        "(() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel; })()"
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        "(() => { const w = window.jupyterapp.shell.currentWidget; const cells = w.content.widgets;"
        " const last = cells[cells.length - 1];"
        " return last.model.executionCount !== null && w.sessionContext.session.kernel.status === 'idle'; })()",
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium under Playwright (fails, never skips, when it is missing)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the README's test command installs it (apt-get install -y chromium)", pytrace=False
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page whose requests off loopback are blocked (and recorded in ``page.blocked``)."""
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    page = context.new_page()
    page.blocked = []  # type: ignore[attr-defined]

    def guard(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:", "about:", "file:")):
            route.continue_()
        else:
            page.blocked.append(url)  # type: ignore[attr-defined]
            route.abort()

    page.route("**/*", guard)
    page.set_default_timeout(120_000)
    # Sizes of the large websocket frames the page receives: the Vega libraries sent by the kernel
    # (~900 KB) are the only frames of that size, so their count is how often the page got them.
    page.bundles = []  # type: ignore[attr-defined]

    def frames(socket):
        def seen(payload):
            if len(payload) > BUNDLE_FRAME:
                page.bundles.append(len(payload))  # type: ignore[attr-defined]

        socket.on("framereceived", seen)

    page.on("websocket", frames)
    yield page
    context.close()
