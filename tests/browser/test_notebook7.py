"""The quickstart's image explainer and a text explainer in Jupyter Notebook 7, driven in chromium: both
render, the alpha slider moves by mouse and by keyboard, keys typed in any control stay in the widget
(Notebook's command-mode arrows used to take ArrowLeft/Right from the focused slider: js/src/shortcuts.js),
and clicking an output (or pressing Enter on it) changes the kernel's target. The same key check runs in
JupyterLab, whose notebook has the same bindings."""

from __future__ import annotations

import re

import lab_driver
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOK = [
    # the quickstart's image explainer; the kernel reports each target change into a marker file
    "import pathlib\n"
    "import ig_widget as igw\n"
    "from ig_widget.examples import DIGIT_LABELS, train_digits_cnn\n"
    "model, images, labels = train_digits_cnn()\n"
    "explainer = igw.ImageExplainer(model, images[3], labels=DIGIT_LABELS)\n"
    "marker = pathlib.Path('nb7_target.txt')\n"
    "marker.write_text(str(explainer.target))\n"
    "explainer.observe(lambda change: marker.write_text(str(change['new'])), names='target')\n"
    "explainer",
    "from ig_widget.text_examples import SentenceSimilarity, load_minilm\n"
    "encoder, tokenizer = load_minilm()\n"
    "similarity = SentenceSimilarity(encoder, tokenizer, ['a great film', 'the weather is cold'])\n"
    "igw.TextExplainer(similarity, tokenizer, 'The movie was wonderful', steps=16,\n"
    "                  labels=['a great film', 'the weather is cold'])",
]
IDLE = """name => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const session = panel && panel.sessionContext && panel.sessionContext.session;
    return panel && panel.context && panel.context.path.endsWith(name) && session && session.kernel
        && session.kernel.connectionStatus === 'connected' && session.kernel.status === 'idle';
}"""
ACTIVE_CELL = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"
FOCUSABLE = "input, select, button, textarea, [tabindex]:not([tabindex='-1'])"
# Focus each control in turn (as a Tab or a click would) and report those Lumino would not leave alone.
UNGUARDED = """(root) => Array.from(root.querySelectorAll(arguments_selector)).filter((el) => !el.disabled)
    .filter((el) => { el.focus(); return document.activeElement === el && !el.hasAttribute('data-lm-suppress-shortcuts'); })
    .map((el) => el.outerHTML.slice(0, 80))""".replace("arguments_selector", repr(FOCUSABLE))
GAP = re.compile(r"gap [−+-]?\d+\.\d+%")


def slider_value(slider) -> float:
    return slider.evaluate("input => Number(input.value)")  # the true alpha of the shown path point


def keys_stay_in_controls(page, view) -> None:
    """Every focusable control is guarded, and the arrows move the slider and the steps field, not the
    notebook's active cell."""
    cell = page.evaluate(ACTIVE_CELL)
    slider = view.get_by_label(re.compile("^alpha"))
    slider.focus()
    page.keyboard.press("End")
    end = slider_value(slider)
    page.keyboard.press("ArrowLeft")
    assert slider_value(slider) < end, "ArrowLeft did not reach the alpha slider"
    page.keyboard.press("ArrowRight")
    assert slider_value(slider) == end, "ArrowRight did not reach the alpha slider"
    steps = view.get_by_label("Steps", exact=True)
    steps.focus()
    before = steps.input_value()
    page.keyboard.press("ArrowUp")
    assert steps.input_value() != before, "ArrowUp did not reach the steps field"
    page.keyboard.press("ArrowDown")
    assert steps.input_value() == before
    assert page.evaluate(ACTIVE_CELL) == cell, "an arrow key typed in the widget moved the notebook's cell"
    assert view.evaluate(UNGUARDED) == []


def test_image_and_text_explainers_in_notebook7(notebook7, page, artifacts):
    lab_driver.write_notebook(notebook7.root, "nb7.ipynb", NOTEBOOK)
    page.goto(f"{notebook7.url}/notebooks/nb7.ipynb?token={notebook7.token}")
    page.wait_for_function(IDLE, arg="nb7.ipynb", timeout=90_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    image, text = page.locator(".igw-image"), page.locator(".igw-text")
    image.locator(".igw-badge").wait_for(state="visible", timeout=180_000)
    page.wait_for_function(
        "() => /gap .*\\d%/.test(document.querySelector('.igw-image .igw-badge').textContent)", timeout=120_000
    )
    assert GAP.search(image.locator(".igw-badge").inner_text())
    text.locator(".igw-badge").wait_for(state="visible", timeout=180_000)
    page.wait_for_function(
        "() => /gap .*\\d%/.test(document.querySelector('.igw-text .igw-badge').textContent)", timeout=120_000
    )
    assert text.locator(".igw-token").count() >= 4 or "wonderful" in text.inner_text()

    # the slider by mouse: a click at either end goes to that end of the path
    slider = image.get_by_label(re.compile("^alpha"))
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    assert slider_value(slider) > 0.9
    page.mouse.click(box["x"] + 2, box["y"] + box["height"] / 2)
    assert slider_value(slider) < 0.1

    # ... and by keyboard, in every control of both views
    keys_stay_in_controls(page, image)
    assert text.evaluate(UNGUARDED) == []

    # clicking an output retargets the kernel, and so does Enter on a focused one
    first = int(lab_driver.wait_for_file(notebook7.root / "nb7_target.txt"))
    other = image.locator(".igw-output[aria-pressed=false]").first
    chosen = int(other.get_attribute("data-index"))
    other.click()
    lab_driver.wait_for_file(notebook7.root / "nb7_target.txt", predicate=lambda value: value == str(chosen))
    back = image.locator(f".igw-output[data-index='{first}']")
    back.focus()
    page.keyboard.press("Enter")
    lab_driver.wait_for_file(notebook7.root / "nb7_target.txt", predicate=lambda value: value == str(first))
    page.wait_for_function(
        f"() => document.querySelector(\".igw-image .igw-output[data-index='{first}']\")"
        ".getAttribute('aria-pressed') === 'true'",
        timeout=30_000,
    )
    image.screenshot(path=str(artifacts / "notebook7_image.png"))
    text.screenshot(path=str(artifacts / "notebook7_text.png"))


def test_keys_stay_in_every_control_in_jupyterlab(run_notebook):
    page = run_notebook(
        "keys_lab.ipynb",
        [
            "import ig_widget as igw\n"
            "from ig_widget.examples import DIGIT_LABELS, train_digits_cnn\n"
            "model, images, labels = train_digits_cnn(size=16, epochs=2, seed=0)\n"
            "igw.ImageExplainer(model, images[0], labels=DIGIT_LABELS, steps=16)",
        ],
        timeout=90,
    )
    page.locator(".igw-image .igw-badge").wait_for(state="visible", timeout=120_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:enter-command-mode')")
    keys_stay_in_controls(page, page.locator(".igw-image"))
