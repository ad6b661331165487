"""Deletion and insertion curves (Petsiuk, Das, Saenko, "RISE", BMVC 2018).

Deletion removes the most-attributed features first (they take a baseline's value) and follows the
target's score: a faithful map makes it fall fast (small area). Insertion starts from a baseline and
puts the most-attributed features back first: the score should rise fast (large area).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..attribution import AttributionResult
from ..attribution.baselines import BaselineSpec, make_baseline
from ..attribution.class_scores import score_name
from ..attribution.errors import AttributionInputError
from ..attribution.model_state import isolated_model
from ..attribution.targets import check_output, check_target_spec, output_tensor, transform_scores
from ..attribution.validation import check_input, check_model
from .methods import attribution_map


@dataclass(frozen=True)
class DeletionInsertion:
    """Both curves, one column per row: `fractions[k]` of the features removed (inserted) when the score
    is `deletion[k]` (`insertion[k]`); the areas are the trapezoid integrals over fractions 0..1."""

    fractions: Tensor  # [points]
    deletion: Tensor  # [points, batch]
    insertion: Tensor  # [points, batch]
    target: Tensor  # [batch]
    output: str

    @property
    def deletion_area(self) -> Tensor:
        """Area under the deletion curve per row: lower is better."""
        return torch.trapezoid(self.deletion, self.fractions, dim=0)

    @property
    def insertion_area(self) -> Tensor:
        """Area under the insertion curve per row: higher is better."""
        return torch.trapezoid(self.insertion, self.fractions, dim=0)


def deletion_insertion(
    model: Callable,
    x: Tensor,
    attributions: Tensor | AttributionResult,
    *,
    target: int | Tensor | None = None,
    steps: int = 32,
    deletion_baseline: BaselineSpec = "black",
    insertion_baseline: BaselineSpec = "blur",
    output: str = "probability",
    batch_size: int = 64,
) -> DeletionInsertion:
    """The deletion and insertion curves of `attributions` and their areas.

    Features are ranked by attribution (largest first; for images [B, C, H, W] a feature is a pixel,
    its channels summed and moved together). Step k moves the top min(k * per_step, n) features,
    per_step = ceil(n / steps): in deletion they take `deletion_baseline`'s value, in insertion they
    take x's value in an image that starts as `insertion_baseline`.

    Parameters
    ----------
    model : the nn.Module or callable mapping a batch to class scores [batch, classes].
    x : the inputs, [batch, ...].
    attributions : a tensor shaped like x, or an AttributionResult (its attributions).
    target : default None (each row's top class). A class index or one per row (a tensor or a list of
        ints); checked before any work, and against the model's number of outputs on its first pass,
        before the perturbed inputs run.
    steps : default 32. Points on each curve besides the start.
    deletion_baseline : default "black" (RISE's). Any baseline `integrated_gradients` takes.
    insertion_baseline : default "blur" (RISE's blurred copy). Any baseline.
    output : default "probability" (RISE's). "logit" or "log_probability" follow those instead.
    batch_size : default 64. Perturbed inputs per forward pass.
    """
    check_model(model)
    check_input(x, model)
    check_output(output)
    _check_target(target, len(x), output)
    if isinstance(attributions, AttributionResult):
        attributions = attributions.attributions
    if not isinstance(attributions, Tensor) or attributions.shape != x.shape:
        got = tuple(attributions.shape) if isinstance(attributions, Tensor) else type(attributions).__name__
        raise AttributionInputError(f"attributions has shape {got}; it must be shaped like x {tuple(x.shape)}")
    if not bool(torch.isfinite(attributions).all()):  # NaN would rank the features arbitrarily, silently
        raise AttributionInputError(
            "attributions contains NaN or inf; the curves rank features by it, so every value must be finite"
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise AttributionInputError(f"steps must be a positive int (points on each curve); got {steps!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise AttributionInputError(f"batch_size must be a positive int; got {batch_size!r}")
    x = x.detach()
    net = isolated_model(model)
    removed_value = make_baseline(deletion_baseline, x)
    start = make_baseline(insertion_baseline, x)
    feature_map = attribution_map(attributions.detach()).flatten(1)  # [B, n]
    features = feature_map.shape[1]
    per_step = math.ceil(features / steps)
    counts = [min(k * per_step, features) for k in range(math.ceil(features / per_step) + 1)]
    ranks = torch.empty_like(feature_map, dtype=torch.long)
    order = torch.argsort(-feature_map, dim=1, stable=True)
    ranks.scatter_(1, order, torch.arange(features, device=x.device).expand_as(order).contiguous())
    moved = torch.stack([ranks < count for count in counts])  # [points, B, n]
    moved = (
        moved.view(len(counts), *feature_map.shape[:1], *x.shape[2:]).unsqueeze(2)
        if x.ndim == 4
        else moved.view(len(counts), *x.shape)
    )
    deleted = torch.where(moved, removed_value, x)
    inserted = torch.where(moved, x, start)
    with torch.no_grad():
        at_x = output_tensor(net(x))
        target = _target(at_x, x, target)
        # a softmax inside the model: its outputs are the probabilities, not logits to take a softmax of
        given = at_x.ndim == 2 and score_name(at_x, dim=1) == "probability"
        deletion = _scores(net, deleted, target, output, batch_size, given)
        insertion = _scores(net, inserted, target, output, batch_size, given)
    fractions = torch.tensor(counts, dtype=torch.float64) / features
    return DeletionInsertion(fractions, deletion.double().cpu(), insertion.double().cpu(), target, output)


def _check_target(target: object, batch: int, output: str) -> None:
    """What can be checked of `target` before the model runs: a class index or one per row of the batch."""
    if callable(target):
        raise AttributionInputError(
            "deletion_insertion needs class targets (an int or one per row), not a callable: the curves follow "
            "one class's score"
        )
    try:  # labels, floats, negatives, nested lists: the engine's words
        check_target_spec(target, output)
    except AttributionInputError as error:
        if "not a class index" not in str(error):
            raise
        raise AttributionInputError(  # the engine's words offer a callable, which the curves cannot follow
            f"target={target!r} is not a class index; give an int, one int per row, or None (each row's top class)"
        ) from None
    if target is None or isinstance(target, int):
        return
    count = torch.as_tensor(target).numel()
    if count not in (1, batch):
        raise AttributionInputError(
            f"target={target!r} has {count} entries for a batch of {batch}; give one int, or one per row"
        )


def _target(at_x: Tensor, x: Tensor, target: object) -> Tensor:
    """One class per row, [batch]: the top class where `target` is None; checked against the outputs at x
    (one score per row reads as a single output, class 0)."""
    outputs = at_x.shape[1] if at_x.ndim == 2 else 1
    if target is None:
        return at_x.argmax(dim=1) if at_x.ndim == 2 else torch.zeros(len(x), dtype=torch.long, device=x.device)
    classes = torch.as_tensor(target, dtype=torch.long, device=x.device).flatten().expand(len(x))
    if bool((classes >= outputs).any()):
        raise AttributionInputError(
            f"target={target!r} is out of range: the model has {outputs} output{'s' if outputs > 1 else ''} "
            f"(0 to {outputs - 1})"
        )
    return classes


def _scores(
    net: Callable, points: Tensor, target: Tensor, output: str, batch_size: int, given_probabilities: bool
) -> Tensor:
    """Scores of `target` at points [K, B, ...], [K, B]: the engine's (log-)probabilities of the outputs
    (a sigmoid for one output per row), or, where the model's outputs already are probabilities, those
    and their logarithm."""
    flat = points.reshape(-1, *points.shape[2:])
    rows = target.repeat(points.shape[0])
    pieces = []
    for begin in range(0, len(flat), batch_size):
        raw = output_tensor(net(flat[begin : begin + batch_size]))
        if given_probabilities and output != "logit":
            raw = raw if output == "probability" else raw.clamp_min(torch.finfo(raw.dtype).tiny).log()
        else:
            raw = transform_scores(raw, output)
        if raw.ndim == 1:
            raw = raw[:, None]
        pieces.append(raw.gather(1, rows[begin : begin + batch_size, None])[:, 0])
    return torch.cat(pieces).view(points.shape[:2])
