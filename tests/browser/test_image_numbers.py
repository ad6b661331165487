"""The numbers ImageExplainer prints in a real JupyterLab are the kernel's, to the digits printed:
hover readouts (tooltip and readout line), legend ends, the chart's labels and the badge's tooltip,
read from the page and compared with `w.explanation`, which the notebook writes to a file. And the
view's parts keep their places when the display mode changes."""

from __future__ import annotations

import json
import re

import lab_driver
import pytest

pytestmark = pytest.mark.browser

SIDE = 16
NOTEBOOK = [
    "import json, pathlib\n"
    "import numpy as np\n"
    "import ig_widget as igw\n"
    "from ig_widget.examples import train_digits_cnn, DIGIT_LABELS\n"
    "model, images, labels = train_digits_cnn(size=16, epochs=2, seed=0)",
    # preview=None: on a loaded machine the constructor's first pass can be slow enough for "auto" to preview
    # even this model, and the badge would then first say "preview" (tests/browser/test_image_lab.py's subject)
    "w = igw.ImageExplainer(model, images[0], labels=DIGIT_LABELS, steps=16, preview=None)\nw",
    # what the kernel holds, for the test to compare with what the page prints
    "w.wait()\n"
    "res = w.explanation\n"
    "attr = res.attributions[0].sum(dim=0).numpy().astype(np.float64)\n"
    "mags = np.sort(np.abs(attr).ravel()); running = np.cumsum(mags)\n"
    "clip = float(mags[np.searchsorted(running, w.clip / 100 * running[-1])])  # the legend's definition\n"
    "pathlib.Path('image_numbers.json').write_text(json.dumps({\n"
    "    'attributions': attr.tolist(), 'input': res.inputs[0, 0].tolist(),\n"
    "    'gradients': res.trace.gradients[:, 0].tolist(), 'cumulative': res.trace.cumulative[:, 0].tolist(),\n"
    "    'alphas': res.trace.alphas.tolist(), 'clip': clip,\n"
    "    'score': float(res.score[0]), 'baseline_score': float(res.baseline_score[0]),\n"
    "    'total': float(res.total[0]), 'gap': float(res.gap[0]), 'relative_gap': float(res.relative_gap[0]),\n"
    "}))",
]

NUMBER = r"−?\d+(?:\.\d+)?(?:e[−+]?\d+)?"


def printed(text: str) -> tuple[float, float]:
    """A number as the view prints it, and half a unit of its last printed digit."""
    plain = text.replace("−", "-")
    mantissa, _, exponent = plain.partition("e")
    decimals = len(mantissa.partition(".")[2])
    return float(plain), 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def assert_agrees(text: str, kernel: float, what: str) -> None:
    value, half_unit = printed(text)
    assert abs(value - kernel) <= half_unit * (1 + 1e-6), f"{what}: the page prints {text}, the kernel holds {kernel!r}"


READOUT = re.compile(
    rf"^pixel \((\d+), (\d+)\): attribution ({NUMBER}) · input ({NUMBER}) · at α = ([\d.]+): "
    rf"gradient ({NUMBER}), accumulated ({NUMBER})$"
)


def hover(page, x: int, y: int) -> re.Match:
    box = page.locator(".igw canvas[data-map=attributions]").bounding_box()
    page.mouse.move(box["x"] + (x + 0.5) * box["width"] / SIDE, box["y"] + (y + 0.5) * box["height"] / SIDE)
    page.wait_for_function(
        "where => document.querySelector('.igw-readout').textContent.startsWith(where)", arg=f"pixel ({x}, {y}):"
    )
    match = READOUT.match(page.locator(".igw-readout").inner_text())
    assert match, page.locator(".igw-readout").inner_text()
    return match


def test_printed_numbers_are_the_kernels(lab, run_notebook, artifacts):
    page = run_notebook("image_numbers.ipynb", NOTEBOOK, timeout=90)
    page.wait_for_function("() => /\\d+\\.\\d+%/.test(document.querySelector('.igw-badge').textContent)")
    kernel = json.loads(lab_driver.wait_for_file(lab.root / "image_numbers.json", timeout=60))
    attributions, last = kernel["attributions"], len(kernel["alphas"]) - 1

    # hover: the five largest attributions and two pixels elsewhere, at the last path point
    ranked = sorted(((abs(v), x, y) for y, row in enumerate(attributions) for x, v in enumerate(row)), reverse=True)
    pixels = [(x, y) for _, x, y in ranked[:5]] + [(0, 0), (7, 11)]
    for x, y in pixels:
        match = hover(page, x, y)
        where = f"pixel ({x}, {y})"
        assert_agrees(match[3], attributions[y][x], f"{where} attribution")
        assert_agrees(match[4], kernel["input"][y][x], f"{where} input")
        assert float(match[5]) == pytest.approx(kernel["alphas"][last], abs=5e-4)
        assert_agrees(match[6], kernel["gradients"][last][y][x], f"{where} gradient")
        assert_agrees(match[7], kernel["cumulative"][last][y][x], f"{where} accumulated")
        # accumulated up to the last point is the attribution itself (it was up to 14% off as int8)
        assert_agrees(match[7], attributions[y][x], f"{where} accumulated at the last point vs attribution")
        tooltip = page.locator(".igw-tooltip")
        assert tooltip.is_visible()
        assert match[3] in tooltip.inner_text() and match[7] in tooltip.inner_text()
    page.locator(".igw").screenshot(path=str(artifacts / "image_numbers_hover.png"))

    # at the first path point the readout (of the last pixel pointed at) follows the slider
    page.get_by_label(re.compile("^alpha")).focus()
    page.keyboard.press("Home")
    match = READOUT.match(page.locator(".igw-readout").inner_text())
    x, y = int(match[1]), int(match[2])
    assert float(match[5]) == pytest.approx(kernel["alphas"][0], abs=5e-4)
    assert_agrees(match[6], kernel["gradients"][0][y][x], "gradient at the first point")
    assert_agrees(match[7], kernel["cumulative"][0][y][x], "accumulated at the first point")

    # legend ends: ±clip and 0 (sign "both")
    ends = page.locator(".igw-legend-labels span").all_inner_texts()
    assert ends[1] == "0"
    assert_agrees(ends[0], -kernel["clip"], "legend's left end")
    assert_agrees(ends[2], kernel["clip"], "legend's right end")

    # chart: F(x) − F(x′) on its dashed line; round ticks with 0 among them; a scale written at most once
    assert_agrees(
        page.locator(".igw-goal-value").text_content().rpartition(" = ")[2],
        kernel["score"] - kernel["baseline_score"],
        "chart goal",
    )
    ticks = page.locator(".igw-tick-y").all_text_contents()
    assert "0" in ticks and all(re.fullmatch(r"−?\d+(\.\d+)?", tick) for tick in ticks), ticks
    assert len(page.locator(".igw-chart text", has_text="×").all()) <= 1

    # badge: the percentage and every number of its tooltip
    badge = page.locator(".igw-badge")
    percent = re.search(r"gap (\d+\.\d+)%", badge.inner_text())[1]
    assert_agrees(percent, abs(kernel["relative_gap"]) * 100, "badge gap %")
    title = badge.get_attribute("title")
    assert not re.search(r"[-−] [-−]", title), title
    details = re.search(
        rf"sum of attributions ({NUMBER}) vs F\(x\) − F\(x′\) = ({NUMBER}) − \(?({NUMBER})\)? = ({NUMBER}); gap ({NUMBER})",
        title,
    )
    assert details, title
    for text, name in zip(details.groups(), ["total", "score", "baseline_score", "change", "gap"]):
        want = kernel["score"] - kernel["baseline_score"] if name == "change" else kernel[name]
        assert_agrees(text, want, f"badge tooltip {name}")


LAYOUT = """() => {
    const parts = ['.igw-controls', '.igw-panel', '.igw-legend', '.igw-side', '.igw-path', '.igw-chart',
                   '.igw-readout', 'canvas[data-map=attributions]', 'canvas[data-map=cumulative]'];
    return parts.flatMap(selector => [...document.querySelectorAll('.igw ' + selector)].map(node => {
        const box = node.getBoundingClientRect();
        return [selector, Math.round(box.x), Math.round(box.y), Math.round(box.width), Math.round(box.height)];
    }));
}"""


def test_display_modes_keep_the_layout(lab, run_notebook, artifacts):
    page = run_notebook("image_modes.ipynb", NOTEBOOK[:2], timeout=90)
    page.wait_for_function("() => /\\d+\\.\\d+%/.test(document.querySelector('.igw-badge').textContent)")
    display = page.get_by_label("Display")
    assert display.input_value() == "heat", "the default display is the plain heat map (README: why)"
    modes = display.locator("option").all_inner_texts()
    assert len(modes) >= 3
    layouts = {}
    for mode in modes:
        display.select_option(label=mode)
        page.wait_for_function(
            "mode => document.querySelector('canvas[data-map=attributions]').getAttribute('aria-label').endsWith(mode)",
            arg=mode,
        )
        layouts[mode] = page.evaluate(LAYOUT)
        page.locator(".igw").screenshot(path=str(artifacts / f"image_mode_{mode}.png"))
    first = layouts[modes[0]]
    for mode in modes[1:]:
        moved = [(a, b) for a, b in zip(first, layouts[mode]) if a != b]
        assert not moved and len(layouts[mode]) == len(first), f"{mode} moved parts of the view: {moved}"


def test_more_steps_says_what_it_did(lab, run_notebook, artifacts):
    page = run_notebook("image_more_steps.ipynb", NOTEBOOK[:2], timeout=90)
    badge = page.locator(".igw-badge")
    page.wait_for_function("() => /\\d+\\.\\d+%/.test(document.querySelector('.igw-badge').textContent)")
    before = re.search(r"gap (\d+\.\d+%)", badge.inner_text())[1]
    page.get_by_role("button", name=re.compile("^More steps")).click()
    note = page.locator(".igw-badge-note")
    note.wait_for(state="visible", timeout=60_000)
    line = note.locator("div").first.inner_text()
    after = re.search(r"gap (\d+\.\d+%)", badge.inner_text())[1]
    assert re.fullmatch(
        rf"More steps(?: did not shrink the gap| barely shrank the gap)?: gap {re.escape(after)} "
        rf"at 32 steps, was {re.escape(before)} at 16\.",
        line,
    ), line
    page.locator(".igw-side").screenshot(path=str(artifacts / "image_more_steps_note.png"))
