"""Gradient-free passes that fix what a walk explains: the target of each row, F(x) and F(x')."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from .batching import Forward
from .class_scores import check_output_on_scores
from .errors import AttributionInputError, NonFiniteError
from .targets import TargetScore, TargetSpec, output_tensor, resolve_target
from .validation import first_model_call


def plain_forward(model: Callable) -> Forward:
    """forward(points, rows) for a model that takes the points themselves (images, tabular rows)."""
    return lambda points, rows: model(points)


def probe(forward: Forward, x: Tensor, target: TargetSpec, output: str) -> tuple[TargetScore, Tensor]:
    """One gradient-free pass at the input: fixes the target of each row and gives F(x)."""
    rows = torch.arange(x.shape[0], device=x.device)
    with torch.no_grad():
        raw = first_model_call(forward, x, rows)
        score = resolve_target(target, output, raw, x.shape[0])
        check_output_fits(output, raw, [target])
        values = score(raw, rows).detach()
    if not torch.isfinite(values).all():
        raise NonFiniteError(
            "the model's score at the input x is NaN or inf; the model must give finite scores for x "
            "(check for log(0), division by zero or overflow)"
        )
    return score, values


def score_at(forward: Forward, score: TargetScore, points: Tensor, rows: Tensor | None = None) -> Tensor:
    """Scores without gradients; `rows` maps each point to its input row (default: one point per row)."""
    rows = torch.arange(points.shape[0], device=points.device) if rows is None else rows
    with torch.no_grad():
        return score(forward(points, rows), rows).detach()


def probe_many(
    forward: Forward,
    x: Tensor,
    targets: Sequence[TargetSpec],
    output: str,
    top_k: int | None = None,
    baseline: Tensor | None = None,
) -> tuple[list[TargetScore], list[Tensor], list[Tensor] | None, Tensor | None]:
    """`probe` for several targets from one gradient-free pass at the input: (scores, F(x), F(x'), the
    model's output tensor at x).

    With `baseline`, that pass runs on x and x' stacked where it safely can (see `joint_pass`) and
    also gives F(x'): one pass instead of two, which counts where a model is launch-bound or small.
    F(x') is None when it was not computed; the output is None when the model gave no score tensor
    (a callable target reads something else).
    """
    rows = torch.arange(x.shape[0], device=x.device)
    with torch.no_grad():
        raw, at_baseline = joint_pass(forward, x, baseline, rows, targets if top_k is None else [None])
        scores = resolve_targets(targets, output, raw, x.shape[0], top_k)
        values = [score(raw, rows).detach() for score in scores]
        baseline_values = None if at_baseline is None else [score(at_baseline, rows).detach() for score in scores]
    # One read of the device for both ends (each check alone would wait for it once).
    ends = values + (baseline_values or [])
    if not bool(torch.isfinite(torch.cat([value.reshape(-1) for value in ends])).all()):
        raise_not_finite_ends(values, baseline_values)
    return scores, values, baseline_values, output_at(raw)


def output_at(raw: Any) -> Tensor | None:
    """The model's output tensor (logits) in `raw`, detached, or None when `raw` has none."""
    try:
        return output_tensor(raw).detach()
    except AttributionInputError:
        return None


def raise_not_finite_ends(values: list[Tensor], baseline_values: list[Tensor] | None) -> None:
    """The error for a score at x (named first) or at the baseline that is NaN or inf; returns when all are finite."""
    if not all(bool(torch.isfinite(value).all()) for value in values):
        raise NonFiniteError(
            "the model's score at the input x is NaN or inf; the model must give finite scores for x "
            "(check for log(0), division by zero or overflow)"
        )
    check_baseline_scores(baseline_values or [])


def resolve_targets(
    targets: Sequence[TargetSpec], output: str, raw: Any, batch: int, top_k: int | None = None
) -> list[TargetScore]:
    """The explained score of each target from the model's output at the input; with `top_k`, of each
    row's k top classes instead (best first). Shapes and ranges are checked here (no device read but
    `top_k` against the number of outputs, which is a shape)."""
    if top_k is not None:
        ranked = resolve_target(None, output, raw, batch)
        classes = output_tensor(raw).shape[-1] if ranked.classes is not None else 1
        if top_k > classes:
            raise AttributionInputError(f"top_k={top_k} is more than the model's {classes} outputs")
        top = torch.topk(output_tensor(raw), top_k, dim=1).indices if ranked.classes is not None else None
        targets = [top[:, rank] for rank in range(top_k)] if top is not None else [None]
    resolved = [resolve_target(target, output, raw, batch) for target in targets]
    check_output_fits(output, raw, targets)
    return resolved


def check_output_fits(output: str, raw: Any, targets: Sequence[TargetSpec]) -> None:
    """Refuse a softmax (output="probability" or "log_probability") over class scores that already are
    probabilities (`class_scores.check_output_on_scores`): one host read, only for those outputs and
    only where a target picks a class of the model's scores (a callable target picks its own score)."""
    if output == "logit" or any(callable(target) for target in targets):
        return
    scores = output_at(raw)
    if scores is not None and scores.ndim == 2:
        check_output_on_scores(output, scores, dim=1)


def joint_pass(
    forward: Forward, x: Tensor, baseline: Tensor | None, rows: Tensor, targets: Sequence[TargetSpec]
) -> tuple[Any, Any]:
    """(model output at x, output at the baseline or None) from one pass over both stacked.

    Only for class-index targets, whose scores are read from the output tensor alone, so each half
    can stand in for a pass of its own. Anything unusual (a callable target, an output that does not
    split into the two batches, a model that refuses the stacked batch) falls back to the pass at x
    alone, whose errors then speak of the user's own input.
    """
    if baseline is None or any(callable(target) for target in targets):
        return first_model_call(forward, x, rows), None
    batch = x.shape[0]
    try:
        raw = forward(torch.cat([x, baseline]), torch.cat([rows, rows]))
    except Exception:  # noqa: BLE001 - the pass at x alone reports the error properly
        return first_model_call(forward, x, rows), None
    both = output_tensor(raw)  # an output without a score tensor is an error with any class target
    if both.ndim == 0 or both.shape[0] != 2 * batch:
        return first_model_call(forward, x, rows), None
    return both[:batch], both[batch:]


def check_baseline_scores(values: list[Tensor]) -> None:
    if not all(bool(torch.isfinite(value).all()) for value in values):
        raise NonFiniteError(
            "the model's score at the baseline is NaN or inf; choose a baseline the model gives finite scores for"
        )
