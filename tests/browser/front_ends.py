"""Servers for the front ends besides JupyterLab: Notebook 7, marimo and Voila, each started once per
test session (fixtures in conftest.py), with the same isolated Jupyter folders and `python3` kernel as
`lab_driver.start_lab`. Started lazily: a run that selects none of their tests starts none of them.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lab_driver import free_port, isolated_environment


@dataclass
class Server:
    """A running server: its base URL, token ("" when it has none), the folder it serves, its log."""

    url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _wait_until_up(server: Server, probe, what: str, timeout: float) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{what} exited with {server.process.returncode}; see {server.log}")
        try:
            probe()
            return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise TimeoutError(f"{what} did not answer within {timeout} s; see {server.log}")


def _start(
    command: list[str], root: Path, home: Path, token: str, port: int, name: str, cwd: Path | None = None
) -> Server:
    log = home / f"{name}.log"
    process = subprocess.Popen(
        command, env=isolated_environment(home), stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=cwd or root
    )
    return Server(f"http://127.0.0.1:{port}", token, root, log, process)


def start_notebook7(root: Path, home: Path, timeout: float = 60.0) -> Server:
    """Jupyter Notebook 7 (`--allow-root`: the tests may run as root), its app exposed as window.jupyterapp."""
    port, token = free_port(), secrets.token_hex(16)
    server = _start(
        [
            sys.executable,
            "-m",
            "notebook",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--JupyterNotebookApp.expose_app_in_browser=True",
        ],
        root,
        home,
        token,
        port,
        "notebook7",
    )
    return _wait_until_up(
        server,
        lambda: urllib.request.urlopen(f"{server.url}/api/status?token={token}", timeout=2).read(),
        "jupyter notebook",
        timeout,
    )


def _port_open(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def start_voila(root: Path, home: Path, timeout: float = 60.0) -> Server:
    """Voila serving every notebook in `root` at /voila/render/<name> (a page request runs the notebook,
    so readiness is probed on the port, not on a page)."""
    port = free_port()
    server = _start(
        [
            sys.executable,
            "-m",
            "voila",
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            f"--Voila.root_dir={root}",
            "--show_tracebacks=True",
        ],
        root,
        home,
        "",
        port,
        "voila",
    )
    return _wait_until_up(server, lambda: _port_open(port), "voila", timeout)


def start_marimo(notebook: Path, home: Path, timeout: float = 90.0) -> Server:
    """`marimo run` of one notebook as an app (no token), from the notebook's folder."""
    port = free_port()
    server = _start(
        [
            sys.executable,
            "-m",
            "marimo",
            "run",
            str(notebook),
            "--headless",
            "--no-token",
            "--host=127.0.0.1",
            f"--port={port}",
            "--no-sandbox",
            "--no-check",
        ],
        notebook.parent,
        home,
        "",
        port,
        "marimo",
    )
    return _wait_until_up(
        server, lambda: urllib.request.urlopen(f"{server.url}/health", timeout=2).read(), "marimo", timeout
    )
