"""Integrating gradients along the straight path from a baseline to the input.

`integrate_path` is shared by every entry point that walks a path (images, token embeddings,
SmoothGrad over IG): it takes a `forward(points, rows)` so that the caller decides how points reach
the model (directly, or substituted for an embedding layer's output).
"""

from __future__ import annotations

from collections.abc import Callable
import torch
from torch import Tensor

from .batching import Forward, Progress, auto_batch_size, chunked_gradients
from .quadrature import path_points
from .result import AttributionResult, PathTrace
from .targets import TargetScore, TargetSpec, resolve_target
from .validation import call_model, check_gradient_flow

Reducer = Callable[[Tensor], Tensor]


def trace_reducer(trace_reduce: str | Reducer, ndim: int) -> Reducer:
    """How per-point maps are shrunk for the trace: summed over channels (dim 1 of each input) by
    default, kept whole with "none", or any callable [points, ...] -> [points, ...]."""
    if callable(trace_reduce):
        return trace_reduce
    if trace_reduce == "channels":
        return (lambda t: t.sum(dim=1)) if ndim >= 3 else (lambda t: t)
    if trace_reduce == "none":
        return lambda t: t
    raise ValueError(f"trace_reduce={trace_reduce!r} is unknown; use 'channels', 'none' or a callable")


def plain_forward(model: Callable) -> Forward:
    return lambda points, rows: model(points)


def probe(forward: Forward, x: Tensor, target: TargetSpec, output: str) -> tuple[TargetScore, Tensor]:
    """One gradient-free pass at the input: fixes the target of each row and gives F(x)."""
    rows = torch.arange(x.shape[0], device=x.device)
    with torch.no_grad():
        raw = call_model(forward, x, rows)
        score = resolve_target(target, output, raw, x.shape[0])
        values = score(raw, rows).detach()
    if not torch.isfinite(values).all():
        raise FloatingPointError(
            "the model's score at the input x is NaN or inf; the model must give finite scores for x "
            "(check for log(0), division by zero or overflow)"
        )
    return score, values


def score_at(forward: Forward, score: TargetScore, points: Tensor, rows: Tensor | None = None) -> Tensor:
    """Scores without gradients; `rows` maps each point to its input row (default: one point per row)."""
    rows = torch.arange(points.shape[0], device=points.device) if rows is None else rows
    with torch.no_grad():
        return score(forward(points, rows), rows).detach()


def straight_path(baseline: Tensor, difference: Tensor, alphas: Tensor):
    """Point k * B + b is baseline[b] + alphas[k] * difference[b]: step-major, so a chunk holds whole steps."""
    rows_per_step = baseline.shape[0]
    trailing = (1,) * (baseline.ndim - 1)

    def make_points(start: int, stop: int) -> tuple[Tensor, Tensor]:
        index = torch.arange(start, stop, device=baseline.device)
        step, rows = index // rows_per_step, index % rows_per_step
        return torch.addcmul(baseline[rows], alphas[step].view(-1, *trailing), difference[rows]), rows

    return make_points


class PathRecorder:
    """Collects the trace: scores, reduced gradients and reduced attribution increments per point."""

    def __init__(self, reducer: Reducer, alphas: Tensor, weights: Tensor, difference: Tensor):
        self.reducer, self.alphas, self.weights, self.difference = reducer, alphas, weights, difference
        steps, batch = len(alphas), difference.shape[0]
        reduced_shape = reducer(difference[:1]).shape[1:]
        self.scores = difference.new_zeros(steps, batch)
        self.gradients = difference.new_zeros(steps, batch, *reduced_shape)
        self.increments = difference.new_zeros(steps, batch, *reduced_shape)

    def add(self, steps: Tensor, rows: Tensor, scores: Tensor, gradients: Tensor) -> None:
        self.scores[steps, rows] = scores
        self.gradients[steps, rows] = self.reducer(gradients)
        self.increments[steps, rows] = self.reducer(gradients * self.difference[rows])

    def finish(self) -> PathTrace:
        shape = (-1,) + (1,) * (self.increments.ndim - 1)
        cumulative = torch.cumsum(self.increments * self.weights.view(shape), dim=0)
        return PathTrace(self.alphas, self.weights, self.scores, self.gradients, cumulative)


def integrate_path(
    forward: Forward,
    x: Tensor,
    baseline: Tensor,
    target: TargetSpec,
    *,
    output: str,
    rule: str,
    steps: int,
    batch_size: int | None,
    reducer: Reducer | None,
    progress: Progress | None = None,
    method: str = "integrated_gradients",
    baseline_label: str | None = None,
) -> AttributionResult:
    """IG of the target score along baseline -> x, with F(x), F(x') and (optionally) the trace."""
    score, values = probe(forward, x, target, output)
    baseline_values = score_at(forward, score, baseline)
    if not torch.isfinite(baseline_values).all():
        raise FloatingPointError(
            "the model's score at the baseline is NaN or inf; choose a baseline the model gives finite scores for"
        )
    alphas_np, weights_np = path_points(rule, steps)
    alphas = torch.as_tensor(alphas_np, dtype=x.dtype, device=x.device)
    weights = torch.as_tensor(weights_np, dtype=x.dtype, device=x.device)
    difference = x - baseline
    rows_per_step = x.shape[0]
    count = steps * rows_per_step
    size = batch_size or auto_batch_size(x[0].numel() * x.element_size(), rows_per_step, count, x.device)
    recorder = PathRecorder(reducer, alphas, weights, difference) if reducer is not None else None
    weighted_sum = torch.zeros_like(x)
    trailing = (1,) * (x.ndim - 1)
    for chunk in chunked_gradients(forward, score, straight_path(baseline, difference, alphas), count, size, progress):
        step = torch.arange(chunk.start, chunk.stop, device=x.device) // rows_per_step
        weighted = chunk.gradients * weights[step].view(-1, *trailing)
        _accumulate(weighted_sum, weighted, chunk.start, chunk.stop, chunk.rows, rows_per_step)
        if recorder is not None:
            recorder.add(step, chunk.rows, chunk.scores, chunk.gradients)
    check_gradient_flow(weighted_sum, values, baseline_values, steps)
    return AttributionResult(
        method=method,
        attributions=weighted_sum * difference,
        inputs=x,
        score=values,
        target=score.classes,
        baseline=baseline,
        baseline_score=baseline_values,
        baseline_name=baseline_label,
        rule=rule,
        steps=steps,
        trace=recorder.finish() if recorder is not None else None,
    )


def _accumulate(total: Tensor, weighted: Tensor, start: int, stop: int, rows: Tensor, rows_per_step: int) -> None:
    """Add per-point contributions to their input rows; whole steps sum in a fixed order (deterministic)."""
    if start % rows_per_step == 0 and (stop - start) % rows_per_step == 0:
        total += weighted.view(-1, *total.shape).sum(dim=0)
    else:
        total.index_add_(0, rows, weighted)

