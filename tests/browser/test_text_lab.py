"""TextExplainer in a real JupyterLab: MiniLM's similarity to two queries, tokens drawn and
hoverable, a click on an output retargets the kernel, the alpha slider recolours tokens in the
browser; and token and label strings full of markup show literally and run nothing."""

from __future__ import annotations

import re

import lab_driver
import pytest

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
    "    is_fast, pad_token, pad_token_id, all_special_ids = True, '[PAD]', 0, [0]\n"
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
        '<img src=x onerror="window.__pwned=1">',
        "&lt;ok&gt;",
    )
    assert similarity.locator(".igw-output-label").first.text_content().startswith(("<script>", "<b>"))
    page.wait_for_timeout(300)  # room for an onerror handler to fire, were one created
    assert page.evaluate("() => window.__pwned") is None
    assert dialogs == []
    assert page.locator(".igw-text script, .igw-text img, .igw-text b, .igw-text [onerror]").count() == 0
    page.locator(".igw-text").first.screenshot(path=str(artifacts / "text_explainer_lab.png"))


LANGUAGE_MODEL = [
    "import torch\n"
    "from torch import nn\n"
    "from tokenizers import Tokenizer, models, pre_tokenizers\n"
    "from transformers import PreTrainedTokenizerFast\n"
    "import ig_widget as igw\n"
    "words = ['<pad>', '<unk>', 'the', 'old', 'dog', 'played', 'by', 'park', 'mat']\n"
    "level = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token='<unk>'))\n"
    "level.pre_tokenizer = pre_tokenizers.WhitespaceSplit()\n"
    "tokenizer = PreTrainedTokenizerFast(tokenizer_object=level, unk_token='<unk>', pad_token='<pad>')\n"
    "class TinyLM(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        torch.manual_seed(0)\n"
    "        self.embed, self.rnn, self.out = nn.Embedding(9, 16), nn.GRU(16, 16, batch_first=True), nn.Linear(16, 9)\n"
    "    def forward(self, input_ids):\n"
    "        return self.out(self.rnn(self.embed(input_ids))[0])\n"
    # position -2: the next token after the second 'the'; 'park' comes after it and is not seen
    "lm = igw.TextExplainer(TinyLM(), tokenizer, 'the old dog played by the park', position=-2, baseline='zero', steps=8)\n"
    "lm",
]

BACKGROUND = "node => getComputedStyle(node).backgroundColor"
OUTLINE = "node => getComputedStyle(node).outlineStyle"


def switch_theme(page, theme: str) -> None:
    """Switch JupyterLab's theme (a setting the server keeps for later tests) and wait until it shows."""
    light = "true" if "Light" in theme else "false"
    if page.evaluate("() => document.body.dataset.jpThemeLight") == light:
        return
    page.evaluate(f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: {theme!r}}})")
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === {light!r}", timeout=30_000)
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=30_000)


def luminance(css: str) -> float:
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", css)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_language_model_view_marks_its_position_hover_and_dark_theme(lab, run_notebook, artifacts):
    page = run_notebook("text_lm.ipynb", LANGUAGE_MODEL, wait_for=None)
    view = page.locator(".igw-text", has_text="park")  # JupyterLab may restore an earlier test's notebook too
    view.wait_for(state="visible", timeout=150_000)
    view.locator(".igw-badge").wait_for(state="visible", timeout=120_000)
    tokens = view.locator("[data-strip=attributions] .igw-token")
    assert tokens.all_text_contents() == ["the", "old", "dog", "played", "by", "the", "park"]

    # which position and which next token the explanation is for
    explained = view.locator(".igw-output[aria-pressed=true] .igw-output-label").text_content()
    caption = view.locator(".igw-text-main > .igw-panel-title").text_content()
    assert caption == f"Attributions for the next token “{explained}”, predicted after “the” (token 6 of 7)"
    marked = tokens.evaluate_all(
        "spans => spans.map(s => [s.classList.contains('igw-token-position'), s.classList.contains('igw-token-after')])"
    )
    assert marked == [[False, False]] * 5 + [[True, False], [False, True]]
    next_token = view.locator("[data-strip=attributions] .igw-token-next")
    assert next_token.is_visible() and next_token.text_content() == explained
    assert tokens.nth(5).evaluate("node => node.nextElementSibling.className") == "igw-token-next"

    # hovering a token outlines it, in both strips, and only it
    tokens.nth(2).hover()
    accumulated = view.locator("[data-strip=cumulative] .igw-token")
    assert [tokens.nth(i).evaluate(OUTLINE) for i in range(7)] == ["none", "none", "solid"] + ["none"] * 4
    assert accumulated.nth(2).evaluate(OUTLINE) == "solid"
    tokens.nth(4).hover()
    assert tokens.nth(2).evaluate(OUTLINE) == "none" and tokens.nth(4).evaluate(OUTLINE) == "solid"
    view.screenshot(path=str(artifacts / "text_lm_lab.png"))

    # 'park' comes after the explained position: its attribution is exactly zero. Near zero a token
    # takes the theme's background: white on the light theme, and dark (not glowing white) on the dark one
    switch_theme(page, "JupyterLab Light")
    assert luminance(tokens.nth(6).evaluate(BACKGROUND)) > 0.9
    page.mouse.move(0, 0)
    switch_theme(page, "JupyterLab Dark")
    page.wait_for_function(
        "node => getComputedStyle(node).backgroundColor !== 'rgb(255, 255, 255)'",
        arg=tokens.nth(6).element_handle(),
        timeout=15_000,
    )
    behind = view.evaluate(BACKGROUND)
    assert luminance(behind) < 0.25, behind
    zero = tokens.nth(6).evaluate(BACKGROUND)
    assert zero == behind, f"a zero attribution is drawn {zero} over the dark background {behind}"
    colours = tokens.evaluate_all("spans => spans.map(s => getComputedStyle(s).backgroundColor)")
    assert len(set(colours)) >= 3, "the other tokens keep their colours"
    view.screenshot(path=str(artifacts / "text_lm_lab_dark.png"))
    switch_theme(page, "JupyterLab Light")  # the server keeps the theme: later tests start from the light one
