"""Several explanations of one input side by side, each with the checks that say whether to trust it:
its completeness gap, its deletion and insertion areas, and its sanity check (the Distill article on
baselines, run on the user's own model)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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
    # whether the gap is within the float rounding of F(x) and F(x') (AttributionResult.gap_within_rounding)
    gap_within_rounding: bool | None = None


DEFAULT_BASELINES = ("black", "blur", "uniform")


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


def method_names(baselines: Sequence[str] = DEFAULT_BASELINES) -> list[str]:
    """The names `compare_methods` gives its methods, in the order it runs them."""
    return list(_methods(1, baselines))


def compare_methods(
    model: nn.Module,
    x: Tensor,
    *,
    target: int | None = None,
    steps: int = 32,
    baselines: Sequence[str] = DEFAULT_BASELINES,
    sanity: bool = True,
    deletion_steps: int = 16,
) -> list[ComparedMethod]:
    """Saliency, gradient x input, IG with each of `baselines`, SmoothGrad, Blur IG and Guided IG on the
    first row of `x`, each with its gap, deletion/insertion areas and (with `sanity`) sanity check.

    Parameters
    ----------
    model : the nn.Module (an nn.Module when `sanity` is True: a copy of it is randomized; `model` itself
        is never changed).
    x : one input [1, C, H, W] (or [1, ...]).
    target : default None (the top class of `model(x)`). The class every method explains.
    steps : default 32. Points on each path (IG, Blur IG, Guided IG).
    baselines : default ("black", "blur", "uniform"). One IG column per baseline.
    sanity : default True. Run the cascading-randomization sanity check for each method.
    deletion_steps : default 16. Points on the deletion and insertion curves.
    """
    return list(
        iter_compare_methods(
            model, x, target=target, steps=steps, baselines=baselines, sanity=sanity, deletion_steps=deletion_steps
        )
    )


def iter_compare_methods(
    model: nn.Module,
    x: Tensor,
    *,
    target: int | None = None,
    steps: int = 32,
    baselines: Sequence[str] = DEFAULT_BASELINES,
    sanity: bool = True,
    deletion_steps: int = 16,
) -> Iterator[ComparedMethod]:
    """`compare_methods` one method at a time, in the order of `method_names(baselines)`: each is yielded
    as soon as it and its checks are computed (the comparison view shows them as they come)."""
    if x.shape[0] != 1:
        raise AttributionInputError(f"x has {x.shape[0]} rows; compare_methods explains one input [1, ...]")
    target = resolve_target(model, x, target)
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
        yield ComparedMethod(
            name=name,
            attributions=attributions[0].detach().cpu(),
            gap=None if gap is None else float(gap[0]),
            relative_gap=None if gap is None else float(result.relative_gap[0]),
            deletion_area=float(curves.deletion_area[0]),
            insertion_area=float(curves.insertion_area[0]),
            sanity_ssim=None if check is None else float(check.ssim[-1, 0]),
            sanity_passed=None if check is None else bool(check.passed[0]),
            gap_within_rounding=None if gap is None else bool(result.gap_within_rounding[0]),
        )


def resolve_target(model: Callable, x: Tensor, target: int | None) -> int:
    """`target`, or the top class of `model(x)` for row 0 (on the engine's twin: the user's flags untouched)."""
    if target is not None:
        return int(target)
    with torch.no_grad():
        return int(output_tensor(isolated_model(model)(x.detach())).argmax(dim=1)[0])
