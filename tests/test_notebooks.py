"""Every tutorial runs top to bottom, and its own assertions (the facts it teaches) hold.

Notebooks execute in a fresh kernel from this environment, with widget state stored, as a reader's
"Run All" followed by "Save Widget State" would leave them. Run times go to the test report
(`-rA` shows them) and to the user properties of the JUnit XML.
"""

from __future__ import annotations

import pathlib
import time

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
TIME_LIMIT_S = 120  # the promise to readers on a 2-core CPU
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def execute(path: pathlib.Path) -> tuple[nbformat.NotebookNode, float]:
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        book,
        timeout=TIME_LIMIT_S,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    return book, time.perf_counter() - start


def displayed_widgets(book: nbformat.NotebookNode) -> set[str]:
    return {
        output["data"][WIDGET_VIEW]["model_id"]
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if WIDGET_VIEW in output.get("data", {})
    }


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_notebook_runs_and_its_assertions_hold(path, record_property, capsys):
    book, seconds = execute(path)
    record_property("seconds", round(seconds, 1))
    with capsys.disabled():
        print(f"\n{path.name}: {seconds:.1f} s")
    assert seconds < TIME_LIMIT_S
    shown = displayed_widgets(book)
    if shown:
        saved = book.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        assert shown <= set(saved), "every displayed widget has its state saved in the notebook"
        for model_id in shown:
            if saved[model_id]["model_module"] == "anywidget":  # ig-widget views (not, say, a progress bar)
                assert isinstance(saved[model_id]["state"].get("_esm"), str), "the saved state carries the front end"


def test_committed_notebooks_have_no_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        book = nbformat.read(path, as_version=4)
        for cell in book.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name} was committed with outputs"


def test_no_cell_is_skipped_only_by_the_test_runner():
    """nbclient skips cells tagged like this, JupyterLab's Run All does not: a cell that needs an
    optional package guards itself instead, so what the tests run is what a reader runs."""
    skipped = nbclient.NotebookClient(nbformat.v4.new_notebook()).skip_cells_with_tag
    for path in NOTEBOOKS.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            assert skipped not in cell.metadata.get("tags", []), f"{path.name} has a cell only the tests skip"


def _is_jupytext(path: pathlib.Path) -> bool:
    """A jupytext script starts with its YAML header (a marimo notebook, also .py, does not)."""
    return "jupytext:" in path.read_text(encoding="utf-8")[:300]


PAIRED = sorted(path for path in NOTEBOOKS.glob("[0-9][0-9]_*.py") if _is_jupytext(path))


def test_every_tutorial_is_a_jupytext_pair():
    """Each tutorial is a percent-format script a person opens and edits, paired with its .ipynb."""
    notebooks = {path.stem for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    assert notebooks and notebooks == {path.stem for path in PAIRED}, "every .ipynb has its .py and back"
    assert not (NOTEBOOKS / "build_notebooks.py").exists(), "the scripts are the sources now"


@pytest.mark.parametrize("path", PAIRED, ids=lambda p: p.stem)
def test_script_and_notebook_agree(path):
    """Same cells (type, source, tags) in the script and the notebook: edit the .py, then
    `jupytext --sync notebooks/<name>.py` (or open the pair in JupyterLab, which saves both)."""
    jupytext = pytest.importorskip("jupytext")
    script = jupytext.read(path)
    book = nbformat.read(path.with_suffix(".ipynb"), as_version=4)

    def cells(notebook):
        return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in notebook.cells]

    assert cells(script) == cells(book), f"regenerate: jupytext --sync {path.relative_to(NOTEBOOKS.parent)}"
    assert book.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
