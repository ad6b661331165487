"""Markup is data: labels (and any other string a model or tokenizer supplies) are shown as text.

The real widget bundle renders a kernel-side widget's state in Chromium (through `export_html`'s
kernel-free page, every network request refused). Labels carry script tags, event-handler
attributes, `javascript:` URLs and HTML entities; nothing may run, no element may be created from
them, and each must read exactly as given.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ig_widget as igw

pytestmark = pytest.mark.browser

HOSTILE_LABELS = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'\">",
    "javascript:window.__pwned = 'url'",
    "&lt;b&gt;not bold&lt;/b&gt; &amp; &#60;i&#62;",
    "<svg onload=alert('svg')></svg><b>bold?</b>",
]


def _classifier_preferring_every_class() -> nn.Module:
    """A CNN whose outputs are close together, so every label is among the listed outputs."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 6 * 6, len(HOSTILE_LABELS)))
    with torch.no_grad():
        model[-1].weight.mul_(0.01)
    return model


class HostileError(nn.Module):
    """Fails during the computation with a message full of markup, which the view shows."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        if x.requires_grad:
            raise RuntimeError("<img src=x onerror=\"window.__pwned = 'error'\"> model failed")
        return self.inner(x)


def _open(browser, path):
    """The page with every request other than the file itself refused; collects dialogs and errors."""
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    url = path.resolve().as_uri()
    page.route("**/*", lambda route: route.continue_() if route.request.url == url else route.abort())
    page.goto(url)
    page.wait_for_selector("body[data-igw-rendered]")
    page.wait_for_selector(".igw-output-label")
    page.wait_for_timeout(200)  # room for an onerror/onload handler to fire, were one created
    return page, dialogs


def _assert_nothing_ran(page, dialogs) -> None:
    assert page.evaluate("() => window.__pwned") is None
    assert dialogs == []
    injected = page.evaluate(
        """() => document.querySelectorAll(
             '.igw img, .igw script, .igw b, .igw i, .igw [onerror], .igw [onload], .igw a[href^="javascript"], '
             + '.igw-output-label *, .igw-panel-title *'
           ).length"""
    )
    assert injected == 0


def test_hostile_labels_show_as_text_and_run_nothing(browser, tmp_path) -> None:
    widget = igw.ImageExplainer(
        _classifier_preferring_every_class(), torch.rand(1, 8, 8), labels=HOSTILE_LABELS, target=0, steps=4
    )
    widget.wait()
    assert widget.status == "done", widget.error
    page, dialogs = _open(browser, igw.export_html(widget, tmp_path / "labels.html", targets=None))
    shown = page.locator(".igw-output-label").all_text_contents()
    assert sorted(shown) == sorted(HOSTILE_LABELS)  # every label, character for character
    titles = page.evaluate("() => Array.from(document.querySelectorAll('.igw-output'), (row) => row.title)")
    assert all(any(title.startswith(label + ":") for label in HOSTILE_LABELS) for title in titles)
    caption = page.locator(".igw-panel-title", has_text="Attributions for").first.text_content()
    assert caption == f"Attributions for “{HOSTILE_LABELS[0]}”"
    _assert_nothing_ran(page, dialogs)


def test_a_hostile_error_message_shows_as_text(browser, tmp_path) -> None:
    widget = igw.ImageExplainer(
        HostileError(_classifier_preferring_every_class()), torch.rand(1, 8, 8), labels=HOSTILE_LABELS, steps=4
    )
    widget.wait()
    assert widget.status == "error"
    page, dialogs = _open(browser, igw.export_html(widget, tmp_path / "error.html", targets=None))
    assert page.get_by_text(widget.error, exact=True).count() == 1
    _assert_nothing_ran(page, dialogs)


class HostileTokenizer:
    """A tokenizer whose token strings are markup: the text is those tokens joined by spaces."""

    tokens = ["[PAD]", *HOSTILE_LABELS]
    pad_token, pad_token_id = "[PAD]", 0  # like a real tokenizer's (the engine pads one without, text by text)
    all_special_ids = [0]

    def __call__(self, texts, **options):
        rows = [[self.tokens.index(token) for token in self._split(text)] for text in texts]
        return {
            "input_ids": torch.tensor(rows),
            "attention_mask": torch.ones(len(rows), len(rows[0]), dtype=torch.long),
        }

    def _split(self, text: str) -> list[str]:
        found, rest = [], text
        while rest:
            token = next(t for t in self.tokens[1:] if rest.startswith(t))
            found.append(token)
            rest = rest[len(token) :].lstrip(" ")
        return found

    def convert_ids_to_tokens(self, ids):
        return [self.tokens[i] for i in ids]

    def decode(self, ids):
        return " ".join(self.convert_ids_to_tokens(ids))


class TokenBag(nn.Module):
    def __init__(self, vocabulary: int, classes: int):
        super().__init__()
        torch.manual_seed(0)
        self.embed, self.head = nn.Embedding(vocabulary, 4), nn.Linear(4, classes)

    def forward(self, input_ids, attention_mask=None):
        return self.head(self.embed(input_ids).mean(dim=1))


def test_hostile_tokens_and_labels_in_the_text_view_show_as_text(browser, tmp_path) -> None:
    tokenizer = HostileTokenizer()
    text = " ".join(HOSTILE_LABELS)
    model = TokenBag(len(tokenizer.tokens), len(HOSTILE_LABELS))
    with torch.no_grad():
        model.head.weight.mul_(0.01)
    widget = igw.TextExplainer(model, tokenizer, text, labels=HOSTILE_LABELS, target=1, steps=4)
    widget.wait()
    assert widget.status == "done", widget.error
    page, dialogs = _open(browser, igw.export_html(widget, tmp_path / "tokens.html", targets=None))
    page.wait_for_selector(".igw-token")
    assert page.locator(".igw-tokens").first.locator(".igw-token").all_text_contents() == HOSTILE_LABELS
    assert sorted(page.locator(".igw-output-label").all_text_contents()) == sorted(HOSTILE_LABELS)
    injected_in_tokens = page.evaluate("() => document.querySelectorAll('.igw-token *').length")
    assert injected_in_tokens == 0
    _assert_nothing_ran(page, dialogs)
