"""ImageExplainer in a real JupyterLab: drawn, the alpha slider walks the path in the browser, and
choosing another class changes the target in the kernel and the heatmap."""

from __future__ import annotations

import re

import lab_driver
import pytest

pytestmark = pytest.mark.browser

NOTEBOOK = [
    "import pathlib\n"
    "import ig_widget as igw\n"
    "from ig_widget.examples import train_digits_cnn, DIGIT_LABELS\n"
    "model, images, labels = train_digits_cnn(size=16, epochs=2, seed=0)",
    # the kernel reports every target change into a marker file the test reads
    "w = igw.ImageExplainer(model, images[0], labels=DIGIT_LABELS, steps=16)\n"
    "marker = pathlib.Path('image_target.txt')\n"
    "marker.write_text(str(w.target))\n"
    "w.observe(lambda change: marker.write_text(str(change['new'])), names='target')\n"
    "w",
]

CANVAS_STATS = """canvas => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    const colours = new Set();
    for (let i = 0; i < data.length; i += 4) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return { width: canvas.width, height: canvas.height, colours: colours.size, pixels: Array.from(data) };
}"""


def canvas(page, name: str) -> dict:
    return page.locator(f".igw canvas[data-map={name}]").evaluate(CANVAS_STATS)


def test_image_explainer_in_jupyterlab(lab, run_notebook, artifacts):
    page = run_notebook("image_explainer.ipynb", NOTEBOOK, timeout=80)
    badge = page.locator(".igw-badge")
    badge.wait_for(state="visible")
    page.wait_for_function("() => /\\d+\\.\\d+%/.test(document.querySelector('.igw-badge').textContent)")
    assert re.search(r"gap \d+\.\d+%", badge.inner_text())

    heat = canvas(page, "attributions")
    assert (heat["width"], heat["height"]) == (16, 16)
    assert heat["colours"] > 8, "the heatmap canvas is blank or flat"

    slider = page.get_by_label(re.compile("^alpha"))
    before = {name: canvas(page, name)["pixels"] for name in ("scaled", "cumulative")}
    slider.focus()
    page.keyboard.press("Home")
    after = {name: canvas(page, name)["pixels"] for name in ("scaled", "cumulative")}
    assert before["scaled"] != after["scaled"], "moving alpha did not change the scaled input"
    assert before["cumulative"] != after["cumulative"], "moving alpha did not change the accumulated map"
    page.keyboard.press("ArrowRight")
    assert canvas(page, "scaled")["pixels"] != after["scaled"]

    initial_target = int(lab_driver.wait_for_file(lab.root / "image_target.txt"))
    other = page.locator(".igw-output[aria-pressed=false]").first
    chosen = int(other.get_attribute("data-index"))
    assert chosen != initial_target
    other.click()
    lab_driver.wait_for_file(lab.root / "image_target.txt", predicate=lambda text: text == str(chosen))
    page.wait_for_function(
        "label => document.querySelector('.igw figcaption:has(+ canvas[data-map=attributions])')"
        ".textContent.includes(label)",
        arg=str(chosen),
        timeout=30_000,
    )
    assert canvas(page, "attributions")["pixels"] != heat["pixels"], "the heatmap did not change with the target"
    assert page.locator(f".igw-output[data-index='{chosen}']").get_attribute("aria-pressed") == "true"

    slider.focus()
    page.keyboard.press("End")
    page.locator(".igw").screenshot(path=str(artifacts / "image_explainer_lab.png"))

    light = page.locator(".igw").evaluate("el => getComputedStyle(el).backgroundColor")
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function(
        "light => getComputedStyle(document.querySelector('.igw')).backgroundColor !== light", arg=light
    )
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=30_000)  # the theme switch's splash
    page.locator(".igw").screenshot(path=str(artifacts / "image_explainer_lab_dark.png"))
