"""A walk from start to finish: probe, walk (fixed or refined), results with their diagnoses.

Sits above every piece it drives (probes, walk, adaptive refinement, diagnosis), so none of them
imports another's orchestration.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .adaptive import endpoint_jumps, refine, unresolved_alpha
from .batching import Forward, path_not_finite
from .diagnosis import diagnose, diagnosis_needed, steep_end
from .options import PathOptions
from .probes import probe_many
from .quadrature import nested_rule, path_points
from .result import AttributionResult
from .targets import TargetSpec
from .validation import flat_gradient_rows, raise_flat_gradient
from .walk import CurvedPath, PathWalk


def integrate_path(
    forward: Forward,
    x: Tensor,
    baseline: Tensor,
    targets: Sequence[TargetSpec],
    options: PathOptions,
    *,
    method: str = "integrated_gradients",
    baseline_label: str | None = None,
    top_k: int | None = None,
    path: CurvedPath | None = None,
) -> list[AttributionResult]:
    """IG of each target's score along baseline -> x, one result per target, in one walk: one forward
    pass per chunk of path points, then one backward pass per target. `top_k` replaces `targets` by
    each row's k top classes. With steps="auto" the path is refined until every target's relative
    completeness gap is at most `options.tol` (see `adaptive.py`). `path`: a curved path from `baseline`
    (its first point) to x instead of the straight line (Blur IG); with it, or with `options.idgi`, steps
    must be an int and no diagnosis is made (its probes walk the straight line)."""
    rule, steps, reducer = options.rule, options.steps, options.reducer
    # F(x') comes from the path itself where the rule evaluates alpha = 0 (left sums, trapezoid),
    # else from the probe's pass, which then runs on x and x' together.
    fixed = None if steps == "auto" else path_points(rule, steps)
    starts_at_baseline = fixed is not None and fixed[0][0] == 0.0
    scores, values, baseline_values = probe_many(
        forward, x, targets, options.output, top_k, baseline=None if starts_at_baseline else baseline
    )
    walk = PathWalk(forward, scores, baseline, x - baseline, options.batch_size, options.progress, path, options.idgi)
    if not starts_at_baseline and baseline_values is None:
        baseline_values = walk.baseline_scores()
    diagnoses = [None] * len(scores)
    if steps == "auto":
        alphas, weights, streamed, diagnoses = refine(
            walk, values, baseline_values, rule, options.tol, options.max_steps
        )
        rule, steps = nested_rule(rule), len(alphas)
    else:
        alphas = torch.as_tensor(fixed[0], dtype=x.dtype, device=x.device)
        weights = torch.as_tensor(fixed[1], dtype=x.dtype, device=x.device)
        walk.deferred = []  # the path's finite flag, read below with the other checks
        streamed = walk.stream(alphas, weights, reducer, baseline_values, values)
    finished = [streamed.finish(index, reducer) for index in range(len(scores))]
    diagnose_now = not any(diagnoses) and not walk.direct
    small = _check_walk(walk, values, finished, steps, diagnose_now)
    if diagnose_now:
        diagnoses = _diagnoses(walk, values, finished, rule, options.max_steps, small)
    results = []
    for index, score in enumerate(scores):
        summed, baseline_values, trace = finished[index]
        attributions = walk.attributions(summed)
        results.append(
            AttributionResult(
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
            )
        )
    return results


def _check_walk(walk: PathWalk, values: list[Tensor], finished: list, steps: int, diagnose_now: bool) -> list[bool]:
    """Every check the finished walk needs, read from the device at once: the path's scores and
    gradients are finite, each target's gradient flows (see `check_gradient_flow`), and whether any
    gap is large enough to diagnose. One host synchronisation when all is well. Returns, per target,
    whether its gap is too small to diagnose (then `_diagnoses` skips it)."""
    finite = walk.deferred or []
    walk.deferred = None
    flat = [
        flat_gradient_rows(summed, value, baseline_values, steps)
        for value, (summed, baseline_values, _) in zip(values, finished)
    ]
    needed = [
        diagnosis_needed(trace, value, baseline_values, _total(walk, summed)) if diagnose_now else None
        for value, (summed, baseline_values, trace) in zip(values, finished)
    ]
    flags = (
        [~each for each in finite]
        + [each.any() for each in flat if each is not None]
        + [each for each in needed if each is not None]
    )
    if not flags or not bool(torch.stack(flags).any()):
        return [True] * len(needed)
    if any(not bool(each) for each in finite):
        raise path_not_finite()
    for value, (_, baseline_values, _), rows in zip(values, finished, flat):
        if rows is not None and rows.any():
            raise_flat_gradient(rows, value, baseline_values, steps)
    return [each is None or not bool(each) for each in needed]


def _total(walk: PathWalk, summed: Tensor) -> Tensor:
    """Each row's sum of attributions (the straight path's weighted gradient sum times x - x')."""
    return (summed * walk.difference).flatten(1).sum(dim=1)


def _diagnoses(
    walk: PathWalk, values: list[Tensor], finished: list, rule: str, max_steps: int, small: list[bool]
) -> list:
    """Per target, why its gap resists more steps (see `diagnosis.py`), or None. A jump at an end of the
    path seen between the end and its nearest point is checked with one gradient-free pass closer to
    the end than steps="auto" would ever come: there it is a jump, else a steep stretch that more steps
    resolve. Targets whose gap `_check_walk` found small are not looked at (no host synchronisation)."""
    found = [
        None if small else diagnose(trace, value, baseline_values, _total(walk, summed))
        for small, value, (summed, baseline_values, trace) in zip(small, values, finished)
    ]
    if not any(d is not None and d.kind == "endpoint_jump" for d in found):
        return found
    confirmed = endpoint_jumps(walk, values, [each[1] for each in finished], unresolved_alpha(rule, max_steps))
    for index, (seen, sure) in enumerate(zip(found, confirmed)):
        if seen is not None and seen.kind == "endpoint_jump":
            points = len(finished[index][2].alphas)
            found[index] = sure or steep_end(seen.alpha_from, seen.alpha_to, seen.share, points)
    return found
