"""In a real JupyterLab, a completeness gap within the float rounding of F(x) and F(x') reads "within
rounding" in grey with its reason, not a red "incomplete" (a softmax probability near 1.0 at both ends of
the path: F(x) - F(x') is a few float32 units of 1.0, so a gap of one unit is several percent of it)."""

from __future__ import annotations

import json

import lab_driver
import pytest
from test_image_numbers import assert_agrees

pytestmark = pytest.mark.browser

NOTEBOOK = [
    "import json, pathlib, torch\n"
    "from torch import nn\n"
    "import ig_widget as igw\n"
    "torch.manual_seed(0)\n"
    "linear = nn.Linear(3 * 8 * 8, 3)\n"
    "with torch.no_grad():\n"
    "    linear.weight.mul_(0.05)\n"
    "    linear.bias.copy_(torch.tensor([12.0, 0.0, 0.0]))\n"
    "model = nn.Sequential(nn.Flatten(), linear).eval()\n"
    "image = torch.rand(3, 8, 8)",
    "w = igw.ImageExplainer(model, image, target=0, output='probability', steps=16, preview=None)\nw",
    "w.wait()\nr = w.explanation\n"
    "pathlib.Path('rounding.json').write_text(json.dumps({'gap': float(r.gap[0]), 'relative': "
    "float(r.relative_gap[0]), 'within': bool(r.gap_within_rounding[0]), 'rounding': float(r.gap_rounding[0])}))",
]


def test_rounding_gap_reads_within_rounding(lab, run_notebook, artifacts):
    page = run_notebook("rounding_badge.ipynb", NOTEBOOK, wait_for=".igw-image", timeout=150)
    kernel = json.loads(lab_driver.wait_for_file(lab.root / "rounding.json"))
    assert kernel["within"] and abs(kernel["relative"]) >= 0.05, kernel  # red by its share alone
    badge = page.locator(".igw-badge")
    badge.wait_for(state="visible", timeout=30_000)
    assert badge.get_attribute("data-level") == "rounding"
    assert badge.inner_text() == f"within rounding: gap {abs(kernel['relative']) * 100:.2f}%"
    note = page.locator(".igw-badge-note").inner_text()
    assert "within the float rounding of F(x) and F(x′) themselves" in note
    printed_gap = note.split("the gap ")[1].split(" ")[0]
    assert_agrees(printed_gap, kernel["gap"], "the gap in the note")
    page.locator(".igw-image").screenshot(path=artifacts / "rounding_badge.png")
