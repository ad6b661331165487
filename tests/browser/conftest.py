"""Fixtures for tests in a real JupyterLab driven by Playwright in Debian's chromium.

Reuse them from any test module in this folder (mark the tests `@pytest.mark.browser`):

- `lab` (session): one `jupyter lab` on 127.0.0.1 with a token, serving a temporary folder
  (`lab.root`), with its own settings (no news popups, widget state saved into notebooks on save)
  and a `python3` kernel that is this test interpreter.
- `browser` (session): Playwright's sync API driving /usr/bin/chromium headless (never downloads).
- `page` (per test): a fresh browser context and page, closed after the test.
- `run_notebook(name, cells, wait_for=".igw")`: writes a notebook of code cells into `lab.root`,
  opens it in `page`, runs all cells and waits for `wait_for` (any ig-widget view by default);
  returns the page. Kernel-side state is best checked through marker files the notebook writes
  into `lab.root` (`lab_driver.wait_for_file`).
- `artifacts`: the `test-artifacts/` folder (gitignored) for screenshots.
- `notebook7`, `voila`, `marimo_quickstart` (session): Jupyter Notebook 7, Voila, and `marimo run` of
  notebooks/01_quickstart_marimo.py, each started once, on first use (`front_ends.py`).

The browser tests skip when chromium or playwright is missing.
"""

from __future__ import annotations

from pathlib import Path

import front_ends
import lab_driver as lab_tools
import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MARIMO_QUICKSTART = Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart_marimo.py"


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")
    server = lab_tools.start_lab(root, home)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory):
    server = front_ends.start_notebook7(tmp_path_factory.mktemp("nb7-root"), tmp_path_factory.mktemp("nb7-home"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def voila(tmp_path_factory):
    server = front_ends.start_voila(tmp_path_factory.mktemp("voila-root"), tmp_path_factory.mktemp("voila-home"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def marimo_quickstart(tmp_path_factory):
    pytest.importorskip("marimo")
    root = tmp_path_factory.mktemp("marimo-root")
    notebook = root / MARIMO_QUICKSTART.name
    notebook.write_text(MARIMO_QUICKSTART.read_text())
    server = front_ends.start_marimo(notebook, tmp_path_factory.mktemp("marimo-home"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(lab_tools.CHROMIUM).exists():
        pytest.skip(f"browser tests need Debian's chromium at {lab_tools.CHROMIUM} (make chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=lab_tools.CHROMIUM, headless=True, args=lab_tools.CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def run_notebook(lab, page):
    def run(name: str, cells: list[str], wait_for: str | None = ".igw", timeout: float = 60.0):
        lab_tools.write_notebook(lab.root, name, cells)
        return lab_tools.open_and_run(page, lab, name, wait_for=wait_for, timeout=timeout)

    return run


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
