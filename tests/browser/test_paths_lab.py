"""The path control and the checks panel in a real JupyterLab: choosing Blur IG recomputes in the kernel
and the alpha slider then shows the blurred images along the path; Guided IG disables the rule; Run
checks fills the panel with the kernel's sanity check and deletion/insertion areas."""

from __future__ import annotations

import json
import re

import lab_driver
import pytest

pytestmark = pytest.mark.browser

NOTEBOOK = [
    "import json, pathlib\n"
    "import ig_widget as igw\n"
    "from ig_widget.examples import train_digits_cnn, DIGIT_LABELS\n"
    "model, images, labels = train_digits_cnn(size=16, epochs=2, seed=0)",
    # the kernel reports what the view asked for, and the checks it computed, into marker files
    "w = igw.ImageExplainer(model, images[0], labels=DIGIT_LABELS, steps=16)\n"
    "marker = pathlib.Path('paths_state.txt')\n"
    "report = lambda change=None: marker.write_text(f'{w.path} {w.idgi} {w.result.get(\"path\")}')\n"
    "w.observe(report, names=['path', 'idgi', 'result'])\n"
    "w.observe(lambda change: pathlib.Path('paths_checks.json').write_text(json.dumps(change['new'], default=lambda b: None)), names='checks')\n"
    "report()\n"
    "w",
]

CANVAS_PIXELS = """canvas => Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data)"""


def pixels(page, name: str) -> list[int]:
    return page.locator(f".igw canvas[data-map={name}]").evaluate(CANVAS_PIXELS)


def distinct_greys(values: list[int]) -> int:
    return len({values[i] for i in range(0, len(values), 4)})


def test_path_control_and_checks_panel_in_jupyterlab(lab, run_notebook, artifacts):
    page = run_notebook("paths.ipynb", NOTEBOOK, timeout=80)
    page.wait_for_function("() => /\\d+\\.\\d+%/.test(document.querySelector('.igw-badge').textContent)")
    state = lab.root / "paths_state.txt"
    lab_driver.wait_for_file(state, predicate=lambda text: text == "straight False straight")

    path = page.get_by_label("Path", exact=True)
    assert path.evaluate("s => [...s.options].map(o => o.value)") == ["straight", "blur", "guided"]
    path.select_option("blur")
    lab_driver.wait_for_file(state, timeout=60, predicate=lambda text: text == "blur False blur")
    page.wait_for_function(
        "() => document.querySelector('.igw').textContent.includes('Path point at α: blurred input')", timeout=30_000
    )
    assert page.get_by_label("Baseline", exact=True).is_disabled()  # Blur IG starts from the blurred input

    slider = page.get_by_label(re.compile("^alpha"))
    slider.focus()
    page.keyboard.press("Home")
    start = pixels(page, "scaled")
    page.keyboard.press("End")
    end = pixels(page, "scaled")
    # the path starts as a heavy blur (few distinct greys, no black-white strokes) and ends at the digit
    assert start != end
    assert distinct_greys(end) > distinct_greys(start)
    assert max(start[0::4]) - min(start[0::4]) < max(end[0::4]) - min(end[0::4])
    page.keyboard.press("Home")
    for _ in range(8):  # half way: a partly blurred digit
        page.keyboard.press("ArrowRight")
    page.locator(".igw").screenshot(path=str(artifacts / "paths_blur_lab.png"))

    page.get_by_role("button", name="Run checks").click()
    checks = json.loads(
        lab_driver.wait_for_file(
            lab.root / "paths_checks.json", timeout=90, predicate=lambda text: '"deletion"' in text or '"error"' in text
        )
    )
    assert checks["for"]["path"] == "blur" and checks["sanity"]["passed"] is True
    panel = page.locator(".igw-checks")
    page.wait_for_function("() => document.querySelector('.igw-checks').textContent.includes('Deletion area')")
    text = panel.inner_text()
    assert f"Deletion area {checks['deletion']['deletion_area']}" in text
    assert f"SSIM {checks['sanity']['ssim'][-1]}" in text
    assert "Sanity check passes" in text
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(artifacts / "paths_checks_lab.png"))

    path.select_option("guided")
    lab_driver.wait_for_file(state, timeout=60, predicate=lambda text: text == "guided False guided")
    assert page.get_by_label("Rule", exact=True).is_disabled()
    assert panel.get_attribute("data-stale") == "true"  # the checks were run on the blur path
    page.get_by_label("IDGI").check()
    lab_driver.wait_for_file(state, timeout=60, predicate=lambda text: text == "guided True guided")
    page.wait_for_function("() => /gap 0\\.0+%/.test(document.querySelector('.igw-badge').textContent)", timeout=60_000)
    page.locator(".igw").screenshot(path=str(artifacts / "paths_guided_idgi_lab.png"))
