"""A walk from start to finish: probe, walk (fixed or refined), results with their diagnoses.

Sits above every piece it drives (probes, walk, adaptive refinement, diagnosis), so none of them
imports another's orchestration.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .adaptive import endpoint_jumps, refine, unresolved_alpha
from .batching import Forward
from .diagnosis import diagnose, steep_end
from .options import PathOptions
from .probes import probe_many
from .quadrature import nested_rule, path_points
from .result import AttributionResult
from .targets import TargetSpec
from .validation import check_gradient_flow
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
    scores, values, baseline_values = probe_many(forward, x, targets, options.output, top_k,
                                                 baseline=None if starts_at_baseline else baseline)
    walk = PathWalk(forward, scores, baseline, x - baseline, options.batch_size, options.progress, path, options.idgi)
    if not starts_at_baseline and baseline_values is None:
        baseline_values = walk.baseline_scores()
    diagnoses = [None] * len(scores)
    if steps == "auto":
        alphas, weights, streamed, diagnoses = refine(walk, values, baseline_values, rule, options.tol,
                                                      options.max_steps)
        rule, steps = nested_rule(rule), len(alphas)
    else:
        alphas = torch.as_tensor(fixed[0], dtype=x.dtype, device=x.device)
        weights = torch.as_tensor(fixed[1], dtype=x.dtype, device=x.device)
        streamed = walk.stream(alphas, weights, reducer, baseline_values, values)
    finished = [streamed.finish(index, reducer) for index in range(len(scores))]
    if not any(diagnoses) and not walk.direct:
        diagnoses = _diagnoses(walk, values, finished, rule, options.max_steps)
    results = []
    for index, score in enumerate(scores):
        summed, baseline_values, trace = finished[index]
        check_gradient_flow(summed, values[index], baseline_values, steps)
        attributions = walk.attributions(summed)
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
