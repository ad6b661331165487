"""Controls in a real JupyterLab tell the truth: a value the kernel refuses snaps back to the kernel's
with the reason beside the field, and two widgets on one page keep their labels to themselves."""

from __future__ import annotations

import lab_driver
import pytest

pytestmark = pytest.mark.browser

NOTEBOOK = [
    "import pathlib\n"
    "import ig_widget as igw\n"
    "from ig_widget.examples import DIGIT_LABELS, train_digits_cnn\n"
    "model, images, _ = train_digits_cnn(size=8, epochs=8, seed=0)",
    # the kernel writes its steps into a marker file on every change (and once now)
    "first = igw.ImageExplainer(model, images[0], labels=DIGIT_LABELS, steps=16)\n"
    "marker = pathlib.Path('controls_steps.txt')\n"
    "changes = []\n"
    "def note(change):\n"
    "    changes.append(change['new'])\n"
    "    marker.write_text(f'{first.steps} {changes}')\n"
    "first.observe(note, names='steps')\n"
    "marker.write_text(f'{first.steps} {changes}')\n"
    "first",
    "second = igw.ImageExplainer(model, images[1], labels=DIGIT_LABELS, steps=8)\nsecond",
]


def type_steps(view, value: str) -> None:
    field = view.get_by_label("Steps", exact=True)
    field.fill(value)
    field.press("Enter")


def test_refused_steps_snap_back_and_labels_stay_in_their_widget(lab, run_notebook, artifacts):
    page = run_notebook("controls.ipynb", NOTEBOOK, wait_for=".igw-image", timeout=150)
    page.wait_for_function("() => document.querySelectorAll('.igw-image').length === 2", timeout=120_000)
    views = page.locator(".igw-image")
    first, second = views.nth(0), views.nth(1)
    for view in (first, second):
        view.locator(".igw-badge").wait_for(state="visible", timeout=120_000)
    marker = lab.root / "controls_steps.txt"
    lab_driver.wait_for_file(marker, predicate=lambda text: text.startswith("16 "))

    field = first.get_by_label("Steps", exact=True)
    note = first.locator(".igw-control:has(input[type=number]) .igw-control-note")
    assert (field.get_attribute("min"), field.get_attribute("max")) == ("1", "1024")  # the kernel's limits
    for typed in ("0", "5000"):
        type_steps(first, typed)
        page.wait_for_function(
            "([field, typed]) => field.value !== typed", arg=[field.element_handle(), typed], timeout=15_000
        )
        assert field.input_value() == "16", f"typed {typed}: the field shows the kernel's value"
        note.wait_for(state="visible", timeout=15_000)
        assert f"steps={typed}" in note.text_content() and "1..1024" in note.text_content()
        if typed == "5000":
            first.screenshot(path=artifacts / "controls_refused_steps.png")
    assert marker.read_text() == "16 []", "the kernel's steps never changed"

    type_steps(first, "24")  # an accepted value goes through and clears the note
    lab_driver.wait_for_file(marker, predicate=lambda text: text.startswith("24 "))
    assert note.is_hidden()
    assert second.get_by_label("Steps", exact=True).input_value() == "8"

    labels = page.evaluate("""() => Array.from(document.querySelectorAll('.igw-image')).map((view) =>
        Array.from(view.querySelectorAll('label[for]')).map((label) => {
          const target = document.getElementById(label.htmlFor);
          return { label: label.textContent, inside: !!target && view.contains(target),
                   unique: document.querySelectorAll(`[id="${label.htmlFor}"]`).length === 1 };
        }))""")
    assert len(labels) == 2 and all(len(view) >= 6 for view in labels)
    assert all(entry["inside"] and entry["unique"] for view in labels for entry in view), labels
