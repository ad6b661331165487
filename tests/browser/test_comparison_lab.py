"""The method comparison in a real JupyterLab: the cards fill in as the kernel computes each method, every
printed number is the number Python holds (formatted here from the kernel's own floats), and the page
that export_html writes shows the same offline."""

from __future__ import annotations

import json
import time

import lab_driver
import pytest
from offline_page import open_offline

import ig_widget as igw

pytestmark = pytest.mark.browser

NOTEBOOK = [
    "import json, pathlib\n"
    "import ig_widget as igw\n"
    "from ig_widget.examples import train_digits_cnn, DIGIT_LABELS\n"
    "model, images, labels = train_digits_cnn(size=16, epochs=2, seed=0)",
    # the kernel writes the floats it holds once every method is computed
    "w = igw.MethodComparison(model, images[0], labels=DIGIT_LABELS, steps=32)\n"
    "def report(change):\n"
    "    if not change['new']['computing']:\n"
    "        held = [dict(name=m.name, gap=m.gap, relative_gap=m.relative_gap, deletion_area=m.deletion_area,\n"
    "                     insertion_area=m.insertion_area, sanity_ssim=m.sanity_ssim, sanity_passed=m.sanity_passed)\n"
    "                for m in w.compared]\n"
    "        pathlib.Path('comparison_held.json').write_text(json.dumps(held))\n"
    "w.observe(report, names='result')\n"
    "w",
]

CARD_FIELDS = """() => [...document.querySelectorAll('.igw-cmp-card[data-method]')].map(card => ({
  name: card.dataset.method,
  pending: card.dataset.pending === 'true',
  fields: Object.fromEntries([...card.querySelectorAll('td[data-field]')].map(td => [td.dataset.field, td.textContent])),
}))"""


def expected_texts(method: dict) -> dict:
    """What the view must print for one method, formatted here from the kernel's floats."""
    gap, relative = method["gap"], method["relative_gap"]
    verdict = "passes" if method["sanity_passed"] else "FAILS"
    relation = "<" if method["sanity_passed"] else "≥"
    return {
        "gap": "— (no path)" if gap is None else f"{gap:.3g}",
        "relative_gap": "—" if relative is None else f"{100 * relative:.2f}%",
        "deletion_area": f"{method['deletion_area']:.3f}",
        "insertion_area": f"{method['insertion_area']:.3f}",
        "sanity": f"{verdict} (SSIM {method['sanity_ssim']:.2f} {relation} 0.5)",
    }


# Recorded in the page from its first moment: how many cards were done each time the cards changed.
RECORD_DONE = """new MutationObserver(() => {
  const cards = document.querySelectorAll('.igw-cmp-card[data-method]');
  if (!cards.length) return;
  const done = document.querySelectorAll('.igw-cmp-card[data-pending=false]').length;
  const seen = (window.__cmpDone ??= []);
  if (seen[seen.length - 1] !== done) seen.push(done);
}).observe(document, { childList: true, subtree: true });"""


def test_method_comparison_in_jupyterlab(lab, page, run_notebook, artifacts):
    page.add_init_script(RECORD_DONE)
    run_notebook("comparison.ipynb", NOTEBOOK, wait_for=".igw-cmp-card", timeout=90)
    deadline = time.time() + 120
    while time.time() < deadline:
        cards = page.evaluate(CARD_FIELDS)
        if cards and not any(card["pending"] for card in cards):
            break
        time.sleep(0.2)
    assert len(cards) == 8 and not any(card["pending"] for card in cards)
    seen = page.evaluate("() => window.__cmpDone")
    assert seen == sorted(seen) and seen[-1] == 8 and len(seen) > 1, seen  # cards filled in as computed

    held = json.loads(lab_driver.wait_for_file(lab.root / "comparison_held.json", timeout=60))
    assert [card["name"] for card in cards] == [method["name"] for method in held]
    for card, method in zip(cards, held):
        assert card["fields"] == expected_texts(method), method["name"]
    assert "Target: " in page.locator(".igw-cmp-title").inner_text()
    page.locator(".igw").screenshot(path=str(artifacts / "comparison_lab.png"))


def test_an_exported_comparison_shows_the_same_offline(browser, tmp_path, artifacts):
    from ig_widget.examples import DIGIT_LABELS, train_digits_cnn

    model, images, _ = train_digits_cnn(size=8, epochs=4, seed=0)
    widget = igw.MethodComparison(model, images[0], labels=DIGIT_LABELS, steps=8, sanity=False)
    widget.wait()
    page, attempted = open_offline(browser, igw.export_html(widget, tmp_path / "comparison.html"))
    cards = page.evaluate(CARD_FIELDS)
    assert attempted == []
    assert [card["name"] for card in cards] == [method["name"] for method in widget.result["methods"]]
    for card, method in zip(cards, widget.result["methods"]):
        assert card["fields"]["deletion_area"] == method["deletion_area"]
        assert card["fields"]["insertion_area"] == method["insertion_area"]
        assert card["fields"]["sanity"] == "not run"
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('canvas.igw-cmp-map')].map(c => "
        "new Set(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).size)"
    )
    assert len(drawn) == 9 and all(colours > 2 for colours in drawn)  # the input and eight maps, drawn
    page.screenshot(path=str(artifacts / "comparison_offline.png"), full_page=True)
