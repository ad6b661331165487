"""ImageExplainer in a real JupyterLab: drawn, the alpha slider walks the path in the browser, and
choosing another class changes the target in the kernel and the heatmap."""

from __future__ import annotations

import json
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


PREVIEW_NOTEBOOK = [
    "import json, pathlib, time\n"
    "import torch\n"
    "import ig_widget as igw\n"
    "from ig_widget.examples import train_digits_cnn, DIGIT_LABELS\n"
    "model, images, labels = train_digits_cnn(size=16, epochs=2, seed=0)",
    # a slow model (1 s a pass): "auto" shows a 4-step preview while the 16 steps compute
    "class Slow(torch.nn.Module):\n"
    "    def __init__(self, inner):\n"
    "        super().__init__()\n"
    "        self.inner = inner\n"
    "    def forward(self, x):\n"
    "        time.sleep(1.0)\n"
    "        return self.inner(x)\n"
    "stages = pathlib.Path('preview_stages.jsonl')\n"
    "w = igw.ImageExplainer(Slow(model), images[0], labels=DIGIT_LABELS, steps=16, top_k=1)\n"
    "def record(change):  # what the kernel holds each time the view gets a result\n"
    "    e = w.explanation\n"
    "    line = {'steps': e.steps, 'preview': 'preview' in change['new'], 'relative_gap': float(e.relative_gap[0])}\n"
    "    with stages.open('a') as f:\n"
    "        f.write(json.dumps(line) + '\\n')\n"
    "w.observe(record, names='result')\n"
    "w",
]


def placed(page, locator) -> dict:
    """Where `locator` sits inside the widget (the page may scroll between two looks)."""
    inner, outer = locator.bounding_box(), page.locator(".igw").bounding_box()
    return {
        "x": round(inner["x"] - outer["x"], 1),
        "y": round(inner["y"] - outer["y"], 1),
        "width": inner["width"],
        "height": inner["height"],
    }


def test_a_slow_model_shows_a_preview_then_the_final_map_in_its_place(lab, run_notebook, artifacts):
    page = run_notebook("image_preview.ipynb", PREVIEW_NOTEBOOK, timeout=80)
    badge, note = page.locator(".igw-badge"), page.locator(".igw-badge-note")
    page.wait_for_function(
        "() => /^preview, 4 steps: gap \\d+\\.\\d+%$/.test(document.querySelector('.igw-badge')?.textContent)",
        timeout=30_000,
    )
    assert note.inner_text() == "A quick 4-step preview: refining to 16 steps, which will replace it here."
    assert page.locator(".igw-status").inner_text().startswith("computing…")
    heat = page.locator(".igw canvas[data-map=attributions]")
    box = placed(page, heat)
    preview_pixels = canvas(page, "attributions")["pixels"]
    page.locator(".igw").screenshot(path=str(artifacts / "image_preview_shown.png"))
    preview_badge = badge.inner_text()

    page.wait_for_function(
        "() => /^(complete|close|incomplete): gap/.test(document.querySelector('.igw-badge').textContent)",
        timeout=60_000,
    )
    page.locator(".igw").screenshot(path=str(artifacts / "image_preview_refined.png"))
    assert note.is_hidden() or "preview" not in note.inner_text()
    assert placed(page, heat) == box, "the final map moved: it must replace the preview in place"
    assert canvas(page, "attributions")["pixels"] != preview_pixels
    stages = [
        json.loads(line)
        for line in lab_driver.wait_for_file(
            lab.root / "preview_stages.jsonl", predicate=lambda text: text.count("\n") >= 2
        ).splitlines()
    ]
    assert [(s["steps"], s["preview"]) for s in stages[:2]] == [(4, True), (16, False)]
    for printed_badge, stage in ((preview_badge, stages[0]), (badge.inner_text(), stages[1])):
        assert printed_badge.endswith(f"gap {abs(stage['relative_gap']) * 100:.2f}%"), (printed_badge, stage)
