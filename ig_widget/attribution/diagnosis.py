"""Why a completeness gap resists more steps, read off the path's own scores and gradients.

The trace holds F at every path point and the attributions accumulated up to it; F(x') and F(x) are
the ends. Between two neighbouring points the score changes by F(b) - F(a), and the gradient along the
path predicts (b - a) times the mean of the directional derivatives at a and b. Where the two disagree
the quadrature cannot follow the score, and more steps help little or not at all:

- at an end of the path ("endpoint_jump"): F changes almost entirely between alpha = 0 and the first
  point (or the last point and 1) while the path's gradient sees none of it. A LayerNorm right after a
  convnet's stem does this with a black baseline: F(alpha x) is almost F(x) for every alpha > 0. No
  number of steps closes that gap; another baseline does.
- inside the path, the score itself jumps between two points ("jump": a step, a rounding or a
  threshold inside the model), which no quadrature integrates;
- or the directional derivative changes abruptly between two points ("kink": a ReLU switching on or
  off along the path), and the gap shrinks only slowly as steps grow.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .result import PathDiagnosis, PathTrace
from .rounding import COMPLETE_GAP, within_rounding

# Relative gaps above this (the badge's green limit) are looked into.
DIAGNOSED_GAP = COMPLETE_GAP
# An interval is named only when what it leaves unexplained is at least this part of the gap.
GAP_PART = 0.5
# An end interval holds a jump when the score changes there by at least this share of F(x) - F(x')
# and the path's gradient explains at most a quarter of that change.
JUMP_SHARE = 0.1
JUMP_EXPLAINED = 0.25
# Checked close to an end: a jump is at least this much done at a tenth of the distance (a smooth
# score would be about a tenth done there).
JUMP_DONE = 0.5
# A kink: the directional derivative jumps at least this many times more than its median change.
KINK_RATIO = 4.0
# Below this many path points a smooth curve seen coarsely looks like a kink: no kink is named.
KINK_MIN_POINTS = 8

REMEDY = (
    "More steps will not close this gap: use another baseline (blur, uniform or gaussian noise, or "
    "data through expected_gradients)."
)
CHANGE = "F(x) \u2212 F(x\u2032)"  # as the view writes it


def diagnosis_needed(trace: PathTrace | None, score: Tensor, baseline_score: Tensor, total: Tensor) -> Tensor | None:
    """Whether `diagnose` can find anything, as a 0-d bool left on the device (None: it cannot), so a
    walk reads it once with its other checks and a small gap costs no host synchronisation of its own.
    The same test as `diagnose`'s first: some row's relative gap passes `DIAGNOSED_GAP`, its gap being
    more than float rounding of its scores."""
    if trace is None or len(trace.alphas) < 2:
        return None
    return ~(_diagnosable_gaps(score, baseline_score, total).max() <= DIAGNOSED_GAP)  # NaN reads as needed


def diagnose(trace: PathTrace | None, score: Tensor, baseline_score: Tensor, total: Tensor) -> PathDiagnosis | None:
    """The diagnosis of the worst row whose relative gap passes `DIAGNOSED_GAP` (a gap within the rounding
    of F(x) and F(x') passes nothing), or None.

    `total` is each row's sum of attributions; the trace must accumulate to it (a trace reduced by a
    custom callable that does not keep sums cannot be read and gives None)."""
    if trace is None or len(trace.alphas) < 2:
        return None
    relative = _diagnosable_gaps(score, baseline_score, total).cpu()
    row = int(relative.argmax())
    if float(relative[row]) <= DIAGNOSED_GAP:
        return None
    cumulative = trace.cumulative[:, row].flatten(1).sum(dim=1).double().cpu()
    if not torch.isclose(cumulative[-1], total[row].double().cpu(), rtol=1e-3, atol=1e-6):
        return None
    return _diagnose_row(
        trace.alphas.double().cpu(),
        trace.weights.double().cpu(),
        trace.scores[:, row].double().cpu(),
        cumulative,
        float(baseline_score[row]),
        float(score[row]),
        float(relative[row]),
    )


def _diagnosable_gaps(score: Tensor, baseline_score: Tensor, total: Tensor) -> Tensor:
    """Each row's relative gap, or 0 where the gap is within the rounding of F(x) and F(x') (rounding.py):
    a path cannot explain what float arithmetic made. NaN stays NaN."""
    change = score - baseline_score
    unexplained = (total - change).abs()
    relative = unexplained / change.abs().clamp_min(torch.finfo(change.dtype).eps)
    return relative.masked_fill(within_rounding(unexplained, score, baseline_score), 0.0)


def _diagnose_row(
    alphas: Tensor, weights: Tensor, scores: Tensor, cumulative: Tensor, start: float, end: float, relative_gap: float
) -> PathDiagnosis | None:
    change = end - start
    slopes = torch.diff(cumulative, prepend=cumulative.new_zeros(1)) / weights  # dF/dalpha at each point
    knots, values, known = _knots(alphas, scores, slopes, start, end)
    lengths = torch.diff(knots)
    actual = torch.diff(values)
    predicted = lengths * _mean_known(known[:-1], known[1:])
    residual = actual - predicted
    worst = int(residual.abs().argmax())
    share = float(residual[worst].abs()) / abs(change)
    low, high = float(knots[worst]), float(knots[worst + 1])
    moved = float(actual[worst].abs())
    if moved >= JUMP_SHARE * abs(change) and float(residual[worst].abs()) >= (1 - JUMP_EXPLAINED) * moved:
        if low == 0.0 or high == 1.0:
            return endpoint_jump(low, high, moved / abs(change))
        return PathDiagnosis(
            kind="jump",
            alpha_from=low,
            alpha_to=high,
            share=moved / abs(change),
            message=(
                f"The score jumps between alpha = {low:.4g} and {high:.4g} ({moved / abs(change):.0%} of "
                f"{CHANGE} happens there, and the gradient at its ends explains little of it): a step, a "
                "rounding or a threshold inside the model, or a very steep rise. Across a true jump more "
                "steps will not close the gap."
            ),
        )
    if share < GAP_PART * relative_gap or low == 0.0 or high == 1.0:
        return None
    steps = torch.diff(slopes).abs()
    if len(steps) < KINK_MIN_POINTS - 1:  # too few points to tell a kink from a smooth curve seen coarsely
        return None
    index = worst - 1 if knots[0] == 0.0 and alphas[0] != 0.0 else worst  # slopes are at path points only
    if not 0 <= index < len(steps):
        return None
    others = torch.cat([steps[:index], steps[index + 1 :]])
    if float(steps[index]) < KINK_RATIO * float(others.median()):
        return None
    return PathDiagnosis(
        kind="kink",
        alpha_from=low,
        alpha_to=high,
        share=share,
        message=(
            f"The gradient along the path changes abruptly between alpha = {low:.3g} and {high:.3g} (a ReLU "
            f"switching, say): there the path's gradient misses {share:.1%} of {CHANGE}, and the gap "
            "shrinks only slowly as steps grow."
        ),
    )


def endpoint_jump(low: float, high: float, share: float) -> PathDiagnosis:
    """A jump of the score within [low, high] at an end of the path, carrying `share` of F(x) - F(x'),
    measured so close to the end that no point set up to max_steps reaches inside it."""
    where = f"between alpha = 0 and {high:.2g}" if low == 0.0 else f"between alpha = {low:.6g} and 1"
    return PathDiagnosis(
        kind="endpoint_jump",
        alpha_from=low,
        alpha_to=high,
        share=share,
        message=(
            f"The score jumps {where}: {share:.0%} of {CHANGE} happens there, and the gradient along "
            "the path does not see it (a normalisation right after the input, such as a LayerNorm after "
            "the stem, makes F(alpha x) almost F(x) for every alpha > 0). " + REMEDY
        ),
    )


def steep_end(low: float, high: float, share: float, points: int) -> PathDiagnosis:
    """The score changes steeply between an end of the path and its nearest point, yet smoothly enough
    that more points close in on it (checked with a pass closer to the end)."""
    where = (
        f"between alpha = 0 and the first point at {high:.2g}"
        if low == 0.0
        else f"between the last point at {low:.6g} and alpha = 1"
    )
    return PathDiagnosis(
        kind="steep_end",
        alpha_from=low,
        alpha_to=high,
        share=share,
        message=(
            f"The score changes by {share:.0%} of {CHANGE} {where}, faster than {points} points can "
            "follow; more steps (or steps='auto') shrink this gap."
        ),
    )


def _knots(alphas: Tensor, scores: Tensor, slopes: Tensor, start: float, end: float):
    """(alphas, F, dF/dalpha) at the path's points with both ends added; NaN where the slope is unknown."""
    nan = torch.tensor([float("nan")], dtype=alphas.dtype)
    knots, values, known = alphas, scores, slopes
    if float(alphas[0]) > 0.0:
        knots = torch.cat([alphas.new_zeros(1), knots])
        values = torch.cat([values.new_tensor([start]), values])
        known = torch.cat([nan, known])
    if float(alphas[-1]) < 1.0:
        knots = torch.cat([knots, alphas.new_ones(1)])
        values = torch.cat([values, values.new_tensor([end])])
        known = torch.cat([known, nan])
    return knots, values, known


def _mean_known(left: Tensor, right: Tensor) -> Tensor:
    """The mean of the two ends' slopes, or the one that is known."""
    both = torch.stack([left, right])
    return torch.nanmean(both, dim=0)
