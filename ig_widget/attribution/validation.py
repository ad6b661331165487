"""Checks that run before any model call, so a mistake costs nothing and says how to fix it."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from .errors import AttributionInputError
from .model_state import model_device, modules_of
from .quadrature import RULES

MAX_STEPS = 100_000

_RANK_OF_FIRST_LAYER = {nn.Conv1d: 3, nn.Conv2d: 4, nn.Conv3d: 5}


def check_model(model: Callable) -> None:
    if not callable(model):
        raise AttributionInputError(
            f"model must be an nn.Module or a callable returning scores; got {type(model).__name__}"
        )


def check_input(x: Tensor, model: Callable, name: str = "x") -> None:
    """A floating, finite tensor with a batch dimension, on the model's device."""
    if not isinstance(x, Tensor):
        raise AttributionInputError(f"{name} must be a torch.Tensor with a batch dimension; got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        hint = " (integer values look like token ids: explain text with ig_widget.text_integrated_gradients)" \
            if not x.dtype.is_complex and x.dtype != torch.bool else ""
        raise AttributionInputError(
            f"{name} has dtype {x.dtype}; gradient methods need a floating-point input{hint}"
        )
    if x.ndim < 2 or x.shape[0] == 0:
        raise AttributionInputError(
            f"{name} has shape {tuple(x.shape)}; it needs a batch dimension first, e.g. x.unsqueeze(0)"
        )
    expected = _expected_rank(model)
    if expected is not None and x.ndim == expected - 1:
        raise AttributionInputError(
            f"{name} has shape {tuple(x.shape)} but the model's first layer takes {expected}-d batches; "
            f"add the batch dimension: {name}.unsqueeze(0)"
        )
    if not torch.isfinite(x).all():
        raise AttributionInputError(f"{name} contains NaN or inf; attributions need finite inputs")
    device = model_device(model)
    if device is not None and device != x.device:
        raise AttributionInputError(
            f"{name} is on {x.device} but the model is on {device}; move the input: {name}.to('{device}')"
        )


def check_steps(steps: int, rule: str) -> None:
    if rule not in RULES:
        raise AttributionInputError(f"rule={rule!r} is not a quadrature rule; use one of {', '.join(RULES)}")
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise AttributionInputError(f"steps must be an int; got {steps!r}")
    minimum = 2 if rule == "riemann_trapezoid" else 1
    if steps < minimum:
        raise AttributionInputError(f"steps={steps} is too small; {rule} needs steps >= {minimum}")
    if steps > MAX_STEPS:
        raise AttributionInputError(
            f"steps={steps} is more than {MAX_STEPS}; Gauss-Legendre converges in far fewer (try 64)"
        )


def check_batch_size(batch_size: int | None) -> None:
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise AttributionInputError(f"batch_size must be a positive int or None (automatic); got {batch_size!r}")


def _expected_rank(model: Callable) -> int | None:
    """Input rank the first layer expects, when the model starts with a convolution."""
    for module in modules_of(model):
        for layer, rank in _RANK_OF_FIRST_LAYER.items():
            if isinstance(module, layer):
                return rank
        if isinstance(module, (nn.Linear, nn.Embedding)):
            return None
    return None
