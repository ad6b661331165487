"""steps="auto": refine the path until completeness holds to a tolerance, reusing every gradient.

The point sets of a nested rule grow so that each contains the previous one (Fejer's second rule
doubles 7 -> 15 -> 31 ...), so a refinement evaluates only the new points; the stored gradients of
the old ones are reweighted. Refinement stops once every row's relative completeness gap
|sum(attributions) - (F(x) - F(x'))| / |F(x) - F(x')| is at most `tol`, or at `max_steps` points
(with a warning that names the gap reached), or earlier where more points cannot help (a jump of the
score at an end of the path, or a gap that stopped shrinking). For several targets the denominator is the largest
|F(x) - F(x')| among them in that row.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor

from .batching import path_not_finite
from .diagnosis import JUMP_DONE, JUMP_SHARE, endpoint_jump
from .quadrature import nested_counts, nested_rule, path_points
from .result import PathDiagnosis, PathTrace
from .rounding import within_rounding
from .trace_reduce import Reducer
from .walk import PathRecorder, PathWalk, straight_path


class StoredPath:
    """Scores and full gradients at every evaluated point, per target, in evaluation order."""

    def __init__(self, walk: PathWalk):
        self.walk = walk
        self.alphas: list[float] = []
        self.scores: list[list[Tensor]] = [[] for _ in walk.scores]  # per target: [steps_i, B] pieces
        self.gradients: list[list[Tensor]] = [[] for _ in walk.scores]  # per target: [steps_i, B, ...]
        self.baseline_values: list[Tensor] = []
        self.order: Tensor | None = None
        self.weights: Tensor | None = None

    def evaluate(self, alphas: np.ndarray) -> None:
        """Gradients at the new points `alphas` (float64), appended to what is stored."""
        shape = (len(alphas), self.walk.rows_per_step)
        pieces = [([], []) for _ in self.walk.scores]
        difference = self.walk.difference
        stored = sum(piece.nbytes for per_target in self.gradients for piece in per_target)
        kept = stored + len(self.walk.scores) * len(alphas) * difference.nbytes  # what this call adds
        points = torch.as_tensor(alphas, dtype=difference.dtype, device=difference.device)
        for chunks in self.walk.chunks(points, kept):
            for (scores, gradients), chunk in zip(pieces, chunks):
                scores.append(chunk.scores)
                gradients.append(chunk.gradients)
        for index, (scores, gradients) in enumerate(pieces):
            self.scores[index].append(torch.cat(scores).view(shape))
            self.gradients[index].append(torch.cat(gradients).view(*shape, *self.walk.difference.shape[1:]))
        self.alphas += alphas.tolist()

    def select(self, alphas: np.ndarray, weights: np.ndarray) -> None:
        """Use the stored points at `alphas` (all evaluated already) with `weights`."""
        position = {_key(alpha): index for index, alpha in enumerate(self.alphas)}
        self.order = torch.tensor([position[_key(alpha)] for alpha in alphas], device=self.walk.difference.device)
        self.weights = torch.as_tensor(weights, dtype=self.walk.difference.dtype, device=self.walk.difference.device)

    def weighted_sum(self, index: int) -> Tensor:
        gradients = torch.cat(self.gradients[index])[self.order]
        return torch.tensordot(self.weights, gradients, dims=1)

    def gaps(self, values: list[Tensor]) -> Tensor:
        """Largest relative completeness gap over rows, per target. With several targets each row's
        gaps are relative to the largest score change among them, so a class whose score barely
        moves (a near-zero denominator) cannot hold every other class at max_steps; a gap within the
        rounding of its own F(x) and F(x') counts as none."""
        changes = torch.stack([value - base for value, base in zip(values, self.baseline_values)])
        scale = changes.abs().amax(dim=0).clamp_min(torch.finfo(changes.dtype).eps)
        largest = []
        for index, change in enumerate(changes):
            total = (self.weighted_sum(index) * self.walk.difference).flatten(1).sum(dim=1)
            unexplained = (total - change).abs()
            # a gap within the rounding of F(x) and F(x') is converged: no number of steps moves it
            unexplained = unexplained.masked_fill(
                within_rounding(unexplained, values[index], self.baseline_values[index]), 0.0
            )
            largest.append((unexplained / scale).max())
        return torch.stack(largest)

    def finish(self, index: int, reducer: Reducer | None) -> tuple[Tensor, Tensor, PathTrace | None]:
        """(weighted gradient sum, F(x'), trace) of target `index` over the selected points."""
        trace = None
        if reducer is not None:
            alphas = torch.as_tensor(np.asarray(self.alphas), dtype=self.weights.dtype, device=self.weights.device)
            recorder = PathRecorder(reducer, alphas[self.order], self.weights, self.walk.difference)
            gradients = torch.cat(self.gradients[index])[self.order]
            scores = torch.cat(self.scores[index])[self.order]
            steps = torch.arange(len(self.order), device=self.order.device).repeat_interleave(self.walk.rows_per_step)
            rows = torch.arange(self.walk.rows_per_step, device=self.order.device).repeat(len(self.order))
            recorder.add(steps, rows, scores.flatten(), gradients.flatten(0, 1))
            trace = recorder.finish()
        return self.weighted_sum(index), self.baseline_values[index], trace


def refine(walk: PathWalk, values: list[Tensor], baseline_values: list[Tensor], rule: str, tol: float, max_steps: int):
    """Evaluate nested point sets until every target's gap is at most `tol` (F(x) = `values`,
    F(x') = `baseline_values`, per target); return (alphas, weights, StoredPath, diagnoses) for the
    final set, `diagnoses` holding one PathDiagnosis or None per target.

    Refinement gives up early, with a warning, where more points cannot help: when the score jumps
    right at an end of the path (looked for once the first set misses `tol`, with one gradient-free
    pass closer to each end than any point up to `max_steps` comes), or when two rounds in a row shrank the gap by less
    than a quarter.
    """
    rule = nested_rule(rule)
    path = StoredPath(walk)
    path.baseline_values = baseline_values
    counts = nested_counts(rule, max_steps)
    dtype, device = walk.difference.dtype, walk.difference.device
    diagnoses: list[PathDiagnosis | None] = [None] * len(values)
    history: list[float] = []
    for count in counts:
        alphas, weights = path_points(rule, count)
        known = {_key(alpha) for alpha in path.alphas}
        new = np.array([alpha for alpha in alphas if _key(alpha) not in known])
        walk.deferred = []  # the round's finite flag, read with its gaps: one wait for the device per round
        if len(new):
            path.evaluate(new)
        path.select(alphas, weights)
        worst = _read_round(path.gaps(values).max(), walk)
        history.append(worst)
        if worst <= tol:
            break
        if len(history) == 1:
            diagnoses = endpoint_jumps(walk, values, baseline_values, unresolved_alpha(rule, max_steps))
            if any(diagnoses):
                jump = next(d for d in diagnoses if d is not None)
                warnings.warn(
                    f"steps='auto' stopped at {count} points with a relative completeness gap of "
                    f"{worst:.3g} > tol={tol}. {jump.message}",
                    stacklevel=4,
                )
                break
        elif len(history) >= 3 and history[-1] > 0.75 * history[-2] and history[-2] > 0.75 * history[-3]:
            warnings.warn(
                f"steps='auto' stopped at {count} points: the relative completeness gap went "
                f"{' -> '.join(f'{gap:.3g}' for gap in history[-3:])} over the last rounds, so more points are not "
                f"helping (tol={tol}); check the model for discontinuities along the path, or try another baseline",
                stacklevel=4,
            )
            break
    else:
        warnings.warn(
            f"steps='auto' stopped at max_steps={max_steps} ({count} points of the {rule} rule) with a relative "
            f"completeness gap of {worst:.3g} > tol={tol}; raise max_steps or tol, or check the model for "
            "discontinuities along the path",
            stacklevel=4,
        )
    return torch.as_tensor(alphas, dtype=dtype, device=device), path.weights, path, diagnoses


def _read_round(worst: Tensor, walk: PathWalk) -> float:
    """The round's largest gap, read from the device together with its points' finite flags; raises
    when a score or gradient of the round was NaN or inf."""
    flags, walk.deferred = walk.deferred, None
    if not flags:
        return float(worst)
    gap, finite = torch.stack([worst, torch.stack(flags).all().to(worst.dtype)]).tolist()
    if not finite:
        raise path_not_finite()
    return gap


def unresolved_alpha(rule: str, max_steps: int) -> float:
    """Half the distance from an end of the path to the nearest point of the largest point set that
    steps="auto" may use: a change of the score closer to the end than this, no refinement sees."""
    counts = nested_counts(rule, max_steps)
    return float(path_points(nested_rule(rule), counts[-1])[0][0]) / 2


def endpoint_jumps(
    walk: PathWalk, values: list[Tensor], baseline_values: list[Tensor], near_end: float
) -> list[PathDiagnosis | None]:
    """Per target, a jump of the score within `near_end` of either end of the path, or None.

    One gradient-free pass at alpha = near_end / 10 and near_end from each end. A jump is a change of at
    least JUMP_SHARE of F(x) - F(x') that is already (mostly) done at a tenth of the distance: a smooth
    score that changes that much there would change about a tenth as much at a tenth of the distance.
    """
    tenth = near_end / 10
    near = torch.tensor(
        [tenth, near_end, 1.0 - near_end, 1.0 - tenth], dtype=walk.difference.dtype, device=walk.difference.device
    )
    points, rows = straight_path(walk.baseline, walk.difference, near)(0, 4 * walk.rows_per_step)
    found: list[PathDiagnosis | None] = []
    with torch.no_grad():
        raw = walk.forward(points, rows)
        for score, end, start in zip(walk.scores, values, baseline_values):
            close, near_start, near_finish, closest = score(raw, rows).detach().view(4, -1)
            change = (end - start).abs().clamp_min(torch.finfo(end.dtype).eps)
            at_start, at_start_tenth = (near_start - start).abs(), (close - start).abs()
            at_end, at_end_tenth = (end - near_finish).abs(), (end - closest).abs()
            jumps = torch.stack(
                [
                    torch.where(at_start_tenth >= JUMP_DONE * at_start, at_start / change, 0.0),
                    torch.where(at_end_tenth >= JUMP_DONE * at_end, at_end / change, 0.0),
                ]
            )
            best, share = torch.stack([jumps.argmax().to(jumps.dtype), jumps.max()]).tolist()  # one read
            which, row = divmod(int(best), jumps.shape[1])
            if share < JUMP_SHARE:
                found.append(None)
            else:
                found.append(
                    endpoint_jump(0.0, near_end, share) if which == 0 else endpoint_jump(1.0 - near_end, 1.0, share)
                )
    return found


def _key(alpha: float) -> int:
    """Points of nested sets match to rounding: compare alphas on a 1e-12 grid."""
    return round(float(alpha) * 1e12)
