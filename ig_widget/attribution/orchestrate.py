"""A walk from start to finish: probe, walk (fixed or refined), results with their diagnoses.

Sits above every piece it drives (probes, walk, adaptive refinement, diagnosis), so none of them
imports another's orchestration.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .adaptive import endpoint_jumps, refine, unresolved_alpha
from .batching import EndsRefused, Forward, RidingEnds, path_not_finite, repeated_rows
from .diagnosis import DIAGNOSED_GAP, diagnose, diagnosis_needed, steep_end
from .options import PathOptions
from .probes import probe_many, raise_not_finite_ends, resolve_targets
from .quadrature import nested_rule, path_points, path_tensors
from .result import AttributionResult
from .targets import TargetSpec
from .validation import first_model_call, flat_gradient_rows, raise_flat_gradient
from .walk import CurvedPath, PathWalk, StreamedPath

# Without a diagnosis to make, the walk's one test only needs to catch rows whose gradient was zero
# along the whole path while their score moved: their relative gap is exactly 1.
FLAT_GAP = 0.5


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
    # F(x') comes from the path itself where the rule evaluates alpha = 0 (left sums, trapezoid).
    fixed = None if steps == "auto" else path_points(rule, steps)
    starts_at_baseline = fixed is not None and fixed[0][0] == 0.0
    walked = None
    riding = options.autocast is None  # at lower precision F(x) and F(x') get a full-precision pass of their own
    if riding and fixed is not None and not options.idgi and not any(callable(t) for t in targets):
        try:
            walked = _walk_with_ends(forward, x, baseline, targets, options, top_k, fixed, starts_at_baseline, path)
        except EndsRefused:
            walked = None  # walked again below, the plain way
    ends_unchecked = walked is not None  # F(x), F(x') not yet checked for NaN and inf
    if walked is not None:
        walk, streamed, values, diagnoses, model_output = walked
    else:
        walk, streamed, values, diagnoses, rule, steps, model_output = _walk_after_probe(
            forward, x, baseline, targets, options, top_k, path, starts_at_baseline
        )
    scores = walk.scores
    finished = [streamed.finish(index, reducer) for index in range(len(scores))]
    attributions = [walk.attributions(summed) for summed, _, _ in finished]
    totals = [each.sum(dim=tuple(range(1, each.ndim))) for each in attributions]
    # The diagnosis compares path scores with F(x), F(x'): at lower precision their rounding reads as jumps.
    diagnose_now = not any(diagnoses) and not walk.direct and options.autocast is None
    small = _check_walk(walk, values, finished, totals, steps, diagnose_now, ends_unchecked)
    if diagnose_now:
        diagnoses = _diagnoses(walk, values, finished, totals, rule, options.max_steps, small)
    results = []
    for index, score in enumerate(scores):
        _, baseline_values, trace = finished[index]
        results.append(
            AttributionResult(
                method=method,
                attributions=attributions[index],
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
                model_output=model_output,
            )
        )
    return results


def _walk_with_ends(
    forward: Forward,
    x: Tensor,
    baseline: Tensor,
    targets: Sequence[TargetSpec],
    options: PathOptions,
    top_k: int | None,
    fixed: tuple,
    starts_at_baseline: bool,
    path: CurvedPath | None = None,
) -> tuple[PathWalk, StreamedPath, list[Tensor], list, Tensor]:
    """The walk at fixed steps (straight, or along `path`; not IDGI, whose terms need F(x') from the
    start) with x (and x', unless the path starts there) riding in its first chunk: no pass of their
    own, and their scores read with the walk's one check at its end. Raises `EndsRefused` when the
    first chunk cannot carry them (the caller then probes first)."""
    batch = x.shape[0]
    count = top_k if top_k is not None else len(targets)

    def resolve(output: Tensor) -> list:
        scores = resolve_targets(targets, options.output, output, batch, top_k)
        if len(scores) != count:  # top_k of a model with one score per row: the plain way says so
            raise EndsRefused
        return scores

    riding = [x] if starts_at_baseline else [x, baseline]
    walk = PathWalk(forward, [None] * count, baseline, x - baseline, options.batch_size, options.progress, path)
    alone = lambda: first_model_call(forward, x, torch.arange(batch, device=x.device))  # noqa: E731
    walk.ends = RidingEnds(riding, repeated_rows(batch, len(riding), x.device), resolve, alone)
    walk.deferred = []  # the path's finite flag, read below with the other checks
    alphas, weights = path_tensors(options.rule, len(fixed[0]), x.dtype, x.device)
    at_baseline = None if starts_at_baseline else [None] * count  # filled from the ends after the walk
    ends = walk.ends
    streamed = walk.stream(alphas, weights, options.reducer, at_baseline)
    if at_baseline is None:
        values = ends.values
    else:
        parts = [each.split(batch) for each in ends.values]
        values, at_baseline[:] = [part[0] for part in parts], [part[1] for part in parts]
    return walk, streamed, values, [None] * count, ends.output


def _walk_after_probe(
    forward: Forward,
    x: Tensor,
    baseline: Tensor,
    targets: Sequence[TargetSpec],
    options: PathOptions,
    top_k: int | None,
    path: CurvedPath | None,
    starts_at_baseline: bool,
) -> tuple:
    """The walk after a gradient-free pass at the input (and at the baseline, where the path does not
    start there) that fixes the targets: for steps="auto", IDGI, callable targets, and a first chunk
    that could not carry x and x'."""
    rule, steps, reducer = options.rule, options.steps, options.reducer
    # At lower precision F(x') is not read off the path's first point: its own pass keeps it exact.
    own_baseline_pass = not starts_at_baseline or options.autocast is not None
    scores, values, baseline_values, model_output = probe_many(
        forward, x, targets, options.output, top_k, baseline=baseline if own_baseline_pass else None
    )
    walk = PathWalk(forward, scores, baseline, x - baseline, options.batch_size, options.progress, path, options.idgi)
    if own_baseline_pass and baseline_values is None:
        baseline_values = walk.baseline_scores()
    if options.autocast is not None:
        walk.forward = _autocast_forward(forward, options.autocast)
    diagnoses = [None] * len(scores)
    if steps == "auto":
        alphas, weights, streamed, diagnoses = refine(
            walk, values, baseline_values, rule, options.tol, options.max_steps
        )
        rule, steps = nested_rule(rule), len(alphas)
    else:
        alphas, weights = path_tensors(rule, steps, x.dtype, x.device)
        walk.deferred = []  # the path's finite flag, read below with the other checks
        streamed = walk.stream(alphas, weights, reducer, baseline_values, values)
    return walk, streamed, values, diagnoses, rule, steps, model_output


def _autocast_forward(forward: Forward, dtype: torch.dtype) -> Forward:
    """`forward` under `torch.autocast` at `dtype` on the points' device: the path's passes in lower
    precision; the gradients come back in the points' own dtype (autograd casts them back)."""

    def run(points: Tensor, rows: Tensor):
        with torch.autocast(points.device.type, dtype=dtype):
            return forward(points, rows)

    return run


def _check_walk(
    walk: PathWalk,
    values: list[Tensor],
    finished: list,
    totals: list[Tensor],
    steps: int,
    diagnose_now: bool,
    ends_unchecked: bool,
) -> list[bool]:
    """Every check the finished walk needs, read from the device at once: F(x) and F(x') are finite
    when `ends_unchecked` (they rode in the walk), the path's scores and gradients are finite, each
    target's gradient flows (see `check_gradient_flow`), and whether any gap is large enough to
    diagnose. One host synchronisation when all is well. Returns, per target, whether its gap is too
    small to diagnose (then `_diagnoses` skips it).

    A streamed straight walk leaves its finite check unevaluated (a callable): one cheap test of the
    gaps (`_gaps_within`) comes first, and only when it fires are the checks below evaluated one by one."""
    finite = walk.deferred or []
    walk.deferred = None
    at_baseline = [each[1] for each in finished]
    if finite and all(callable(each) for each in finite):
        threshold = DIAGNOSED_GAP if diagnose_now and finished[0][2] is not None else FLAT_GAP
        if _gaps_within(values, at_baseline, totals, walk.seen_scores_total, threshold):
            return [True] * len(values)
        finite = [each() for each in finite]
    if ends_unchecked:
        finite = [torch.isfinite(torch.cat([value.reshape(-1) for value in values + at_baseline])).all(), *finite]
    flat = [
        flat_gradient_rows(summed, value, baseline_values, steps)
        for value, (summed, baseline_values, _) in zip(values, finished)
    ]
    needed = [
        diagnosis_needed(trace, value, baseline_values, total) if diagnose_now else None
        for value, (_, baseline_values, trace), total in zip(values, finished, totals)
    ]
    flags = (
        [~each for each in finite]
        + [each.any() for each in flat if each is not None]
        + [each for each in needed if each is not None]
    )
    if not flags or not bool(torch.stack(flags).any()):
        return [True] * len(needed)
    if ends_unchecked and not bool(finite[0]):  # F(x), F(x') read with the walk: named before the path
        raise_not_finite_ends(values, at_baseline)
    if any(not bool(each) for each in finite):
        raise path_not_finite()
    for value, (_, baseline_values, _), rows in zip(values, finished, flat):
        if rows is not None and rows.any():
            raise_flat_gradient(rows, value, baseline_values, steps)
    return [each is None or not bool(each) for each in needed]


def _gaps_within(
    values: list[Tensor],
    at_baseline: list[Tensor],
    totals: list[Tensor],
    seen_scores: Tensor | None,
    threshold: float,
) -> bool:
    """Whether every row's relative completeness gap is within `threshold` and every value finite: one
    read of the device, in as few operator calls as the test allows (see benchmarks/op_counts.py).
    NaN and inf in F(x), F(x') or the gradients reach the gaps, and those in the path's scores reach
    `seen_scores` (their sum, when the trace keeps them), which is added times zero; a NaN compares as
    not within. A row whose score moved while its gradient was zero along the whole path has a relative
    gap of exactly 1, above `FLAT_GAP`, so every check of `_check_walk` is behind this one test."""
    change = torch.stack(values) - torch.stack(at_baseline) if len(values) > 1 else values[0] - at_baseline[0]
    total = torch.stack(totals) if len(totals) > 1 else totals[0]
    gap = (total - change).abs()
    if seen_scores is not None:
        gap = torch.add(gap, seen_scores, alpha=0)
    # |gap| <= threshold * (|change| + eps): the relative gap within the threshold, without a division
    within = torch.sub(gap, change.abs(), alpha=threshold) <= threshold * torch.finfo(change.dtype).eps
    return bool(within if within.numel() == 1 else within.all())


def _diagnoses(
    walk: PathWalk,
    values: list[Tensor],
    finished: list,
    totals: list[Tensor],
    rule: str,
    max_steps: int,
    small: list[bool],
) -> list:
    """Per target, why its gap resists more steps (see `diagnosis.py`), or None. A jump at an end of the
    path seen between the end and its nearest point is checked with one gradient-free pass closer to
    the end than steps="auto" would ever come: there it is a jump, else a steep stretch that more steps
    resolve. Targets whose gap `_check_walk` found small are not looked at (no host synchronisation)."""
    found = [
        None if small else diagnose(trace, value, baseline_values, total)
        for small, value, (_, baseline_values, trace), total in zip(small, values, finished, totals)
    ]
    if not any(d is not None and d.kind == "endpoint_jump" for d in found):
        return found
    confirmed = endpoint_jumps(walk, values, [each[1] for each in finished], unresolved_alpha(rule, max_steps))
    for index, (seen, sure) in enumerate(zip(found, confirmed)):
        if seen is not None and seen.kind == "endpoint_jump":
            points = len(finished[index][2].alphas)
            found[index] = sure or steep_end(seen.alpha_from, seen.alpha_to, seen.share, points)
    return found
