"""Attribution methods by name, so a check can recompute "the same explanation" on another model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

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

METHODS: dict[str, Callable] = {
    "integrated_gradients": integrated_gradients,
    "blur_integrated_gradients": blur_integrated_gradients,
    "guided_integrated_gradients": guided_integrated_gradients,
    "saliency": saliency,
    "gradient_x_input": gradient_x_input,
    "smoothgrad": smoothgrad,
}

Method = Any  # a name in METHODS, or a callable (model, x, target=...) -> AttributionResult or tensor


def check_method(method: Method) -> None:
    if callable(method) or method in METHODS:
        return
    raise AttributionInputError(
        f"method={method!r} is unknown; use one of {', '.join(METHODS)} or a callable (model, x, target=...) "
        "returning an AttributionResult or a tensor shaped like x"
    )


def explain(method: Method, model: Callable, x: Tensor, target: Any, options: dict | None) -> Tensor:
    """The attributions (shaped like x) of `method` on `model`, with `options` as keywords."""
    function = METHODS[method] if isinstance(method, str) else method
    kwargs = dict(options or {})
    if function in (integrated_gradients, blur_integrated_gradients, guided_integrated_gradients):
        kwargs.setdefault("trace", False)
    result = function(model, x, target=target, **kwargs)
    attributions = result.attributions if isinstance(result, AttributionResult) else result
    if not isinstance(attributions, Tensor) or attributions.shape != x.shape:
        shape = tuple(attributions.shape) if isinstance(attributions, Tensor) else type(attributions).__name__
        raise AttributionInputError(
            f"method {method!r} gave {shape}; it must give attributions shaped like x {tuple(x.shape)}"
        )
    return attributions.detach()


def attribution_map(attributions: Tensor) -> Tensor:
    """Per row, one value per pixel: summed over channels for images [B, C, H, W], else as is."""
    return attributions.sum(dim=1) if attributions.ndim == 4 else attributions
