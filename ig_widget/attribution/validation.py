"""Checks that run before any model call, so a mistake costs nothing and says how to fix it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import torch
from torch import Tensor, nn

from .errors import AttributionInputError, GradientPathError, ModelCallError
from .model_state import model_device, model_dtype, modules_of
from .quadrature import RULES

STEP_LIMIT = 100_000  # steps beyond this are a mistake: Gauss-Legendre converges in far fewer

_RANK_OF_FIRST_LAYER = {nn.Conv1d: 3, nn.Conv2d: 4, nn.Conv3d: 5}


def check_model(model: Callable) -> None:
    if not callable(model):
        raise AttributionInputError(
            f"model must be an nn.Module or a callable returning scores; got {type(model).__name__}"
        )


def check_input(x: Tensor, model: Callable, name: str = "x", finite: bool = True) -> None:
    """A floating, finite tensor with a batch dimension, on the model's device. `finite=False` leaves the
    finite check (a read of the device) to the caller, who reads it with the baseline's
    (`baselines.check_finite_ends`)."""
    if not isinstance(x, Tensor):
        raise AttributionInputError(f"{name} must be a torch.Tensor with a batch dimension; got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        hint = (
            " (integer values look like token ids: explain text with ig_widget.text_integrated_gradients)"
            if not x.dtype.is_complex and x.dtype != torch.bool
            else ""
        )
        raise AttributionInputError(f"{name} has dtype {x.dtype}; gradient methods need a floating-point input{hint}")
    if x.ndim >= 1 and x.shape[0] == 0:
        raise AttributionInputError(f"{name} has shape {tuple(x.shape)}, an empty batch; give at least one row")
    if x.ndim < 2:
        raise AttributionInputError(
            f"{name} has shape {tuple(x.shape)}; it needs a batch dimension first, e.g. {name}.unsqueeze(0)"
        )
    expected = _expected_rank(model)
    if expected is not None and x.ndim == expected - 1:
        raise AttributionInputError(
            f"{name} has shape {tuple(x.shape)} but the model's first layer takes {expected}-d batches; "
            f"add the batch dimension: {name}.unsqueeze(0)"
        )
    if finite and not torch.isfinite(x).all():
        raise not_finite_input(name)
    device = model_device(model)
    if device is not None and device != x.device:
        raise AttributionInputError(
            f"{name} is on {x.device} but the model is on {device}; move the input: {name}.to('{device}')"
        )
    dtype = model_dtype(model)
    if dtype is not None and dtype != x.dtype:
        raise AttributionInputError(
            f"{name} has dtype {x.dtype} but the model's parameters are {dtype}; convert the input: {name}.to({dtype})"
        )


def not_finite_input(name: str = "x") -> AttributionInputError:
    return AttributionInputError(f"{name} contains NaN or inf; attributions need finite inputs")


def check_steps(steps: int, rule: str) -> None:
    if rule not in RULES:
        raise AttributionInputError(f"rule={rule!r} is not a quadrature rule; use one of {', '.join(RULES)}")
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise AttributionInputError(f"steps must be an int (integrated_gradients also takes 'auto'); got {steps!r}")
    minimum = 2 if rule == "riemann_trapezoid" else 1
    if steps < minimum:
        raise AttributionInputError(f"steps={steps} is too small; {rule} needs steps >= {minimum}")
    if steps > STEP_LIMIT:
        raise AttributionInputError(
            f"steps={steps} is more than {STEP_LIMIT}; Gauss-Legendre converges in far fewer (try 64)"
        )


def check_adaptive(tol: float, max_steps: int) -> None:
    """Arguments of steps="auto", checked before any model call."""
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 < tol < 1:
        raise AttributionInputError(f"tol must be a number between 0 and 1 (a relative completeness gap); got {tol!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise AttributionInputError(f"max_steps must be a positive int; got {max_steps!r}")


def check_batch_size(batch_size: int | None) -> None:
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise AttributionInputError(f"batch_size must be a positive int or None (automatic); got {batch_size!r}")


def check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise AttributionInputError(f"seed must be a non-negative int (it fixes every random draw); got {seed!r}")


def check_positive_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise AttributionInputError(f"{name} must be a positive int; got {value!r}")


def check_noise_level(noise_level: float) -> None:
    if isinstance(noise_level, bool) or not isinstance(noise_level, Real) or not 0 <= noise_level < float("inf"):
        raise AttributionInputError(
            f"noise_level must be a finite number >= 0 (a fraction of each row's value range); got {noise_level!r}"
        )


def alpha_values(alphas: Sequence[float] | Tensor, x: Tensor) -> Tensor:
    """The alphas as a flat tensor in x's dtype, checked to be non-empty and finite."""
    try:
        values = torch.as_tensor(alphas, dtype=x.dtype).flatten()
    except (TypeError, ValueError, RuntimeError):
        values = None
    if values is None or values.numel() == 0 or not torch.isfinite(values).all():
        raise AttributionInputError(f"alphas must be a non-empty sequence of finite numbers; got {alphas!r}")
    return values.to(x.device)


def first_model_call(forward: Callable[[Tensor, Tensor], Any], x: Tensor, rows: Tensor) -> Any:
    """The first call on the user's input: a model that rejects it is reported with the input's shape
    and dtype, so a wrong shape reads as such. Out-of-memory errors pass unchanged."""
    try:
        return forward(x, rows)
    except (torch.OutOfMemoryError, AttributionInputError):
        raise
    except Exception as error:
        raise ModelCallError(
            f"the model raised {type(error).__name__} on the input (shape {tuple(x.shape)}, dtype {x.dtype}) "
            f"before any attribution work: {error}. The input must be a batch the model accepts as model(x)"
        ) from error


def check_gradient_flow(path_gradient: Tensor, score: Tensor, baseline_score: Tensor, points: int) -> None:
    """`path_gradient` [B, ...] is the weighted sum of the gradients at the `points` path points of each
    row. A row whose score moved while that sum is exactly zero has a step inside the model (round,
    comparison, integer cast): its attributions would all be zero. One point proves nothing."""
    flat = flat_gradient_rows(path_gradient, score, baseline_score, points)
    if flat is not None and flat.any():
        raise_flat_gradient(flat, score, baseline_score, points)


def flat_gradient_rows(path_gradient: Tensor, score: Tensor, baseline_score: Tensor, points: int) -> Tensor | None:
    """`check_gradient_flow`'s test without reading it: [B] bools, True where a row's score moved while
    its path gradient is exactly zero (None when `points` < 2). Stays on the device until a caller
    reads it with its other checks."""
    if points < 2:
        return None
    moved = (score - baseline_score).abs() > 1e-6 * score.abs().clamp_min(1.0)
    return (path_gradient.flatten(1) == 0).all(dim=1) & moved


def raise_flat_gradient(flat: Tensor, score: Tensor, baseline_score: Tensor, points: int) -> None:
    """The error for the first row of `flat_gradient_rows` that is True."""
    row = int(flat.nonzero()[0, 0])
    raise GradientPathError(
        f"the score of row {row} changes from F(baseline)={float(baseline_score[row]):.4g} to "
        f"F(x)={float(score[row]):.4g}, but its gradient is zero at all {points} path points, so every "
        "attribution would be zero. The model is piecewise constant in its input (a round(), a "
        "comparison or an integer cast?): make it differentiable in its input"
    )


def _expected_rank(model: Callable) -> int | None:
    """Input rank the first layer expects, when the model starts with a convolution."""
    for module in modules_of(model):
        for layer, rank in _RANK_OF_FIRST_LAYER.items():
            if isinstance(module, layer):
                return rank
        if isinstance(module, (nn.Linear, nn.Embedding)):
            return None
    return None
