"""What a classifier's scores are: logits, log-probabilities, or probabilities already.

Views list class probabilities as the softmax of the model's scores, which is right for logits and for
log-probabilities (a model ending in `log_softmax`: the softmax of log p is p). A model that ends in a
softmax returns probabilities, and a softmax over them again flattens them toward uniform: a class such
a model gave 40.7% was listed at 29.1% and its score called a logit. Here the scores say which they
are: every row's values in [0, 1] summing to 1 are probabilities, every row's values at most 0 whose
exponentials sum to 1 are log-probabilities.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .errors import AttributionInputError

# How far a row's sum of probabilities (or of exponentiated log-probabilities) may be from 1: float32
# softmax sums are off by about 1e-7 per class; logits that happen to sum to 1 within this are rare.
SUM_TOLERANCE = 1e-3


def given_probabilities(scores: Tensor, dim: int = -1) -> Tensor:
    """A 0-d bool tensor (left on the scores' device: no host synchronisation): whether every row of
    `scores` along `dim` is a probability vector over at least two classes.

    Args:
        scores: class scores, classes along `dim`.
        dim: the classes' dimension.
    """
    if scores.shape[dim] < 2:
        return torch.zeros((), dtype=torch.bool, device=scores.device)
    inside = ((scores >= 0) & (scores <= 1)).all()
    return inside & ((scores.sum(dim) - 1).abs() <= SUM_TOLERANCE).all()


def given_log_probabilities(scores: Tensor, dim: int = -1) -> Tensor:
    """A 0-d bool tensor: whether every row of `scores` along `dim` holds log-probabilities (all at most
    0, their exponentials summing to 1) over at least two classes.

    Args:
        scores: class scores, classes along `dim`.
        dim: the classes' dimension.
    """
    if scores.shape[dim] < 2:
        return torch.zeros((), dtype=torch.bool, device=scores.device)
    return (scores <= 0).all() & (scores.exp().sum(dim) - 1).abs().le(SUM_TOLERANCE).all()


def class_probabilities(scores: Tensor, dim: int = -1, name: str | None = None) -> Tensor:
    """The class probabilities the scores stand for: the scores themselves where they already are
    probabilities, their exponentials for log-probabilities, else (logits) their softmax.

    Args:
        scores: class scores, classes along `dim`.
        dim: the classes' dimension.
        name: what the scores are (`score_name`), where the caller knows it already; None reads it from
            the scores (a host read).
    """
    name = score_name(scores, dim) if name is None else name
    if name == "probability":
        return scores
    return scores.exp() if name == "log-probability" else scores.softmax(dim)


def score_name(scores: Tensor, dim: int = -1) -> str:
    """What the scores are, as the outputs list names them: "probability", "log-probability" or "logit"
    (the default: anything else a classifier returns).

    Args:
        scores: class scores, classes along `dim`.
        dim: the classes' dimension.
    """
    if bool(given_probabilities(scores, dim)):
        return "probability"
    if bool(given_log_probabilities(scores, dim)):
        return "log-probability"
    return "logit"


def check_output_on_scores(output: str, scores: Tensor, dim: int = -1) -> None:
    """Refuse output="probability" (or "log_probability") where the model's class scores already are
    probabilities (a softmax inside the model): a second softmax flattens them toward uniform, and the
    maps would explain that, not the model's probabilities. A host read, made only for those outputs.

    Args:
        output: the `output` argument of the call ("logit", "probability" or "log_probability").
        scores: the model's class scores at the input, classes along `dim`.
        dim: the classes' dimension.
    """
    if output in ("probability", "log_probability") and score_name(scores, dim) == "probability":
        raise AttributionInputError(
            f"output={output!r} applies a softmax to the model's scores, but they already are probabilities "
            "(each row is at least 0 and sums to 1: a softmax inside the model?); a second softmax flattens "
            "them. Pass output='logit' to explain the model's own probabilities, or drop the softmax from the "
            "model to explain its logits"
        )
