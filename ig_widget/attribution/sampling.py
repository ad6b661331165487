"""Methods that average over random draws: SmoothGrad (noisy inputs) and expected gradients
(baselines drawn from data, random points on each path). Every draw comes from a seeded generator."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .baselines import BaselineSpec, Range, baseline_name, make_baseline
from .batching import auto_batch_size, chunked_gradients
from .errors import AttributionInputError
from .model_state import isolated_model
from .options import AUTO_MAX_STEPS, DEFAULT_TOL, PathOptions
from .orchestrate import integrate_path
from .probes import plain_forward, probe, score_at
from .progress import ProgressSpec, progress_callback
from .result import AttributionResult
from .targets import TargetSpec, check_target_spec
from .validation import (
    check_batch_size,
    check_input,
    check_model,
    check_noise_level,
    check_positive_count,
    check_seed,
)

SMOOTHGRAD_METHODS = ("saliency", "gradient_x_input", "integrated_gradients")


def smoothgrad(
    model: Callable,
    x: Tensor,
    *,
    target: TargetSpec = None,
    method: str = "saliency",
    noise_level: float = 0.15,
    samples: int = 25,
    squared: bool = False,
    seed: int = 0,
    batch_size: int | None = None,
    output: str = "logit",
    baseline: BaselineSpec = "black",
    steps: int = 32,
    rule: str = "gausslegendre",
    input_range: Range = None,
) -> AttributionResult:
    """Average a method's attributions over `samples` noisy copies of each input (SmoothGrad).

    With method="integrated_gradients" each noisy copy is explained against its own baseline, and the
    result keeps completeness on average (its scores are the means over the copies).

    Parameters
    ----------
    method : default "saliency". The method averaged: "saliency", "gradient_x_input" or "integrated_gradients".
    noise_level : default 0.15. The noise's standard deviation, as a fraction of each row's value range.
    samples : default 25. Noisy copies per input.
    squared : default False. Average the squared attributions (SmoothGrad-squared).
    steps, rule, baseline : for method="integrated_gradients", as for `integrated_gradients` (steps
        default 32).
    model, x, target, seed, batch_size, output, input_range : as for `integrated_gradients`; `seed` also
        fixes the noise.
    """
    check_model(model)
    check_input(x, model)
    check_batch_size(batch_size)
    check_target_spec(target, output)
    if method not in SMOOTHGRAD_METHODS:
        raise AttributionInputError(f"method={method!r} is unknown; use one of {', '.join(SMOOTHGRAD_METHODS)}")
    check_positive_count("samples", samples)
    check_noise_level(noise_level)
    check_seed(seed)
    options = PathOptions.checked(
        steps=steps,
        rule=rule,
        batch_size=batch_size,
        output=output,
        reducer=None,
        progress=None,
        tol=DEFAULT_TOL,
        max_steps=AUTO_MAX_STEPS,
        description="smoothgrad",
    )
    x = x.detach()
    batch = x.shape[0]
    dims = tuple(range(1, x.ndim))
    sigma = noise_level * (x.amax(dim=dims, keepdim=True) - x.amin(dim=dims, keepdim=True))
    generator = torch.Generator(device="cpu").manual_seed(seed)
    noise = torch.randn((samples, *x.shape), generator=generator, dtype=x.dtype).to(x.device)
    noisy = (x + sigma * noise).flatten(0, 1)  # sample-major: row s * batch + b
    forward = plain_forward(isolated_model(model))
    score, values = probe(forward, x, target, output)
    classes = score.classes.repeat(samples) if score.classes is not None else target
    if method == "integrated_gradients":
        per_copy = integrate_path(
            forward,
            noisy,
            make_baseline(baseline, noisy, seed=seed, input_range=input_range),
            [classes],
            options,
        )[0]
        attributions = _mean_over_samples(per_copy.attributions, samples, squared)
        return AttributionResult(
            method="smoothgrad_integrated_gradients",
            attributions=attributions,
            inputs=x,
            score=per_copy.score.view(samples, batch).mean(0),
            target=score.classes,
            baseline_score=per_copy.baseline_score.view(samples, batch).mean(0),
            baseline_name=baseline_name(baseline),
            rule=rule,
            steps=steps,
        )
    noisy_score, _ = probe(forward, noisy, classes, output)
    size = batch_size or auto_batch_size(x[0], batch, noisy.shape[0])
    points = lambda start, stop: (noisy[start:stop], torch.arange(start, stop, device=x.device))
    gradients = torch.cat([c.gradients for c in chunked_gradients(forward, noisy_score, points, noisy.shape[0], size)])
    per_copy = gradients * noisy if method == "gradient_x_input" else gradients
    return AttributionResult(
        method=f"smoothgrad_{method}",
        attributions=_mean_over_samples(per_copy, samples, squared),
        inputs=x,
        score=values,
        target=score.classes,
    )


def expected_gradients(
    model: Callable,
    x: Tensor,
    *,
    data: Tensor,
    target: TargetSpec = None,
    samples: int = 64,
    seed: int = 0,
    batch_size: int | None = None,
    output: str = "logit",
    progress: ProgressSpec = None,
) -> AttributionResult:
    """IG averaged over baselines drawn from `data`, with one random alpha per draw.

    An unbiased Monte-Carlo estimate (Erion et al.): completeness holds in expectation, against the
    mean score of the drawn baselines, which is what `baseline_score` reports.

    Parameters
    ----------
    data : the baselines to draw from, [N, ...] with the input's per-row shape (a training set, say).
    samples : default 64. Draws (baseline, alpha) per input row.
    seed : default 0. Fixes the draws.
    model, x, target, batch_size, output, progress : as for `integrated_gradients`.
    """
    check_model(model)
    check_input(x, model)
    check_input(data, model, name="data")
    check_batch_size(batch_size)
    check_target_spec(target, output)
    if tuple(data.shape[1:]) != tuple(x.shape[1:]):
        raise AttributionInputError(
            f"data has samples of shape {tuple(data.shape[1:])}; they must match the input's {tuple(x.shape[1:])}"
        )
    check_positive_count("samples", samples)
    check_seed(seed)
    progress = progress_callback(progress, "expected gradients")
    x = x.detach()
    batch = x.shape[0]
    generator = torch.Generator(device="cpu").manual_seed(seed)
    picks = torch.randint(data.shape[0], (samples * batch,), generator=generator).to(data.device)
    alphas = torch.rand(samples * batch, generator=generator, dtype=x.dtype).to(x.device)
    baselines = data.detach()[picks].to(x.device)  # sample-major: row s * batch + b
    rows_all = torch.arange(samples * batch, device=x.device) % batch
    difference = x[rows_all] - baselines
    trailing = (1,) * (x.ndim - 1)
    forward = plain_forward(isolated_model(model))

    def make_points(start: int, stop: int) -> tuple[Tensor, Tensor]:
        part = slice(start, stop)
        return torch.addcmul(baselines[part], alphas[part].view(-1, *trailing), difference[part]), rows_all[part]

    total = torch.zeros_like(difference)
    score, values = probe(forward, x, target, output)
    size = batch_size or auto_batch_size(x[0], batch, samples * batch)
    baseline_values = torch.cat(
        [
            score_at(forward, score, baselines[start : start + size], rows_all[start : start + size])
            for start in range(0, samples * batch, size)
        ]
    )
    for chunk in chunked_gradients(forward, score, make_points, samples * batch, size, progress):
        total[chunk.start : chunk.stop] = chunk.gradients * difference[chunk.start : chunk.stop]
    return AttributionResult(
        method="expected_gradients",
        attributions=total.view(samples, *x.shape).mean(0),
        inputs=x,
        score=values,
        target=score.classes,
        baseline=baselines.view(samples, *x.shape).mean(0),
        baseline_score=baseline_values.view(samples, batch).mean(0),
        baseline_name="data distribution",
        steps=samples,
    )


def _mean_over_samples(values: Tensor, samples: int, squared: bool) -> Tensor:
    per_sample = values.view(samples, -1, *values.shape[1:])
    return (per_sample**2 if squared else per_sample).mean(dim=0)
