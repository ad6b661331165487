"""Several explanations of one input side by side, each with the checks that say whether to trust it:
its completeness gap, its deletion and insertion areas, and its sanity check (the Distill article on
baselines, run on the user's own model)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..attribution import (
    AttributionResult,
    blur_integrated_gradients,
    gradient_x_input,
    guided_integrated_gradients,
    integrated_gradients,
    saliency,
    smoothgrad,
)
from ..attribution.errors import AttributionInputError
from ..attribution.model_state import isolated_model
from ..attribution.targets import output_tensor
from .deletion import deletion_insertion
from .sanity import sanity_check


@dataclass(frozen=True)
class ComparedMethod:
    """One method's map of row 0 and its checks; `gap` is None for methods without a path."""

    name: str
    attributions: Tensor  # [C, H, W] or as x[0]
    gap: float | None
    relative_gap: float | None
    deletion_area: float
    insertion_area: float
    sanity_ssim: float | None  # SSIM with the fully randomized model's map; None when not run
    sanity_passed: bool | None


def _methods(steps: int, baselines: Sequence[str]) -> dict[str, Callable]:
    found: dict[str, Callable] = {
        "saliency": lambda m, x, t: saliency(m, x, target=t),
        "gradient × input": lambda m, x, t: gradient_x_input(m, x, target=t),
    }
    for baseline in baselines:
        found[f"IG ({baseline})"] = lambda m, x, t, b=baseline: integrated_gradients(
            m, x, target=t, baseline=b, steps=steps, trace=False
        )
    found["SmoothGrad"] = lambda m, x, t: smoothgrad(m, x, target=t, samples=16)
    found["Blur IG"] = lambda m, x, t: blur_integrated_gradients(m, x, target=t, steps=steps, trace=False)
    found["Guided IG"] = lambda m, x, t: guided_integrated_gradients(m, x, target=t, steps=steps, trace=False)
    return found


def compare_methods(
    model: nn.Module,
    x: Tensor,
    *,
    target: int | None = None,
    steps: int = 32,
    baselines: Sequence[str] = ("black", "blur", "uniform"),
    sanity: bool = True,
    deletion_steps: int = 16,
) -> list[ComparedMethod]:
    """Saliency, gradient x input, IG with each of `baselines`, SmoothGrad, Blur IG and Guided IG on the
    first row of `x`, each with its gap, deletion/insertion areas and (with `sanity`) sanity check.

    `model` must be an nn.Module when `sanity` is True (a copy of it is randomized)."""
    if x.shape[0] != 1:
        raise AttributionInputError(f"x has {x.shape[0]} rows; compare_methods explains one input [1, ...]")
    if target is None:
        with torch.no_grad():
            target = int(output_tensor(isolated_model(model)(x.detach())).argmax(dim=1)[0])
    compared = []
    for name, run in _methods(steps, baselines).items():
        result = run(model, x, target)
        attributions = result.attributions if isinstance(result, AttributionResult) else result
        gap = result.gap if isinstance(result, AttributionResult) else None
        curves = deletion_insertion(model, x, attributions, target=target, steps=deletion_steps)
        check = (
            sanity_check(model, x, target=target, method=lambda m, z, target=None, r=run: r(m, z, target))
            if sanity
            else None
        )
        compared.append(
            ComparedMethod(
                name=name,
                attributions=attributions[0].detach().cpu(),
                gap=None if gap is None else float(gap[0]),
                relative_gap=None if gap is None else float(result.relative_gap[0]),
                deletion_area=float(curves.deletion_area[0]),
                insertion_area=float(curves.insertion_area[0]),
                sanity_ssim=None if check is None else float(check.ssim[-1, 0]),
                sanity_passed=None if check is None else bool(check.passed[0]),
            )
        )
    return compared
