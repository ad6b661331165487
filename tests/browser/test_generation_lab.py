"""GenerationExplainer in a real JupyterLab: a small copy-task model's generation drawn as a token strip
and a matrix; clicking a generated token recolours its context and sets the kernel's `selected`;
hovering the matrix prints the pair's number; clicking an alternative makes the kernel explain the
contrast (`target_kind`); markup in tokens shows literally."""

from __future__ import annotations

import json

import lab_driver
import pytest

pytestmark = pytest.mark.browser

NOTEBOOK = [
    "import json, pathlib\n"
    "import ig_widget as igw\n"
    "from ig_widget.generation_examples import copy_task_model, copy_prompt\n"
    "model, tokenizer = copy_task_model()\n"
    "w = igw.GenerationExplainer(model, tokenizer, copy_prompt('cafdb'), max_new_tokens=5, steps=16)\n"
    "marker = pathlib.Path('generation_state.json')\n"
    "def report(change=None):\n"
    "    marker.write_text(json.dumps({'selected': w.selected, 'target_kind': w.target_kind,\n"
    "                                  'alternative': w.alternative, 'rows': w.result.get('rows', []),\n"
    "                                  'status': w.status}))\n"
    "w.observe(report, names=['selected', 'target_kind', 'alternative', 'result', 'status'])\n"
    "report()\n"
    "w",
]

COLOURS = "spans => spans.map(s => s.style.backgroundColor)"


def _state(lab, predicate):
    """The kernel's state as its marker file says, once `predicate` holds (a half-written file waits)."""

    def holds(text):
        try:
            return predicate(json.loads(text))
        except ValueError:
            return False

    return json.loads(lab_driver.wait_for_file(lab.root / "generation_state.json", timeout=90, predicate=holds))


def test_generation_explainer_in_jupyterlab(lab, run_notebook, artifacts):
    page = run_notebook("generation_explainer.ipynb", NOTEBOOK, wait_for=".igw-gen", timeout=150)
    view = page.locator(".igw-gen").first
    _state(lab, lambda s: s["status"] == "done" and len(s["rows"]) == 5)
    view.locator(".igw-badge").wait_for(state="visible", timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('.igw-gen').textContent.includes('rows computed')", timeout=60_000
    )
    assert view.get_attribute("data-lm-suppress-shortcuts") == "true"

    strip = view.locator("[data-strip=context] .igw-token")
    assert strip.all_inner_texts()[:6] == ["c", " a", " f", " d", " b", " |"]
    generated = view.locator("[data-strip=context] .igw-token-generated")
    assert generated.count() == 5
    before = strip.evaluate_all(COLOURS)
    view.screenshot(path=str(artifacts / "generation_lab.png"))

    # click the third generated token: the kernel's `selected` follows and the prompt recolours,
    # brightest at the copied letter's source ("f", token 2)
    generated.nth(2).click()
    _state(lab, lambda s: s["selected"] == 2)
    page.wait_for_function(
        "before => { const s = [...document.querySelectorAll('.igw-gen [data-strip=context] .igw-token')];"
        " return s.slice(0, 6).some((span, i) => span.style.backgroundColor !== before[i]); }",
        arg=before,
    )
    assert "igw-token-selected" in (generated.nth(2).get_attribute("class") or "")
    titles = strip.evaluate_all("spans => spans.map(s => s.title)")
    values = [float(t.rsplit(" ", 1)[1].replace("−", "-")) for t in titles[:6]]
    assert max(range(6), key=lambda i: values[i]) == 2, titles

    # hover a matrix cell: the pair's number beside the pointer
    canvas = view.locator(".igw-gen-matrix canvas")
    box = canvas.bounding_box()
    size = canvas.evaluate("c => ({w: c.clientWidth, h: c.clientHeight})")
    tokens = strip.count()
    page.mouse.move(box["x"] + (0.5 / tokens) * size["w"], box["y"] + (0.5 / 5) * size["h"])
    tip = view.locator(".igw-gen-tip")
    tip.wait_for(state="visible")
    assert tip.inner_text().startswith("“c” → “ c”:"), tip.inner_text()
    # a click on the matrix selects its row
    page.mouse.click(box["x"] + (0.5 / tokens) * size["w"], box["y"] + (3.5 / 5) * size["h"])
    _state(lab, lambda s: s["selected"] == 3)

    # click an alternative (not the generated token): the kernel explains the contrast
    alternatives = view.locator(".igw-outputs .igw-output")
    pressed = view.locator('.igw-outputs .igw-output[aria-pressed="true"]')
    chosen = pressed.get_attribute("data-index")
    other = next(
        alternatives.nth(i)
        for i in range(alternatives.count())
        if alternatives.nth(i).get_attribute("data-index") != chosen
    )
    other_index = int(other.get_attribute("data-index"))
    other.click()
    state = _state(lab, lambda s: s["target_kind"] == "contrast" and s["status"] == "done")
    assert state["alternative"] == other_index and state["selected"] == 3
    page.wait_for_function(
        "() => document.querySelector('.igw-gen .igw-gen-main .igw-panel-title').textContent.includes('minus that of')"
    )
    view.screenshot(path=str(artifacts / "generation_lab_contrast.png"))
