"""The rows of the outputs list both explainers show: which outputs, and what their scores mean.

Softmax percentages only make sense for class logits. For other scores (cosine similarities to
queries, a regression value) the list shows the raw score, so each row says which kind it is.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from torch import Tensor

from ..attribution.errors import AttributionInputError

SCORE_KINDS = ("probability", "score")


def check_score_kind(requested: str | None, name: str = "score_kind") -> None:
    """Refuse an unknown kind before any work (None means: decide from the model)."""
    if requested is not None and requested not in SCORE_KINDS:
        raise AttributionInputError(
            f"{name}={requested!r} is unknown; use 'probability' (class logits, listed as softmax percentages) "
            "or 'score' (raw scores such as similarities or regression values, listed as they are)"
        )


def check_top_k(top_k: int) -> None:
    """`top_k`, how many of the best outputs the view lists, is a positive int: a negative one sliced the
    list from its end (top_k=-3 listed all outputs but three), 0 listed the target alone and a float failed
    after the model ran."""
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1:
        raise AttributionInputError(
            f"top_k must be a positive int (how many of the best outputs the view lists); got {top_k!r}"
        )


def resolve_score_kind(requested: str | None, model: Any, count: int) -> str:
    """What the model's scores are: the caller's word, else the model's own `score_kind` attribute
    (e.g. `SentenceSimilarity` says "score"), else "score" for a single output and "probability"
    (class logits, shown as softmax percentages) for several."""
    if requested is not None:
        return requested
    declared = getattr(model, "score_kind", None)
    check_score_kind(declared, f"{type(model).__name__}.score_kind")
    if declared is not None:
        return declared
    return "score" if count == 1 else "probability"


SCORE_NAMES = ("logit", "log-probability", "probability")  # class_scores.score_name


def output_rows(
    scores: Tensor,
    probabilities: Tensor,
    kind: str,
    top_k: int,
    target: int | None,
    label: Callable[[int], str],
    score_name: str = "logit",
) -> list[dict]:
    """The top-k outputs by score, plus the target when it is not among them; a probability only
    where the scores are class logits (or log-probabilities, or probabilities a softmax inside the model
    made: `score_name` says which, for the view to name the score it shows where the probabilities round
    to 100% and 0%)."""
    if score_name not in SCORE_NAMES:
        raise AttributionInputError(f"score_name={score_name!r} is unknown; use one of {', '.join(SCORE_NAMES)}")
    check_top_k(top_k)  # the explainers check it before any model call; this guards every other caller
    order = scores.argsort(descending=True)[: int(top_k)].tolist()
    if target is not None and target not in order:
        order.append(target)
    rows = []
    for index in order:
        row = {"index": index, "label": label(index), "score": float(scores[index]), "kind": kind}
        if kind == "probability":
            row["probability"] = float(probabilities[index])
            row["score_name"] = score_name
        rows.append(row)
    return rows
