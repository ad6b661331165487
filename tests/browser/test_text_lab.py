"""TextExplainer in a real JupyterLab: MiniLM's similarity to two queries, tokens drawn and
hoverable, a click on an output retargets the kernel, the alpha slider recolours tokens in the
browser; and token and label strings full of markup show literally and run nothing."""

from __future__ import annotations

import re

import pytest

import lab_driver

pytestmark = pytest.mark.browser

HOSTILE_TOKENS = [
    "<script>window.__pwned='script'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    "&amp;",
    "🙂",
]

NOTEBOOK = [
    "import pathlib\n"
    "import torch\n"
    "from torch import nn\n"
    "import ig_widget as igw\n"
    "from ig_widget.text_examples import SentenceSimilarity, load_minilm\n"
    "encoder, tokenizer = load_minilm()\n"
    "model = SentenceSimilarity(encoder, tokenizer, ['a great film', 'the weather is cold'])",
    # the kernel reports every target change into a marker file the test reads
    "w = igw.TextExplainer(model, tokenizer, 'The movie was wonderful', steps=16,\n"
    "                      labels=['<script>window.__pwned=\"label\"</script> film', '<b>weather</b> &amp;'])\n"
    "marker = pathlib.Path('text_target.txt')\n"
    "marker.write_text(str(w.target))\n"
    "w.observe(lambda change: marker.write_text(str(change['new'])), names='target')\n"
    "w",
    # a tokenizer that splits at '|' keeps each hostile string, spaces and all, one token
    "import re\n"
    "class PipeTokenizer:\n"
    "    is_fast, pad_token_id, all_special_ids = True, 0, [0]\n"
    "    def __init__(self):\n"
    "        self.vocabulary = {'[PAD]': 0}\n"
    "    def __call__(self, texts, **options):\n"
    "        matches = [list(re.finditer(r'[^|]+', text)) for text in texts]\n"
    "        ids = [[self.vocabulary.setdefault(m.group(), len(self.vocabulary)) for m in row] for row in matches]\n"
    "        spans = [[[m.start(), m.end()] for m in row] for row in matches]\n"
    "        return {'input_ids': torch.tensor(ids), 'attention_mask': torch.ones(len(ids), len(ids[0]), dtype=torch.long),\n"
    "                'offset_mapping': torch.tensor(spans), 'special_tokens_mask': torch.zeros(len(ids), len(ids[0]), dtype=torch.long)}\n"
    "    def convert_ids_to_tokens(self, ids):\n"
    "        names = {i: token for token, i in self.vocabulary.items()}\n"
    "        return [names[i] for i in ids]\n"
    "class Bag(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        torch.manual_seed(0)\n"
    "        self.embed, self.head = nn.Embedding(16, 8), nn.Linear(8, 2)\n"
    "    def forward(self, ids):\n"
    "        return self.head(self.embed(ids).sum(dim=1))\n"
    f"hostile = igw.TextExplainer(Bag(), PipeTokenizer(), {'|'.join(HOSTILE_TOKENS + ['fine'])!r},\n"
    "                            labels=['<img src=x onerror=\"window.__pwned=1\">', '&lt;ok&gt;'], steps=8)\n"
    "hostile",
]

COLOURS = "spans => spans.map(s => s.style.backgroundColor)"


def test_text_explainer_in_jupyterlab(lab, run_notebook, artifacts):
    page = run_notebook("text_explainer.ipynb", NOTEBOOK, wait_for=".igw-text", timeout=150)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.wait_for_function("() => document.querySelectorAll('.igw-text').length === 2", timeout=120_000)
    similarity, hostile = page.locator(".igw-text").nth(0), page.locator(".igw-text").nth(1)
    for view in (similarity, hostile):
        view.locator(".igw-badge").wait_for(state="visible", timeout=120_000)
    assert re.search(r"gap \d+\.\d+%", similarity.locator(".igw-badge").inner_text())

    # tokens render, coloured, as the text reads
    tokens = similarity.locator("[data-strip=attributions] .igw-token")
    assert tokens.all_inner_texts() == ["[CLS]", "The", "movie", "was", "wonderful", "[SEP]"]
    assert len(set(tokens.evaluate_all(COLOURS))) >= 3

    # hover shows the score
    tokens.nth(4).hover()
    readout = similarity.locator(".igw-readout")
    assert re.search(r"“wonderful”: attribution -?\d", readout.inner_text())
    assert re.match(r"wonderful: attribution -?\d", tokens.nth(4).get_attribute("title"))

    # the alpha slider recolours the accumulated tokens in the browser
    accumulated = similarity.locator("[data-strip=cumulative] .igw-token")
    before = accumulated.evaluate_all(COLOURS)
    similarity.get_by_label(re.compile("^alpha")).focus()
    page.keyboard.press("Home")
    assert accumulated.evaluate_all(COLOURS) != before, "moving alpha did not change the token colours"

    # clicking another output makes it the kernel's target and recomputes
    initial = int(lab_driver.wait_for_file(lab.root / "text_target.txt"))
    other = similarity.locator(".igw-output[aria-pressed=false]").first
    chosen = int(other.get_attribute("data-index"))
    assert chosen != initial
    first_colours = tokens.evaluate_all(COLOURS)
    other.click()
    lab_driver.wait_for_file(lab.root / "text_target.txt", predicate=lambda text: text == str(chosen))
    similarity.locator(f".igw-output[data-index='{chosen}'][aria-pressed=true]").wait_for(timeout=60_000)
    similarity.locator(".igw-panel-title", has_text="weather").wait_for(timeout=60_000)
    assert tokens.evaluate_all(COLOURS) != first_colours, "the token colours did not change with the target"

    # markup in tokens and labels is text: shown literally, nothing created, nothing run
    hostile_tokens = hostile.locator("[data-strip=attributions] .igw-token")
    assert hostile_tokens.all_text_contents() == HOSTILE_TOKENS + ["fine"]
    assert hostile.locator(".igw-output-label").all_text_contents()[0] in (
        '<img src=x onerror="window.__pwned=1">', "&lt;ok&gt;")
    assert similarity.locator(".igw-output-label").first.text_content().startswith(("<script>", "<b>"))
    page.wait_for_timeout(300)  # room for an onerror handler to fire, were one created
    assert page.evaluate("() => window.__pwned") is None
    assert dialogs == []
    assert page.locator(".igw-text script, .igw-text img, .igw-text b, .igw-text [onerror]").count() == 0
    page.locator(".igw-text").first.screenshot(path=str(artifacts / "text_explainer_lab.png"))
