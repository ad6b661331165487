"""Walking a path: points in chunks, gradient sums per target, and the trace.

The straight path baseline -> x is the default and its code is untouched by the others: a curved
path (Blur IG's, see `paths/blur.py`) supplies its own points and velocities, and IDGI
(`paths/idgi.py`) replaces the weighted gradient sum by its own per-point terms.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import torch
from torch import Tensor

from .batching import (
    Chunk,
    Forward,
    PointMaker,
    Progress,
    RidingEnds,
    auto_batch_size,
    chunked_multi_gradients,
    preferred_layout,
    repeated_rows,
)
from .probes import check_baseline_scores
from .result import PathTrace
from .targets import TargetScore
from .trace_reduce import Reducer


def straight_path(baseline: Tensor, difference: Tensor, alphas: Tensor):
    """Point k * B + b is baseline[b] + alphas[k] * difference[b]: step-major, so a chunk holds whole steps."""
    rows_per_step = baseline.shape[0]
    trailing = (1,) * (baseline.ndim - 1)

    rows_of = {}  # points per chunk -> their rows, made once: chunks of whole steps share them
    # One row per step: the points broadcast from [steps, 1, ...] alphas without reshaping (fewer operator
    # calls per chunk, see benchmarks/op_counts.py); several rows: [steps, 1, 1, ...] then a view.
    shaped = alphas.view(-1, *trailing) if rows_per_step == 1 else alphas.view(-1, 1, *trailing)

    def make_points(start: int, stop: int) -> tuple[Tensor, Tensor]:
        count = stop - start
        if start % rows_per_step == 0 and count % rows_per_step == 0:  # whole steps: broadcast, no index lists
            first, last = start // rows_per_step, stop // rows_per_step
            points = torch.addcmul(baseline, shaped[first:last], difference)
            if count not in rows_of:
                rows_of[count] = repeated_rows(rows_per_step, last - first, baseline.device)
            if rows_per_step > 1:
                points = points.view(count, *baseline.shape[1:])
            return points, rows_of[count]
        index = torch.arange(start, stop, device=baseline.device)
        step, rows = index // rows_per_step, index % rows_per_step
        return torch.addcmul(baseline[rows], alphas[step].view(-1, *trailing), difference[rows]), rows

    make_points.fresh = True  # new tensors every call: the chunk may take them as its leaves, no detach
    return make_points


class CurvedPath(Protocol):
    """A path from a start to x that is not a straight line, as the walk needs it.

    `maker(alphas)` gives make_points(start, stop) -> (points, rows) for flat point indices
    (step-major, like `straight_path`); `velocity(alphas, start, stop)` gives d(point)/d(alpha) at
    those points, [m, ...]; `start` is the path's first point, [B, ...].
    """

    start: Tensor

    def maker(self, alphas: Tensor) -> PointMaker: ...

    def velocity(self, alphas: Tensor, start: int, stop: int) -> Tensor: ...


class PathRecorder:
    """Collects the trace: scores, reduced gradients and reduced attribution increments per point."""

    def __init__(self, reducer: Reducer, alphas: Tensor, weights: Tensor, difference: Tensor, weighted: bool = True):
        self.reducer, self.alphas, self.weights, self.difference = reducer, alphas, weights, difference
        self.weighted = weighted  # False: increments are already whole terms of the sum (IDGI)
        steps, batch = len(alphas), difference.shape[0]
        reduced_shape = reducer(difference[:1]).shape[1:]
        self.scores = difference.new_zeros(steps, batch)
        self.gradients = difference.new_zeros(steps, batch, *reduced_shape)
        self.increments = difference.new_zeros(steps, batch, *reduced_shape)

    def add(
        self, steps: Tensor, rows: Tensor, scores: Tensor, gradients: Tensor, first_step: int | None = None
    ) -> None:
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
            -1, *self.increments.shape[1:]
        )

    def add_terms(
        self, steps: Tensor, rows: Tensor, scores: Tensor | None, gradients: Tensor | None, terms: Tensor | None
    ) -> None:
        """Record points (steps[i], rows[i]) whose increments are given whole (a curved path's
        gradient x velocity, or IDGI's terms); any of the three may be None (recorded elsewhere)."""
        if scores is not None:
            self.scores[steps, rows] = scores
        if gradients is not None:
            self.gradients[steps, rows] = self.reducer(gradients)
        if terms is not None:
            self.increments[steps, rows] = self.reducer(terms)

    def held_bytes(self) -> int:
        """Bytes the trace holds for the whole walk, with the cumulative sum it adds at the end."""
        return self.scores.nbytes + self.gradients.nbytes + 2 * self.increments.nbytes

    def finish(self, points: Tensor | None = None) -> PathTrace:
        return _trace(self.alphas, self.weights, self.scores, self.gradients, self.increments, self.weighted, points)


def _own(reduced: Tensor, source: Tensor) -> Tensor:
    """`reduced`, copied when it is a smaller view into `source` (a reducer that slices): kept for the
    whole walk, a view would hold every chunk's full gradients alive."""
    if reduced.numel() < source.numel() and reduced.untyped_storage().data_ptr() == source.untyped_storage().data_ptr():
        return reduced.clone()
    return reduced


def _trace(
    alphas: Tensor,
    weights: Tensor,
    scores: Tensor,
    gradients: Tensor,
    increments: Tensor,
    weighted: bool = True,
    points: Tensor | None = None,
) -> PathTrace:
    """The trace from per-point scores, reduced gradients and reduced increments: cumulative sums."""
    if weighted:
        increments = increments * weights.view((-1,) + (1,) * (increments.ndim - 1))
    return PathTrace(alphas, weights, scores, gradients, torch.cumsum(increments, dim=0), points)


class StepRecorder:
    """The straight walk's trace, kept as one piece per chunk of whole steps and joined once at the end:
    per chunk only the reductions, no writes into buffers (see benchmarks/op_counts.py). A chunk that
    is not whole steps (a row split across chunks) moves what was kept into a `PathRecorder`."""

    def __init__(self, reducer: Reducer, alphas: Tensor, weights: Tensor, difference: Tensor):
        self.reducer, self.alphas, self.weights, self.difference = reducer, alphas, weights, difference
        self.pieces: list[tuple[Tensor, Tensor, Tensor]] = []  # scores, gradients, increments per chunk
        self.buffers: PathRecorder | None = None
        self.reduced_numel = reducer(difference[:1]).numel()  # one point's reduced map

    def held_bytes(self) -> int:
        """Bytes the trace holds for the whole walk, with the cumulative sum it adds at the end."""
        points = len(self.alphas) * self.difference.shape[0]
        return points * self.difference.element_size() * (1 + 3 * self.reduced_numel)

    def add(
        self, steps: Tensor, rows: Tensor, scores: Tensor, gradients: Tensor, first_step: int | None = None
    ) -> None:
        """As `PathRecorder.add`."""
        if first_step is None or self.buffers is not None:
            if self.buffers is None:
                self.buffers = PathRecorder(self.reducer, self.alphas, self.weights, self.difference)
                done, batch = 0, self.difference.shape[0]
                for kept in self.pieces:  # per point, in step order: by step into the buffers
                    count = kept[0].shape[0] // batch
                    span = slice(done, done + count)
                    self.buffers.scores[span] = kept[0].view(count, batch)
                    self.buffers.gradients[span] = kept[1].view(count, batch, *kept[1].shape[1:])
                    self.buffers.increments[span] = kept[2].view(count, batch, *kept[2].shape[1:])
                    done = span.stop
            self.buffers.add(steps, rows, scores, gradients, first_step)
            return
        if self.difference.shape[0] == 1:  # x - x' broadcasts over the chunk's points as it is
            product = gradients * self.difference
        else:
            product = (gradients.view(-1, *self.difference.shape) * self.difference).view_as(gradients)
        pieces = (scores, _own(self.reducer(gradients), gradients), _own(self.reducer(product), product))
        self.pieces.append(pieces)  # per point; by step at the end

    def finish(self, points: Tensor | None = None) -> PathTrace:
        if self.buffers is not None:
            return self.buffers.finish(points)
        steps, batch = len(self.alphas), self.difference.shape[0]
        columns = [list(column) for column in zip(*self.pieces)]  # scores, gradients, increments
        self.pieces = []
        joined = []
        for column in columns:  # each joined, then its pieces let go: never every piece and every join at once
            joined.append(torch.cat(column) if len(column) > 1 else column[0])
            column.clear()
        del columns
        scores, gradients, increments = (each.view(steps, batch, *each.shape[1:]) for each in joined)
        del joined
        # In place: the joined increments are this recorder's own (a fresh product, or a fresh join)
        increments.mul_(self.weights.view((-1,) + (1,) * (increments.ndim - 1)))
        return PathTrace(self.alphas, self.weights, scores, gradients, increments.cumsum_(dim=0), points)


class PathWalk:
    """Gradients of several target scores at chosen path points, one forward pass per chunk."""

    def __init__(
        self,
        forward: Forward,
        scores: list[TargetScore],
        baseline: Tensor,
        difference: Tensor,
        batch_size: int | None,
        progress: Progress | None,
        path: CurvedPath | None = None,
        idgi: bool = False,
    ):
        self.forward, self.scores, self.baseline, self.difference = forward, scores, baseline, difference
        self.batch_size, self.progress = batch_size, progress
        self.layout = preferred_layout(baseline)
        self.path, self.idgi = path, idgi  # None: the straight line baseline + alpha * difference
        # A list: the chunks' finite flags are appended to it unread, for the caller to read once with
        # its other checks (see `chunked_multi_gradients`); None: each walk reads its own at its end.
        self.deferred: list | None = None
        # x (and x') riding in the first chunk of the next `stream`, which fixes `scores` from them.
        self.ends: RidingEnds | None = None
        # The sum of every score a deferred straight walk saw (None without a trace): NaN or inf in any
        # of them reaches it.
        self.seen_scores_total: Tensor | None = None

    @property
    def direct(self) -> bool:
        """Whether the walk's sums are the attributions themselves (a curved path, IDGI), rather than
        the weighted gradient sums that the straight path multiplies by x - x' at the end."""
        return self.path is not None or self.idgi

    def attributions(self, summed: Tensor) -> Tensor:
        """The attributions from what `StreamedPath.finish` returns."""
        return summed if self.direct else summed * self.difference

    @property
    def rows_per_step(self) -> int:
        return self.baseline.shape[0]

    def chunks(self, alphas: Tensor, kept_bytes: int = 0, check_finite: bool = True) -> Iterator[list[Chunk]]:
        """Per chunk, one Chunk per target for points baseline + alphas[k] * difference (step-major).
        `kept_bytes`: what the caller holds besides the chunk, taken out of the automatic batch budget."""
        count = len(alphas) * self.rows_per_step
        size = self.batch_size or auto_batch_size(self.baseline[0], self.rows_per_step, count, kept_bytes)
        make_points = (
            straight_path(self.baseline, self.difference, alphas) if self.path is None else self.path.maker(alphas)
        )
        ends, self.ends = self.ends, None  # they ride once
        yield from chunked_multi_gradients(
            self.forward,
            self.scores,
            make_points,
            count,
            size,
            self.progress,
            self.layout,
            self.deferred,
            check_finite,
            ends,
        )

    def baseline_scores(self) -> list[Tensor]:
        """F(x') for every target from one gradient-free pass at the baseline."""
        rows = torch.arange(self.rows_per_step, device=self.baseline.device)
        with torch.no_grad():
            raw = self.forward(self.baseline, rows)
            values = [score(raw, rows).detach() for score in self.scores]
        check_baseline_scores(values)
        return values

    def stream(
        self,
        alphas: Tensor,
        weights: Tensor,
        reducer: Reducer | None,
        baseline_values: list[Tensor] | None,
        end_values: list[Tensor] | None = None,
    ) -> StreamedPath:
        """Walk all points once, keeping only running sums (and the reduced trace). Without
        `baseline_values` F(x') is read off the path's point at alpha = 0. IDGI needs F(x) per target
        (`end_values`): the last point's score change runs to the input."""
        if self.direct:
            path = DirectPath(self, alphas, weights, reducer, baseline_values, end_values)
        else:
            path = StreamedPath(self, alphas, weights, reducer, baseline_values)
        # A deferred walk checks what it keeps at the end (`StreamedPath.finite`) instead of each chunk's
        # scores and gradients: NaN and inf reach its sums (a curved path's too: times its velocity and
        # weight, NaN either way), so the flag is the same. Not IDGI: its terms divide by the gradient's
        # norm behind a clamp, which could hide them.
        own_check = self.deferred is not None and not self.idgi
        for chunks in self.chunks(alphas, path.kept_bytes(), check_finite=not own_check):
            path.add(chunks)
        if own_check:  # evaluated only when the walk's one test of its gaps fires (see orchestrate)
            self.deferred.append(path.finite)
            # The path's scores are kept only in the trace: without one, NaN or inf among them (with
            # finite gradients) changes no number of the result, and a gap it does change fires the
            # full check (`path.finite`), which reads them too.
            self.seen_scores_total = path.scores_total() if path.recorders is not None else None
        return path


class StreamedPath:
    """Weighted gradient sums per target, accumulated chunk by chunk in a fixed order."""

    def __init__(
        self,
        walk: PathWalk,
        alphas: Tensor,
        weights: Tensor,
        reducer: Reducer | None,
        baseline_values: list[Tensor] | None,
    ):
        self.walk, self.alphas, self.weights = walk, alphas, weights
        count = len(walk.scores)
        self.sums = [torch.zeros_like(walk.difference) for _ in range(count)]
        recorder = StepRecorder if type(self) is StreamedPath else PathRecorder
        self.recorders = (
            [recorder(reducer, alphas, weights, walk.difference) for _ in range(count)] if reducer is not None else None
        )
        self.reads_baseline = baseline_values is None
        self.baseline_values = baseline_values or [None] * count
        self.seen_scores: list[Tensor] = []  # every chunk's scores, for `finite`
        self._flat_sums: list[Tensor] | None = None  # see `_flat_sum`
        self._weight_row: Tensor | None = None

    def kept_bytes(self) -> int:
        """Bytes held for the whole walk: the sums, and the trace with the cumulative sum it adds at the end."""
        held = sum(total.nbytes for total in self.sums)
        return held + sum(recorder.held_bytes() for recorder in self.recorders or [])

    def add(self, chunks: list[Chunk]) -> None:
        rows_per_step = self.walk.rows_per_step
        first = chunks[0]
        whole = first.start % rows_per_step == 0 and (first.stop - first.start) % rows_per_step == 0
        step = None if whole else torch.arange(first.start, first.stop, device=first.rows.device) // rows_per_step
        for index, chunk in enumerate(chunks):
            self.seen_scores.append(chunk.scores)
            total = self.sums[index]
            if whole and total.is_contiguous() and chunk.gradients.is_contiguous():
                # sum_k w_k g_k over the chunk's whole steps as one matrix product, added in place
                first_step, steps = chunk.start // rows_per_step, (chunk.stop - chunk.start) // rows_per_step
                self._flat_sum(index).addmm_(
                    self._weight_row.narrow(1, first_step, steps), chunk.gradients.view(steps, -1)
                )
            else:
                if step is None:
                    step = torch.arange(first.start, first.stop, device=first.rows.device) // rows_per_step
                trailing = (1,) * (chunk.gradients.ndim - 1)
                weighted = chunk.gradients * self.weights[step].view(-1, *trailing)
                _accumulate(total, weighted, chunk.start, chunk.stop, chunk.rows, rows_per_step)
            if self.recorders is not None:
                self.recorders[index].add(
                    step, chunk.rows, chunk.scores, chunk.gradients, chunk.start // rows_per_step if whole else None
                )
            if chunk.start < rows_per_step and self.reads_baseline:
                if step is None:
                    step = torch.arange(first.start, first.stop, device=first.rows.device) // rows_per_step
                self._keep_endpoint(index, chunk, step)

    def _flat_sum(self, index: int) -> Tensor:
        """Target `index`'s running sum as one row [1, B * features] (a view, made once)."""
        if self._flat_sums is None:
            self._flat_sums = [total.view(1, -1) for total in self.sums]
            self._weight_row = self.weights.view(1, -1)
        return self._flat_sums[index]

    def finite(self) -> Tensor:
        """A 0-d flag, left on the device: every score and gradient of the walk was finite. A NaN or inf
        gradient reaches its target's running sum (the weights are not zero), so the sums and the
        scores seen stand for every chunk's values, checked in one pass at the end."""
        kept = [total.reshape(-1) for total in self.sums] + self.seen_scores
        return torch.isfinite(torch.cat(kept)).all()

    def scores_total(self) -> Tensor:
        """The sum of every score seen (0-d): NaN or inf in any score reaches it."""
        seen = self.seen_scores
        return (torch.cat(seen) if len(seen) > 1 else seen[0]).sum()

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


class DirectPath(StreamedPath):
    """Sums that are the attributions themselves: a curved path's weighted gradient x velocity, or
    IDGI's terms (Yang et al., CVPR 2023).

    IDGI keeps, at point k, only the gradient's share along its own direction: the term
    g_k^2 / |g_k|^2 * (F_{k+1} - F_k). F_{k+1} is the next point of the same row, which may sit in the
    next chunk: each row's last point of a chunk waits (`pending`) until it arrives, and the last point
    of the path waits for F(x). The first point's change runs from F(x') (the same score when the rule
    starts at alpha = 0, as in the paper's left Riemann sum), so the terms telescope to F(x) - F(x')
    exactly, whatever the number of steps.
    """

    def __init__(
        self,
        walk: PathWalk,
        alphas: Tensor,
        weights: Tensor,
        reducer: Reducer | None,
        baseline_values: list[Tensor] | None,
        end_values: list[Tensor] | None,
    ):
        super().__init__(walk, alphas, weights, reducer, baseline_values)
        if self.recorders is not None and walk.idgi:
            for recorder in self.recorders:
                recorder.weighted = False
        count = len(walk.scores)
        if walk.idgi:
            if end_values is None:
                raise ValueError("IDGI needs F(x) per target (end_values)")
            self.end_values = end_values
            self.pending = [torch.zeros_like(walk.difference) for _ in range(count)]
            self.pending_scores = [walk.difference.new_zeros(walk.rows_per_step) for _ in range(count)]

    def kept_bytes(self) -> int:
        held = super().kept_bytes()
        return held + (sum(each.nbytes for each in self.pending) if self.walk.idgi else 0)

    def add(self, chunks: list[Chunk]) -> None:
        rows_per_step, walk = self.walk.rows_per_step, self.walk
        first = chunks[0]
        step = torch.arange(first.start, first.stop, device=first.rows.device) // rows_per_step
        trailing = (1,) * (first.gradients.ndim - 1)
        whole = first.start % rows_per_step == 0 and (first.stop - first.start) % rows_per_step == 0
        if not walk.idgi:
            velocity = walk.path.velocity(self.alphas, first.start, first.stop)
            point_weights = None if whole else self.weights[step].view(-1, *trailing)
        for index, chunk in enumerate(chunks):
            if chunk.start < rows_per_step and self.reads_baseline:
                self._keep_endpoint(index, chunk, step)
            if walk.idgi:
                self._add_idgi(index, chunk, step, trailing)
                continue
            self.seen_scores.append(chunk.scores)
            terms = chunk.gradients * velocity
            if whole and terms.is_contiguous() and self.sums[index].is_contiguous():
                # sum_k w_k (g_k * v_k) over the chunk's whole steps as one matrix product, as StreamedPath
                first_step, steps = chunk.start // rows_per_step, (chunk.stop - chunk.start) // rows_per_step
                self._flat_sum(index).addmm_(self._weight_row.narrow(1, first_step, steps), terms.view(steps, -1))
            else:
                if point_weights is None:
                    point_weights = self.weights[step].view(-1, *trailing)
                weighted = terms * point_weights
                _accumulate(self.sums[index], weighted, chunk.start, chunk.stop, chunk.rows, rows_per_step)
            if self.recorders is not None:
                self.recorders[index].add_terms(step, chunk.rows, chunk.scores, chunk.gradients, terms)

    def _add_idgi(self, index: int, chunk: Chunk, step: Tensor, trailing: tuple) -> None:
        rows_per_step = self.walk.rows_per_step
        gradients, rows = chunk.gradients, chunk.rows
        squared = gradients * gradients
        norm = squared.flatten(1).sum(dim=1).view(-1, *trailing)
        unit = squared / norm.clamp_min(torch.finfo(norm.dtype).tiny)  # zero where the gradient is
        count = chunk.stop - chunk.start
        if chunk.start % rows_per_step == 0 and count % rows_per_step == 0:
            self._add_idgi_steps(index, chunk, unit, trailing)
            return
        scores = chunk.scores
        if not self.reads_baseline:  # each row's first point changes from F(x'), not from its own score
            scores = torch.where(step == 0, self.baseline_values[index][rows], scores)
        # The previous point of each row that starts this chunk waited for this chunk's score.
        heads = min(rows_per_step, count)
        head_rows = rows[:heads]
        waiting = self.pending[index][head_rows] * (scores[:heads] - self.pending_scores[index][head_rows]).view(
            -1, *trailing
        )
        self.sums[index].index_add_(0, head_rows, waiting)
        if self.recorders is not None:
            self.recorders[index].add_terms((step[:heads] - 1).clamp_min(0), head_rows, None, None, waiting)
        # Points whose next point is in this chunk get their term now; the last point of each row waits.
        local = torch.arange(count, device=rows.device)
        following = (local + rows_per_step).clamp_max(count - 1)
        change = torch.where(local + rows_per_step < count, scores[following] - scores, torch.zeros_like(scores))
        terms = unit * change.view(-1, *trailing)
        _accumulate(self.sums[index], terms, chunk.start, chunk.stop, rows, rows_per_step)
        if self.recorders is not None:
            self.recorders[index].add_terms(step, rows, chunk.scores, gradients, terms)
        tails = max(0, count - rows_per_step)
        self.pending[index][rows[tails:]] = unit[tails:]
        self.pending_scores[index][rows[tails:]] = scores[tails:]

    def _add_idgi_steps(self, index: int, chunk: Chunk, unit: Tensor, trailing: tuple) -> None:
        """`_add_idgi` for a chunk of whole steps (the usual case): slices instead of index lists."""
        batch = self.walk.rows_per_step
        first, steps = chunk.start // batch, (chunk.stop - chunk.start) // batch
        scores = chunk.scores.view(steps, batch)
        if first == 0 and not self.reads_baseline:
            scores = torch.cat([self.baseline_values[index][None], scores[1:]])
        units = unit.view(steps, batch, *unit.shape[1:])
        recorder = self.recorders[index] if self.recorders is not None else None
        if first > 0:
            waiting = self.pending[index] * (scores[0] - self.pending_scores[index]).view(-1, *trailing)
            self.sums[index] += waiting
            if recorder is not None:
                recorder.increments[first - 1] = recorder.reducer(waiting)
        if steps > 1:
            terms = units[:-1] * (scores[1:] - scores[:-1]).view(steps - 1, batch, *trailing)
            self.sums[index] += terms.sum(dim=0)
            if recorder is not None:
                recorder.increments[first : first + steps - 1] = recorder.reducer(terms.flatten(0, 1)).view(
                    steps - 1, *recorder.increments.shape[1:]
                )
        if recorder is not None:
            recorder.scores[first : first + steps] = chunk.scores.view(steps, batch)
            recorder.gradients[first : first + steps] = recorder.reducer(chunk.gradients).view(
                steps, *recorder.gradients.shape[1:]
            )
        self.pending[index] = units[-1]
        self.pending_scores[index] = scores[-1]

    def finish(self, index: int, reducer: Reducer | None) -> tuple[Tensor, Tensor, PathTrace | None]:
        if self.walk.idgi:
            trailing = (1,) * (self.sums[index].ndim - 1)
            last = self.pending[index] * (self.end_values[index] - self.pending_scores[index]).view(-1, *trailing)
            self.sums[index] += last
            if self.recorders is not None:
                rows = torch.arange(self.walk.rows_per_step, device=last.device)
                steps = torch.full_like(rows, len(self.alphas) - 1)
                self.recorders[index].add_terms(steps, rows, None, None, last)
        return super().finish(index, reducer)
