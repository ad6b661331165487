"""When a completeness gap is float rounding rather than the path's.

F(x) and F(x') are floating-point numbers: each carries a rounding error of the order of eps * |F|
(eps = 2^-23 for float32), and more from the rounding inside the model. A gap of that size says
nothing about the path or the quadrature, yet divided by a change F(x) - F(x') that is itself only a
few hundred such units it reads as several percent, and no number of steps moves it. Seen on a softmax
output of 0.999985 at x and 0.999988 at the baseline (a gap of 1.9e-7 printed as "incomplete: gap
8.19%"), and on a random-init MobileNet whose score differs by one float32 unit between the ends
(diagnosed as a "jump" holding 200% of F(x) - F(x')).

A gap is "within rounding" when it is at most `ROUNDING_UNITS` units of the larger of |F(x)|, |F(x')|.
The badge then says so instead of calling the attributions incomplete, steps="auto" counts the row as
converged, and no diagnosis is looked for. Attributions that cancel between two scores of zero are not
covered: the floor comes from the scores alone, so it never hides a gap larger than the scores'
own precision.
"""

from __future__ import annotations

import torch
from torch import Tensor

# The badge's "complete" limit: a relative gap below it needs no cause named (diagnosis.DIAGNOSED_GAP).
COMPLETE_GAP = 0.01
# A score from a model carries more than the half unit of its last rounding: the sums and products
# before it add theirs. 16 units of the larger score (2e-6 of it in float32) stays far below any gap a
# quadrature leaves (a 1% relative gap on a change of more than 1600 units is never called rounding).
ROUNDING_UNITS = 16


def rounding_floor(score: Tensor, baseline_score: Tensor) -> Tensor:
    """Per row, the largest completeness gap that the rounding of F(x) and F(x') alone can make:
    `ROUNDING_UNITS` * eps * max(|F(x)|, |F(x')|), in the scores' dtype.

    Args:
        score: F(x) per row.
        baseline_score: F(x') per row (same shape).
    """
    dtype = torch.promote_types(score.dtype, baseline_score.dtype)
    eps = torch.finfo(dtype).eps
    return torch.maximum(score.abs(), baseline_score.abs()).to(dtype) * (ROUNDING_UNITS * eps)


def within_rounding(gap: Tensor, score: Tensor, baseline_score: Tensor) -> Tensor:
    """Per row, whether |gap| is no larger than what the rounding of F(x) and F(x') alone can make
    (`rounding_floor`): such a gap tells nothing about the path.

    Args:
        gap: the completeness gap per row, sum(attributions) - (F(x) - F(x')).
        score: F(x) per row.
        baseline_score: F(x') per row.
    """
    return gap.abs() <= rounding_floor(score, baseline_score)


def reads_as_rounding(relative_gap: float, within: bool) -> bool:
    """Whether a text should call this gap rounding: it is within rounding and its relative gap would
    otherwise read as incomplete (at least `COMPLETE_GAP`); below that the gap reads complete anyway.

    Args:
        relative_gap: the row's relative gap.
        within: the row's `gap_within_rounding`.
    """
    return bool(within) and abs(relative_gap) >= COMPLETE_GAP


def rounding_note(relative_gap: float, within: bool) -> str:
    """What a printed relative gap gets after it where `reads_as_rounding`: " (within float rounding of
    F(x), F(x′))", else nothing.

    Args:
        relative_gap: the row's relative gap.
        within: the row's `gap_within_rounding`.
    """
    return " (within float rounding of F(x), F(x′))" if reads_as_rounding(relative_gap, within) else ""
