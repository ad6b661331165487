"""The method comparison in a real JupyterLab: the cards fill in as the kernel computes each method, every
printed number is the number Python holds (formatted here from the kernel's own floats), another target
picked in the view's menu is computed again (and one set in Python moves the menu), and the page that
export_html writes shows the same offline, also when exported mid-way (the missing cards say so)."""

from __future__ import annotations

import json
import time

import lab_driver
import pytest
from offline_page import open_offline

import ig_widget as igw

pytestmark = pytest.mark.browser

NOTEBOOK = [
    "import json, pathlib, threading, time\n"
    "import torch\n"
    "import ig_widget as igw\n"
    "from ig_widget.examples import train_digits_cnn, DIGIT_LABELS\n"
    "model, images, labels = train_digits_cnn(size=16, epochs=2, seed=0)",
    # The background passes wait for the test's go-ahead (a file), so the view is on screen, every card
    # pending, before the first method is computed: on a fast machine the whole comparison could
    # otherwise be done before the view is drawn, and the cards could not be seen filling in.
    "class Gated(torch.nn.Module):\n"
    "    def __init__(self, net):\n"
    "        super().__init__()\n"
    "        self.net = net\n"
    "    def forward(self, x):\n"
    "        deadline = time.time() + 120\n"
    "        while threading.current_thread() is not threading.main_thread() and not pathlib.Path('go').exists():\n"
    "            if time.time() > deadline: break\n"
    "            time.sleep(0.05)\n"
    "        return self.net(x)",
    # the kernel writes the floats it holds once every method is computed
    "w = igw.MethodComparison(Gated(model), images[0], labels=DIGIT_LABELS, steps=32)\n"
    "def report(change):\n"
    "    if not change['new']['computing']:\n"
    "        held = [dict(name=m.name, gap=m.gap, relative_gap=m.relative_gap, deletion_area=m.deletion_area,\n"
    "                     insertion_area=m.insertion_area, sanity_ssim=m.sanity_ssim, sanity_passed=m.sanity_passed)\n"
    "                for m in w.compared]\n"
    "        text = json.dumps(dict(target=change['new']['target'], methods=held))\n"
    "        pathlib.Path('comparison_held.json').write_text(text)\n"
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


def finished_cards(page, timeout: float = 120) -> list[dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        cards = page.evaluate(CARD_FIELDS)
        if cards and not any(card["pending"] for card in cards):
            return cards
        time.sleep(0.2)
    raise TimeoutError(f"the cards were not all computed within {timeout} s")


def held_for(lab, target: int) -> list[dict]:
    """The floats the kernel holds for `target`, once its comparison is done."""
    text = lab_driver.wait_for_file(
        lab.root / "comparison_held.json", timeout=120, predicate=lambda text: json.loads(text)["target"] == target
    )
    return json.loads(text)["methods"]


def check_printed(cards: list[dict], held: list[dict]) -> None:
    assert [card["name"] for card in cards] == [method["name"] for method in held]
    for card, method in zip(cards, held):
        assert card["fields"] == expected_texts(method), method["name"]


def test_method_comparison_in_jupyterlab(lab, page, run_notebook, artifacts):
    page.add_init_script(RECORD_DONE)
    run_notebook("comparison.ipynb", NOTEBOOK, wait_for=".igw-cmp-card", timeout=90)
    assert all(card["pending"] for card in page.evaluate(CARD_FIELDS))  # held at the gate
    (lab.root / "go").write_text("")
    cards = finished_cards(page)
    assert len(cards) == 8
    seen = page.evaluate("() => window.__cmpDone")
    assert seen == sorted(seen) and seen[-1] == 8 and len(seen) > 1, seen  # cards filled in as computed
    menu = page.locator(".igw-cmp-header select")
    first = int(menu.input_value())
    check_printed(cards, held_for(lab, first))
    page.locator(".igw").screenshot(path=str(artifacts / "comparison_lab.png"))

    # another target, picked in the view: the kernel computes every card again for it
    other = (first + 1) % 10
    menu.select_option(str(other))
    page.wait_for_selector(".igw-cmp-card[data-pending=true]", timeout=30_000)
    check_printed(finished_cards(page), held_for(lab, other))
    assert page.locator(".igw-cmp-header select option:checked").inner_text() == igw_label(other)
    page.locator(".igw").screenshot(path=str(artifacts / "comparison_lab_other_target.png"))


def igw_label(index: int) -> str:
    from ig_widget.examples import DIGIT_LABELS

    return DIGIT_LABELS[index]


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


def test_a_comparison_exported_mid_way_says_which_cards_are_missing(browser, tmp_path, artifacts):
    import threading

    from ig_widget.examples import DIGIT_LABELS, train_digits_cnn

    model, images, _ = train_digits_cnn(size=8, epochs=4, seed=0)
    done, released = bytearray(1), threading.Event()

    def gated(x):  # holds the comparison's worker once three methods are computed
        if threading.current_thread() is not threading.main_thread() and done[0] >= 3:
            assert released.wait(60)
        return model(x)

    widget = igw.MethodComparison(gated, images[0], labels=DIGIT_LABELS, steps=8, sanity=False)
    widget.observe(lambda change: done.__setitem__(0, len(change["new"]["methods"])), "result")
    deadline = time.time() + 60
    while len(widget.compared) < 3 and time.time() < deadline:
        time.sleep(0.05)
    try:
        path = igw.export_html(widget, tmp_path / "midway.html")
    finally:
        released.set()
    widget.wait()
    page, attempted = open_offline(browser, path)
    assert attempted == []
    cards = page.evaluate(CARD_FIELDS)
    assert [card["pending"] for card in cards] == [False] * 3 + [True] * 5
    missing = page.locator(".igw-cmp-card[data-pending=true] .igw-cmp-pending").all_inner_texts()
    assert missing == ["not computed when this page was saved"] * 5
    assert "saved while the kernel was still computing" in page.locator(".igw-cmp-status").inner_text()
    assert page.locator(".igw-cmp-header select").is_disabled()  # no kernel: no other target
    page.screenshot(path=str(artifacts / "comparison_offline_midway.png"), full_page=True)
