"""The quickstart as a reader meets it: "Run All" in a real JupyterLab ends without an error output,
and each widget shows what the text beside it says (the first the top prediction, the second class 8)."""

from __future__ import annotations

import pathlib
import re
import shutil

import lab_driver
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUICKSTART = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb"

# Every code cell has run, or one failed (Run All stops there), and the kernel is idle.
FINISHED = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = Array.from(panel.content.model.cells).filter((cell) => cell.type === 'code');
  const failed = cells.some((cell) => cell.outputs.toJSON().some((o) => o.output_type === 'error'));
  const ran = cells.every((cell) => cell.executionCount !== null);
  return (failed || ran) && panel.sessionContext.session.kernel.status === 'idle';
}"""
OUTPUTS = """() => Array.from(window.jupyterapp.shell.currentWidget.content.model.cells)
  .filter((cell) => cell.type === 'code')
  .map((cell) => ({ source: cell.sharedModel.getSource(), outputs: cell.outputs.toJSON() }))"""
HEAT_CAPTION = "figure:has(canvas[data-map=attributions]) figcaption"


def test_run_all_ends_without_an_error_and_each_widget_shows_its_class(lab, page, artifacts):
    shutil.copy(QUICKSTART, lab.root / QUICKSTART.name)
    lab_driver.open_and_run(page, lab, QUICKSTART.name, wait_for=None)
    page.wait_for_function(FINISHED, timeout=300_000, polling=500)
    cells = page.evaluate(OUTPUTS)
    errors = [
        (cell["source"][:60], output.get("ename"), output.get("evalue"))
        for cell in cells
        for output in cell["outputs"]
        if output["output_type"] == "error"
    ]
    assert errors == [], f"Run All raised: {errors}"
    assert all(
        output.get("name") != "stderr" or "Traceback" not in output.get("text", "")
        for cell in cells
        for output in cell["outputs"]
    )

    views = page.locator(".igw-image")
    views.nth(1).locator(".igw-badge").wait_for(state="visible", timeout=120_000)
    assert views.count() == 2
    first, second = views.nth(0), views.nth(1)
    first.locator(".igw-badge").wait_for(state="visible", timeout=60_000)

    # the first widget explains the top prediction, as its text says, and as the next cell prints
    top = first.locator(".igw-output").first
    assert top.get_attribute("aria-pressed") == "true"
    top_label = top.locator(".igw-output-label").text_content()
    assert first.locator(HEAT_CAPTION).text_content() == f"Attributions for “{top_label}”"
    printed = "".join(
        output.get("text", "")
        for cell in cells
        for output in cell["outputs"]
        if "explaining class" in output.get("text", "")
    )
    assert re.search(rf"explaining class {top_label} ", printed), printed
    assert top_label != "8"

    # an 8x8 digit's top class takes ~100% of the softmax: the list prints logits then, never "100.0%"
    values = first.locator(".igw-output-value").all_text_contents()
    assert not {"100.0%", "0.0%"} & set(values), values
    if not all(value.endswith("%") for value in values):
        assert "logits" in first.locator(".igw-outputs-scale").text_content()

    # the second explains class 8
    assert second.locator(HEAT_CAPTION).text_content() == "Attributions for “8”"
    assert second.locator(".igw-output[aria-pressed=true] .igw-output-label").text_content() == "8"
    first.screenshot(path=artifacts / "quickstart_first_widget.png")
    second.screenshot(path=artifacts / "quickstart_second_widget.png")
