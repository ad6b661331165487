"""Integrating gradients along the straight path from a baseline to the input.

`integrate_path` is shared by every entry point that walks a path (images, token embeddings,
SmoothGrad over IG): it takes a `forward(points, rows)` so that the caller decides how points reach
the model (directly, or substituted for an embedding layer's output).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, Union

import torch
from torch import Tensor

from .batching import Chunk, Forward, Progress, auto_batch_size, chunked_multi_gradients, preferred_layout
from .diagnosis import diagnose, steep_end
from .errors import AttributionInputError
from .quadrature import nested_rule, path_points
from .result import AttributionResult, PathTrace
from .targets import TargetScore, TargetSpec, output_tensor, resolve_target
from .validation import call_model, check_gradient_flow

Reducer = Callable[[Tensor], Tensor]
Steps = Union[int, Literal["auto"]]

DEFAULT_TOL = 0.01
DEFAULT_MAX_STEPS = 255


def trace_reducer(trace_reduce: str | Reducer, ndim: int) -> Reducer:
    """How per-point maps are shrunk for the trace: summed over channels (dim 1 of each input) by
    default, kept whole with "none", or any callable [points, ...] -> [points, ...]."""
    if callable(trace_reduce):
        return trace_reduce
    if trace_reduce == "channels":
        return (lambda t: t.sum(dim=1)) if ndim >= 3 else (lambda t: t)
    if trace_reduce == "none":
        return lambda t: t
    raise AttributionInputError(f"trace_reduce={trace_reduce!r} is unknown; use 'channels', 'none' or a callable")


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

    def add(self, steps: Tensor, rows: Tensor, scores: Tensor, gradients: Tensor, first_step: int | None = None) -> None:
        """Record points (steps[i], rows[i]); `first_step` says the points are whole steps from there
        on, in order, so rows broadcast and results are written as one slice."""
        if first_step is None:
            self.scores[steps, rows] = scores
            self.gradients[steps, rows] = self.reducer(gradients)
            self.increments[steps, rows] = self.reducer(gradients * self.difference[rows])
            return
        batch = self.difference.shape[0]
        span = slice(first_step, first_step + len(rows) // batch)
        by_step = gradients.view(-1, *self.difference.shape)
        self.scores[span] = scores.view(-1, batch)
        self.gradients[span] = self.reducer(gradients).view(-1, *self.gradients.shape[1:])
        self.increments[span] = self.reducer((by_step * self.difference).view_as(gradients)).view(
            -1, *self.increments.shape[1:])

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
    steps: Steps,
    batch_size: int | None,
    reducer: Reducer | None,
    progress: Progress | None = None,
    method: str = "integrated_gradients",
    baseline_label: str | None = None,
    tol: float = DEFAULT_TOL,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> AttributionResult:
    """IG of the target score along baseline -> x, with F(x), F(x') and (optionally) the trace.

    `steps="auto"` refines a nested rule until the relative completeness gap of every row is at most
    `tol`, or `max_steps` points are used (see `adaptive.py`).
    """
    return integrate_path_multi(
        forward, x, baseline, [target], output=output, rule=rule, steps=steps, batch_size=batch_size,
        reducer=reducer, progress=progress, method=method, baseline_label=baseline_label, tol=tol,
        max_steps=max_steps,
    )[0]


def integrate_path_multi(
    forward: Forward,
    x: Tensor,
    baseline: Tensor,
    targets: Sequence[TargetSpec],
    *,
    output: str,
    rule: str,
    steps: Steps,
    batch_size: int | None,
    reducer: Reducer | None,
    progress: Progress | None = None,
    method: str = "integrated_gradients",
    baseline_label: str | None = None,
    top_k: int | None = None,
    tol: float = DEFAULT_TOL,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> list[AttributionResult]:
    """`integrate_path` for several targets in one walk: one forward pass per chunk of path points,
    then one backward pass per target. `top_k` replaces `targets` by each row's k top classes."""
    # F(x') comes from the path itself where the rule evaluates alpha = 0 (left sums, trapezoid),
    # else from the probe's pass, which then runs on x and x' together.
    fixed = None if steps == "auto" else path_points(rule, steps)
    starts_at_baseline = fixed is not None and fixed[0][0] == 0.0
    scores, values, baseline_values = probe_many(forward, x, targets, output, top_k,
                                                 baseline=None if starts_at_baseline else baseline)
    walk = PathWalk(forward, scores, baseline, x - baseline, batch_size, progress)
    if not starts_at_baseline and baseline_values is None:
        baseline_values = walk.baseline_scores()
    diagnoses = [None] * len(scores)
    if steps == "auto":
        from .adaptive import refine

        alphas, weights, path, diagnoses = refine(walk, values, baseline_values, rule, tol, max_steps)
        rule, steps = nested_rule(rule), len(alphas)
    else:
        alphas = torch.as_tensor(fixed[0], dtype=x.dtype, device=x.device)
        weights = torch.as_tensor(fixed[1], dtype=x.dtype, device=x.device)
        path = walk.stream(alphas, weights, reducer, baseline_values)
    finished = [path.finish(index, reducer) for index in range(len(scores))]
    if not any(diagnoses):
        diagnoses = _diagnoses(walk, values, finished, rule, max_steps)
    results = []
    for index, score in enumerate(scores):
        summed, baseline_values, trace = finished[index]
        check_gradient_flow(summed, values[index], baseline_values, steps)
        attributions = summed * walk.difference
        results.append(AttributionResult(
            method=method,
            attributions=attributions,
            inputs=x,
            score=values[index],
            target=score.classes,
            baseline=baseline,
            baseline_score=baseline_values,
            baseline_name=baseline_label,
            rule=rule,
            steps=steps,
            trace=trace,
            diagnosis=diagnoses[index],
        ))
    return results


def _diagnoses(walk: PathWalk, values: list[Tensor], finished: list, rule: str, max_steps: int) -> list:
    """Per target, why its gap resists more steps (see `diagnosis.py`), or None. A jump at an end of the
    path seen between the end and its nearest point is checked with one gradient-free pass closer to
    the end than steps="auto" would ever come: there it is a jump, else a steep stretch that more steps
    resolve."""
    from .adaptive import endpoint_jumps, unresolved_alpha

    found = [diagnose(trace, value, baseline_values, (summed * walk.difference).flatten(1).sum(dim=1))
             for value, (summed, baseline_values, trace) in zip(values, finished)]
    if not any(d is not None and d.kind == "endpoint_jump" for d in found):
        return found
    confirmed = endpoint_jumps(walk, values, [each[1] for each in finished], unresolved_alpha(rule, max_steps))
    for index, (seen, sure) in enumerate(zip(found, confirmed)):
        if seen is not None and seen.kind == "endpoint_jump":
            points = len(finished[index][2].alphas)
            found[index] = sure or steep_end(seen.alpha_from, seen.alpha_to, seen.share, points)
    return found


def probe_many(
    forward: Forward, x: Tensor, targets: Sequence[TargetSpec], output: str, top_k: int | None = None,
    baseline: Tensor | None = None,
) -> tuple[list[TargetScore], list[Tensor], list[Tensor] | None]:
    """`probe` for several targets from one gradient-free pass at the input: (scores, F(x), F(x')).

    With `baseline`, that pass runs on x and x' stacked where it safely can (see `joint_pass`) and
    also gives F(x'): one pass instead of two, which counts where a model is launch-bound or small.
    F(x') is None when it was not computed.
    """
    rows = torch.arange(x.shape[0], device=x.device)
    with torch.no_grad():
        raw, at_baseline = joint_pass(forward, x, baseline, rows, targets if top_k is None else [None])
        if top_k is not None:
            ranked = resolve_target(None, output, raw, x.shape[0])
            classes = output_tensor(raw).shape[-1] if ranked.classes is not None else 1
            if top_k > classes:
                raise AttributionInputError(f"top_k={top_k} is more than the model's {classes} outputs")
            top = torch.topk(output_tensor(raw), top_k, dim=1).indices if ranked.classes is not None else None
            targets = [top[:, rank] for rank in range(top_k)] if top is not None else [None]
        scores = [resolve_target(target, output, raw, x.shape[0]) for target in targets]
        values = [score(raw, rows).detach() for score in scores]
        baseline_values = None if at_baseline is None else [score(at_baseline, rows).detach() for score in scores]
    if not all(bool(torch.isfinite(value).all()) for value in values):
        raise FloatingPointError(
            "the model's score at the input x is NaN or inf; the model must give finite scores for x "
            "(check for log(0), division by zero or overflow)"
        )
    if baseline_values is not None:
        check_baseline_scores(baseline_values)
    return scores, values, baseline_values


def joint_pass(forward: Forward, x: Tensor, baseline: Tensor | None, rows: Tensor,
               targets: Sequence[TargetSpec]) -> tuple[Any, Any]:
    """(model output at x, output at the baseline or None) from one pass over both stacked.

    Only for class-index targets, whose scores are read from the output tensor alone, so each half
    can stand in for a pass of its own. Anything unusual (a callable target, an output that does not
    split into the two batches, a model that refuses the stacked batch) falls back to the pass at x
    alone, whose errors then speak of the user's own input.
    """
    if baseline is None or any(callable(target) for target in targets):
        return call_model(forward, x, rows), None
    batch = x.shape[0]
    try:
        raw = forward(torch.cat([x, baseline]), torch.cat([rows, rows]))
    except Exception:  # noqa: BLE001 - the pass at x alone reports the error properly
        return call_model(forward, x, rows), None
    both = output_tensor(raw)  # an output without a score tensor is an error with any class target
    if both.ndim == 0 or both.shape[0] != 2 * batch:
        return call_model(forward, x, rows), None
    return both[:batch], both[batch:]


def check_baseline_scores(values: list[Tensor]) -> None:
    if not all(bool(torch.isfinite(value).all()) for value in values):
        raise FloatingPointError(
            "the model's score at the baseline is NaN or inf; choose a baseline the model gives finite scores for"
        )


class PathWalk:
    """Gradients of several target scores at chosen path points, one forward pass per chunk."""

    def __init__(self, forward: Forward, scores: list[TargetScore], baseline: Tensor, difference: Tensor,
                 batch_size: int | None, progress: Progress | None):
        self.forward, self.scores, self.baseline, self.difference = forward, scores, baseline, difference
        self.batch_size, self.progress = batch_size, progress
        self.layout = preferred_layout(baseline)

    @property
    def rows_per_step(self) -> int:
        return self.baseline.shape[0]

    def chunks(self, alphas: Tensor, kept_bytes: int = 0) -> Iterator[list[Chunk]]:
        """Per chunk, one Chunk per target for points baseline + alphas[k] * difference (step-major).
        `kept_bytes`: what the caller holds besides the chunk, taken out of the automatic batch budget."""
        count = len(alphas) * self.rows_per_step
        size = self.batch_size or auto_batch_size(self.baseline[0], self.rows_per_step, count, kept_bytes)
        make_points = straight_path(self.baseline, self.difference, alphas)
        yield from chunked_multi_gradients(self.forward, self.scores, make_points, count, size, self.progress, self.layout)

    def baseline_scores(self) -> list[Tensor]:
        """F(x') for every target from one gradient-free pass at the baseline."""
        rows = torch.arange(self.rows_per_step, device=self.baseline.device)
        with torch.no_grad():
            raw = self.forward(self.baseline, rows)
            values = [score(raw, rows).detach() for score in self.scores]
        check_baseline_scores(values)
        return values

    def stream(self, alphas: Tensor, weights: Tensor, reducer: Reducer | None,
               baseline_values: list[Tensor] | None) -> StreamedPath:
        """Walk all points once, keeping only running sums (and the reduced trace). Without
        `baseline_values` F(x') is read off the path's point at alpha = 0."""
        path = StreamedPath(self, alphas, weights, reducer, baseline_values)
        for chunks in self.chunks(alphas, path.kept_bytes()):
            path.add(chunks)
        return path


class StreamedPath:
    """Weighted gradient sums per target, accumulated chunk by chunk in a fixed order."""

    def __init__(self, walk: PathWalk, alphas: Tensor, weights: Tensor, reducer: Reducer | None,
                 baseline_values: list[Tensor] | None):
        self.walk, self.alphas, self.weights = walk, alphas, weights
        count = len(walk.scores)
        self.sums = [torch.zeros_like(walk.difference) for _ in range(count)]
        self.recorders = [PathRecorder(reducer, alphas, weights, walk.difference) for _ in range(count)] \
            if reducer is not None else None
        self.reads_baseline = baseline_values is None
        self.baseline_values = baseline_values or [None] * count

    def kept_bytes(self) -> int:
        """Bytes held for the whole walk: the sums, and the trace with the cumulative sum it adds at the end."""
        held = sum(total.nbytes for total in self.sums)
        for recorder in self.recorders or []:
            held += recorder.scores.nbytes + recorder.gradients.nbytes + 2 * recorder.increments.nbytes
        return held

    def add(self, chunks: list[Chunk]) -> None:
        rows_per_step = self.walk.rows_per_step
        first = chunks[0]
        step = torch.arange(first.start, first.stop, device=first.rows.device) // rows_per_step
        trailing = (1,) * (first.gradients.ndim - 1)
        point_weights = self.weights[step].view(-1, *trailing)
        for index, chunk in enumerate(chunks):
            _accumulate(self.sums[index], chunk.gradients * point_weights, chunk.start, chunk.stop, chunk.rows,
                        rows_per_step)
            if self.recorders is not None:
                whole = chunk.start % rows_per_step == 0 and (chunk.stop - chunk.start) % rows_per_step == 0
                self.recorders[index].add(step, chunk.rows, chunk.scores, chunk.gradients,
                                          chunk.start // rows_per_step if whole else None)
            if chunk.start < rows_per_step and self.reads_baseline:
                self._keep_endpoint(index, chunk, step)

    def _keep_endpoint(self, index: int, chunk: Chunk, step: Tensor) -> None:
        """Scores at alpha = 0 are F(x'): no separate pass at the baseline."""
        if self.baseline_values[index] is None:
            self.baseline_values[index] = chunk.scores.new_zeros(self.walk.rows_per_step)
        at_start = step == 0
        self.baseline_values[index][chunk.rows[at_start]] = chunk.scores[at_start]

    def finish(self, index: int, reducer: Reducer | None) -> tuple[Tensor, Tensor, PathTrace | None]:
        """(weighted gradient sum, F(x'), trace) of target `index`."""
        trace = self.recorders[index].finish() if self.recorders is not None else None
        return self.sums[index], self.baseline_values[index], trace


def _accumulate(total: Tensor, weighted: Tensor, start: int, stop: int, rows: Tensor, rows_per_step: int) -> None:
    """Add per-point contributions to their input rows; whole steps sum in a fixed order (deterministic)."""
    if start % rows_per_step == 0 and (stop - start) % rows_per_step == 0:
        total += weighted.view(-1, *total.shape).sum(dim=0)
    else:
        total.index_add_(0, rows, weighted)

