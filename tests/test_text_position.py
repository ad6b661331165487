"""A language model's payload says which token position its next token is explained at, so the view
can mark it; a classifier's says none."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ig_widget as igw

tokenizers = pytest.importorskip("tokenizers")
transformers = pytest.importorskip("transformers")

WORDS = ["<pad>", "<unk>", "the", "old", "dog", "played", "by", "park"]


def word_tokenizer():
    level = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    level.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=level, unk_token="<unk>", pad_token="<pad>")


class TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed, self.out = nn.Embedding(len(WORDS), 8), nn.Linear(8, len(WORDS))

    def forward(self, input_ids):
        return self.out(self.embed(input_ids).cumsum(dim=1))  # causal: position t sees tokens up to t


@pytest.mark.parametrize(("position", "index"), [(-1, 6), (-2, 5), (2, 2)])
def test_language_model_payload_names_the_explained_position(position, index):
    widget = igw.TextExplainer(
        TinyLM(), word_tokenizer(), "the old dog played by the park", position=position, baseline="zero", steps=4
    )
    widget.wait()
    assert widget.result["task"] == "next_token"
    assert widget.result["position"] == index
    assert widget.result["tokens"][index] == "the old dog played by the park".split()[index]
    assert all(row["score_name"] == "log-probability" for row in widget.outputs)


def test_a_classifier_payload_has_no_position():
    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.head = nn.Embedding(len(WORDS), 4), nn.Linear(4, 2)

        def forward(self, input_ids):
            return self.head(self.embed(input_ids).sum(dim=1))

    widget = igw.TextExplainer(Bag(), word_tokenizer(), "the old dog", steps=4)
    widget.wait()
    assert widget.result["task"] == "classifier" and widget.result["position"] is None
    assert all(row["score_name"] == "logit" for row in widget.outputs)
