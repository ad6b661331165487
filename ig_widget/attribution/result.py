"""The one result object that widgets, plots and tests all read."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .rounding import rounding_floor, within_rounding


@dataclass(frozen=True)
class PathTrace:
    """Everything recorded along the path, one entry per path point (first dimension).

    `gradients` and `cumulative` are reduced as the caller asked (by default summed over channels),
    `cumulative[k]` is the attribution integrated from alpha 0 up to and including point k, so
    `cumulative[-1]` is the reduced attribution map. `points` holds the path's points themselves
    ([steps, batch, ...], unreduced) for a path that is not the straight line (Blur IG, Guided IG),
    whose points cannot be rebuilt from the baseline and alpha; None for the straight path.
    """

    alphas: Tensor  # [steps]
    weights: Tensor  # [steps]
    scores: Tensor  # [steps, batch]: F at each scaled input
    gradients: Tensor  # [steps, batch, *reduced]
    cumulative: Tensor  # [steps, batch, *reduced]
    points: Tensor | None = None  # [steps, batch, ...]: a curved path's points; None on the straight line


@dataclass(frozen=True)
class PathDiagnosis:
    """Why a completeness gap will not shrink by adding steps, found from the path's own scores.

    `kind` is "endpoint_jump" (the score jumps at alpha = 0 or 1: a LayerNorm right after the stem makes
    F(alpha x) almost F(x) for every alpha > 0, so no quadrature sees the change), "steep_end" (a steep
    but smooth change next to an end, which more steps do resolve), "jump" (the score
    jumps inside the path: a step or threshold in the model) or "kink" (the gradient along the path
    changes abruptly between two points, as where a ReLU switches: the gap shrinks only slowly with
    steps). See `attribution/diagnosis.py`. `alpha_from`..`alpha_to` is where it happens, `share` the part of
    |F(x) - F(x')| left unexplained there, `message` a sentence for the user with the remedy.
    """

    kind: str
    alpha_from: float
    alpha_to: float
    share: float
    message: str


@dataclass(frozen=True)
class AttributionResult:
    """Attributions for a batch of inputs, with what is needed to check and display them."""

    method: str
    attributions: Tensor  # same shape as `inputs`
    inputs: Tensor
    score: Tensor  # [batch]: F(x)
    target: Tensor | None = None  # [batch] class indices; None for a callable or scalar target
    baseline: Tensor | None = None
    baseline_score: Tensor | None = None  # [batch]: F(x'), or its mean over sampled baselines
    baseline_name: str | None = None
    rule: str | None = None
    steps: int | None = None
    trace: PathTrace | None = None
    diagnosis: PathDiagnosis | None = None  # why the gap resists more steps, when the path shows it
    # The model's output tensor at x ([batch, ...], detached), from the walk's own pass: every class's
    # score at the input (probabilities, top k) without another forward pass. None where the walk
    # did not read one (a callable target on a model without a score tensor; methods without a path).
    model_output: Tensor | None = None
    # The rows' attribution sums as computed, where `attributions` holds a rounded copy (a data-set
    # store's float16 maps): `total`, `gap` and `relative_gap` then are the computation's, the numbers
    # its table and gallery show, not the rounded copy's (which moved a gap by up to 3 %). None: the sums
    # of `attributions`.
    computed_total: Tensor | None = None

    @property
    def total(self) -> Tensor:
        """Sum of the attributions of each row, [batch] (as computed: see `computed_total`)."""
        if self.computed_total is not None:
            return self.computed_total
        return self.attributions.flatten(1).sum(dim=1)

    @property
    def gap(self) -> Tensor | None:
        """Completeness gap per row: sum(attributions) - (F(x) - F(x')). None without a baseline."""
        if self.baseline_score is None:
            return None
        return self.total - (self.score - self.baseline_score)

    @property
    def relative_gap(self) -> Tensor | None:
        """The gap relative to |F(x) - F(x')|: the share of the score change left unexplained."""
        if self.baseline_score is None:
            return None
        change = (self.score - self.baseline_score).abs()
        return self.gap / change.clamp_min(torch.finfo(change.dtype).eps)

    @property
    def gap_rounding(self) -> Tensor | None:
        """Per row, the largest gap that the float rounding of F(x) and F(x') alone can make
        (`rounding.rounding_floor`). None without a baseline."""
        if self.baseline_score is None:
            return None
        return rounding_floor(self.score, self.baseline_score)

    @property
    def gap_within_rounding(self) -> Tensor | None:
        """Per row, whether the gap is no larger than `gap_rounding`: then it tells nothing about the path,
        however large the relative gap reads (F(x) - F(x') itself is then only a few hundred rounding
        units: a saturated probability, a score that hardly moves). None without a baseline."""
        if self.baseline_score is None:
            return None
        return within_rounding(self.gap, self.score, self.baseline_score)


@dataclass(frozen=True)
class InteriorGradients:
    """Gradients at scaled inputs baseline + alpha (x - baseline), as in "Gradients of Counterfactuals"."""

    alphas: Tensor  # [points]
    gradients: Tensor  # [points, *x.shape]
    scores: Tensor  # [points, batch]
    inputs: Tensor
    baseline: Tensor
    target: Tensor | None = None

    def scaled_inputs(self) -> Tensor:
        """The counterfactual inputs the gradients were taken at, [points, *x.shape]."""
        shape = (-1,) + (1,) * self.inputs.ndim
        return self.baseline + self.alphas.view(shape) * (self.inputs - self.baseline)
