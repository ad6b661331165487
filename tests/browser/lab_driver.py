"""Driving a real JupyterLab from tests: start a server, write notebooks, open and run them.

Used through the fixtures in `conftest.py` (import it as `lab_driver`); kept apart so the steps read top to bottom.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# User settings that keep a fresh JupyterLab quiet (no news or update toasts) and save widget state
# into notebooks on save (what an offline export needs).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
}
RUN_ALL = "notebook:run-all-cells"


@dataclass
class JupyterLab:
    """A running `jupyter lab`: where it listens, its token, and the folder it serves."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def isolated_environment(home: Path) -> dict[str, str]:
    """Environment with Jupyter's config, data, settings and workspaces in `home`, and a `python3`
    kernel that is this interpreter (so the kernel imports the ig_widget under test)."""
    env = dict(os.environ)
    for variable, folder in {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "settings",
        "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
        "IPYTHONDIR": "ipython",
    }.items():
        (home / folder).mkdir(parents=True, exist_ok=True)
        env[variable] = str(home / folder)
    kernel = home / "data" / "kernels" / "python3"
    kernel.mkdir(parents=True, exist_ok=True)
    (kernel / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (ig-widget tests)",
                "language": "python",
            }
        )
    )
    for name, values in LAB_SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_lab(root: Path, home: Path, timeout: float = 60.0) -> JupyterLab:
    """Start `jupyter lab` on 127.0.0.1 serving `root`, and wait until its API answers."""
    port, token = free_port(), secrets.token_hex(16)
    log = open(home / "lab.log", "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--ServerApp.open_browser=False",
        ],
        env=isolated_environment(home),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    lab = JupyterLab(f"http://127.0.0.1:{port}", token, root, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}; see {home / 'lab.log'}")
        try:
            urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=2).read()
            return lab
        except OSError:
            time.sleep(0.3)
    lab.stop()
    raise TimeoutError(f"jupyter lab did not answer within {timeout} s; see {home / 'lab.log'}")


def write_notebook(root: Path, name: str, cells: list[str]) -> Path:
    """A notebook of code cells (python3 kernel) written into the lab's root folder."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = root / name
    nbformat.write(notebook, path)
    return path


def open_and_run(page, lab: JupyterLab, name: str, wait_for: str | None = ".igw", timeout: float = 60.0):
    """Open notebook `name` in the page, run all its cells once the kernel is idle, and wait until
    `wait_for` (a CSS selector, default: any ig-widget view) is visible. Returns the page."""
    page.goto(lab.notebook_url(name))
    page.wait_for_function(
        """name => {
            const app = window.jupyterapp;
            const panel = app && app.shell.currentWidget;
            const session = panel && panel.sessionContext && panel.sessionContext.session;
            return panel && panel.context && panel.context.path.endsWith(name) && session && session.kernel
                && session.kernel.connectionStatus === 'connected' && session.kernel.status === 'idle';
        }""",
        arg=name,
        timeout=timeout * 1000,
    )
    page.evaluate(f"window.jupyterapp.commands.execute({RUN_ALL!r})")
    if wait_for:
        page.wait_for_selector(wait_for, state="visible", timeout=timeout * 1000)
    return page


def wait_for_file(path: Path, timeout: float = 30.0, predicate=lambda text: True) -> str:
    """Poll until `path` exists and its text satisfies `predicate`; a kernel writes such marker files
    so a test can check kernel-side state without a second kernel connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text()
            if predicate(text):
                return text
        time.sleep(0.1)
    raise TimeoutError(f"{path} did not appear (or never matched) within {timeout} s")
