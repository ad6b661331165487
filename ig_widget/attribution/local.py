"""Gradient methods that look at single points: the input itself, or scaled inputs on the path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
from torch import Tensor

from .baselines import BaselineSpec, Range, make_baseline
from .batching import auto_batch_size, chunked_gradients
from .errors import AttributionInputError
from .model_state import isolated_model
from .probes import plain_forward, probe
from .result import AttributionResult, InteriorGradients
from .targets import TargetSpec, check_target_spec
from .validation import alpha_values as checked_alphas
from .validation import check_batch_size, check_input, check_model
from .walk import straight_path


def saliency(
    model: Callable, x: Tensor, *, target: TargetSpec = None, absolute: bool = False, output: str = "logit"
) -> AttributionResult:
    """The gradient of the target score at the input.

    Parameters
    ----------
    model, x, target, output : as for `integrated_gradients`.
    absolute : default False. |gradient| instead of the signed gradient.
    """
    gradients, result = _gradient_at_input(model, x, target, output, "saliency")
    return _replace_attributions(result, gradients.abs() if absolute else gradients)


def gradient_x_input(
    model: Callable, x: Tensor, *, target: TargetSpec = None, output: str = "logit"
) -> AttributionResult:
    """Gradient times input: IG with a zero baseline and a single step at alpha = 1.

    Parameters
    ----------
    model, x, target, output : as for `integrated_gradients`.
    """
    gradients, result = _gradient_at_input(model, x, target, output, "gradient_x_input")
    return _replace_attributions(result, gradients * result.inputs)


def interior_gradients(
    model: Callable,
    x: Tensor,
    *,
    alphas: Sequence[float] | Tensor = (0.25, 0.5, 0.75, 1.0),
    target: TargetSpec = None,
    baseline: BaselineSpec = "black",
    batch_size: int | None = None,
    output: str = "logit",
    seed: int = 0,
    input_range: Range = None,
) -> InteriorGradients:
    """Gradients at baseline + alpha (x - baseline) for each alpha: where the score still changes
    ("Gradients of Counterfactuals").

    Parameters
    ----------
    alphas : default (0.25, 0.5, 0.75, 1.0). Positions on the path, 0 at the baseline, 1 at `x`: each
        in [0, 1] (beyond them lie inputs the path never reaches).
    model, x, target, baseline, batch_size, output, seed, input_range : as for `integrated_gradients`.
    """
    check_model(model)
    check_input(x, model)
    check_batch_size(batch_size)
    check_target_spec(target, output)
    alpha_values = checked_alphas(alphas, x)
    _check_on_path(alpha_values, alphas)
    x = x.detach()
    base = make_baseline(baseline, x, seed=seed, input_range=input_range)
    forward = plain_forward(isolated_model(model))
    batch = x.shape[0]
    count = alpha_values.numel() * batch
    gradients = x.new_zeros(alpha_values.numel(), *x.shape)
    scores = x.new_zeros(alpha_values.numel(), batch)
    score, _ = probe(forward, x, target, output)
    size = batch_size or auto_batch_size(x[0], batch, count)
    for chunk in chunked_gradients(forward, score, straight_path(base, x - base, alpha_values), count, size):
        step = torch.arange(chunk.start, chunk.stop, device=x.device) // batch
        gradients[step, chunk.rows] = chunk.gradients
        scores[step, chunk.rows] = chunk.scores
    return InteriorGradients(alpha_values, gradients, scores, x, base, score.classes)


def _check_on_path(values: Tensor, alphas: Sequence[float] | Tensor) -> None:
    """Every alpha is a point of the path, in [0, 1]: -2 or 3 extrapolate past the baseline or the input,
    counterfactuals the method does not define (and were computed without a word)."""
    outside = values[(values < 0) | (values > 1)]
    if outside.numel():
        shown = ", ".join(f"{value:g}" for value in outside.tolist()[:5])
        raise AttributionInputError(
            f"alphas={alphas!r} has values outside [0, 1] ({shown}); alphas are positions on the path, 0 at the "
            "baseline and 1 at x"
        )


def _gradient_at_input(model: Callable, x: Tensor, target: TargetSpec, output: str, method: str):
    check_model(model)
    check_input(x, model)
    check_target_spec(target, output)
    x = x.detach()
    forward = plain_forward(isolated_model(model))
    batch = x.shape[0]
    score, values = probe(forward, x, target, output)
    points = lambda start, stop: (x[start:stop], torch.arange(start, stop, device=x.device))
    chunks = list(chunked_gradients(forward, score, points, batch, batch))
    gradients = torch.cat([chunk.gradients for chunk in chunks])
    return gradients, AttributionResult(
        method=method, attributions=gradients, inputs=x, score=values, target=score.classes
    )


def _replace_attributions(result: AttributionResult, attributions: Tensor) -> AttributionResult:
    return replace(result, attributions=attributions)
