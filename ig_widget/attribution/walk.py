"""Walking the straight path: points in chunks, gradient sums per target, and the trace."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from .batching import Chunk, Forward, Progress, auto_batch_size, chunked_multi_gradients, preferred_layout
from .probes import check_baseline_scores
from .result import PathTrace
from .targets import TargetScore
from .trace_reduce import Reducer


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
