"""The quickstart served as an app by Voila and driven in chromium: both explainers render with their
badges, and clicking another class in the first one retargets it in the kernel (a marker file the
kernel writes, from a cell appended to a copy of the notebook) and redraws its map."""

from __future__ import annotations

import pathlib
import re

import lab_driver
import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUICKSTART = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb"
REPORTER = (
    "import pathlib\n"
    "marker = pathlib.Path('voila_target.txt')\n"
    "marker.write_text(str(explainer.target))\n"
    "explainer.observe(lambda change: marker.write_text(str(change['new'])), names='target')"
)
CAPTION = "figure:has(canvas[data-map=attributions]) figcaption"


def test_quickstart_as_a_voila_app(voila, page, artifacts):
    notebook = nbformat.read(QUICKSTART, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(REPORTER))
    nbformat.write(notebook, voila.root / QUICKSTART.name)

    page.goto(f"{voila.url}/voila/render/{QUICKSTART.name}", timeout=300_000)
    views = page.locator(".igw-image")
    views.nth(1).locator(".igw-badge").wait_for(state="visible", timeout=300_000)
    first = views.nth(0)
    assert views.count() == 2
    assert re.search(r"gap [−+-]?\d+\.\d+%", first.locator(".igw-badge").inner_text())
    assert views.nth(1).locator(CAPTION).text_content() == "Attributions for “8”"

    initial = int(lab_driver.wait_for_file(voila.root / "voila_target.txt", timeout=120))
    other = first.locator(".igw-output[aria-pressed=false]").first
    chosen = other.get_attribute("data-index")
    assert int(chosen) != initial
    label = other.locator(".igw-output-label").text_content()
    other.click()
    lab_driver.wait_for_file(voila.root / "voila_target.txt", predicate=lambda text: text == chosen, timeout=60)
    page.wait_for_function(
        "label => document.querySelector('.igw-image figure:has(canvas[data-map=attributions]) figcaption')"
        ".textContent === `Attributions for “${label}”`",
        arg=label,
        timeout=60_000,
    )
    first.screenshot(path=str(artifacts / "voila_quickstart.png"))
