"""Integrated Gradients for inputs the model takes directly (images, tabular rows, signals)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from .baselines import BaselineSpec, Range, baseline_name, check_finite_ends, make_baseline
from .errors import AttributionInputError
from .model_state import isolated_model
from .options import AUTO_MAX_STEPS, DEFAULT_TOL, PathOptions, Steps
from .orchestrate import integrate_path
from .probes import plain_forward
from .progress import ProgressSpec
from .result import AttributionResult
from .targets import TargetSpec, check_target_spec
from .trace_reduce import Reducer, image_trace_reducer
from .validation import check_input, check_model, check_seed


def integrated_gradients(
    model: Callable,
    x: Tensor,
    *,
    target: TargetSpec = None,
    baseline: BaselineSpec = "black",
    steps: Steps = 50,
    rule: str = "gausslegendre",
    batch_size: int | None = None,
    trace: bool = True,
    output: str = "logit",
    seed: int = 0,
    input_range: Range = None,
    trace_reduce: str | Reducer = "channels",
    progress: ProgressSpec = None,
    tol: float = DEFAULT_TOL,
    max_steps: int = AUTO_MAX_STEPS,
    idgi: bool = False,
    autocast: torch.dtype | None = None,
) -> AttributionResult:
    """Attribute F_target(x) - F_target(baseline) to the features of `x`.

    The path runs straight from the baseline to `x`; every result carries F(x), F(x'), its completeness
    gap, the trace of the path and, when the gap resists more steps, a diagnosis. `model` is never
    changed: the call runs an eval-mode twin of it that shares its weights (see `model_state.py`).

    Parameters
    ----------
    model : the nn.Module or callable mapping a batch [batch, ...] to scores [batch, outputs] (or [batch]).
    x : the inputs, [batch, ...], floating, on the model's device.
    target : default None (each row's top class). A class index, one index per row, or a callable
        mapping the model's output to one score per row.
    baseline : default "black". "black"/"zero", a number, "blur" (or `Blur(sigma)`), "uniform", "gaussian",
        "max_distance", or a tensor broadcastable to `x`.
    steps : default 50. Points on the path, or "auto": refine a nested rule until every row's relative
        gap is at most `tol`, with at most `max_steps` points (Gauss-Legendre is then replaced by its nested
        relative, Fejer's second rule; `result.rule` and `result.steps` say what was used).
    rule : default "gausslegendre". The quadrature: one of `RULES`.
    batch_size : default None (from a memory budget). Path points per forward pass.
    trace : default True. Record F, the interior gradients and the cumulative attributions at every point.
    output : default "logit". "probability" or "log_probability" explain the softmax (the sigmoid for a
        model with one score per row) instead of the raw score.
    seed : default 0. Seeds the random baselines ("uniform", "gaussian"); the same seed gives the same result.
    input_range : default None (each row's own min and max). The (low, high) values an input can take,
        for the "uniform" and "max_distance" baselines.
    trace_reduce : default "channels". How the trace shrinks each point's map: summed over dim 1,
        "none" to keep it whole, or a callable [points, ...] -> [points, ...].
    progress : default None. True for a tqdm bar, or a callable progress(done, total) called per chunk.
    tol : default 0.01. The relative completeness gap `steps="auto"` aims for.
    max_steps : default 255. The most points `steps="auto"` uses.
    idgi : default False. True for IDGI (Yang et al., "Re-thinking the Integrated Gradients", CVPR 2023):
        at each path point keep only the gradient's component along its important direction, the term
        g_k^2 / |g_k|^2 * (F_{k+1} - F_k) per feature. Completeness then holds exactly by construction
        (the score changes telescope to F(x) - F(x')) whatever `steps` is, so the gap no longer says
        whether the path was sampled finely enough; `steps` must be an int. Costs one more elementwise
        pass per chunk, no model call.
    autocast : default None. torch.bfloat16 (CPU or GPU) or torch.float16 (GPU): run the path's forward and
        backward passes under `torch.autocast` at that precision, for speed where the hardware has it.
        F(x) and F(x') come from a pass at the input's own precision and the gradient sums are kept in
        it, so the completeness gap shows what the lower precision cost (see benchmarks/README.md).
        `steps` must be an int; not with `idgi`; no diagnosis is made (rounding reads as jumps).
    """
    return integrated_gradients_multi(
        model,
        x,
        targets=[target],
        baseline=baseline,
        steps=steps,
        rule=rule,
        batch_size=batch_size,
        trace=trace,
        output=output,
        seed=seed,
        input_range=input_range,
        trace_reduce=trace_reduce,
        progress=progress,
        tol=tol,
        max_steps=max_steps,
        idgi=idgi,
        autocast=autocast,
    )[0]


def integrated_gradients_multi(
    model: Callable,
    x: Tensor,
    *,
    targets: Sequence[TargetSpec] | None = None,
    top_k: int | None = None,
    baseline: BaselineSpec = "black",
    steps: Steps = 50,
    rule: str = "gausslegendre",
    batch_size: int | None = None,
    trace: bool = True,
    output: str = "logit",
    seed: int = 0,
    input_range: Range = None,
    trace_reduce: str | Reducer = "channels",
    progress: ProgressSpec = None,
    tol: float = DEFAULT_TOL,
    max_steps: int = AUTO_MAX_STEPS,
    idgi: bool = False,
    autocast: torch.dtype | None = None,
) -> list[AttributionResult]:
    """Integrated Gradients for several targets at once, one result per target, each equal to the
    `integrated_gradients` call with that target.

    The path is walked once: one forward pass per chunk of points, then one backward pass per target
    through the same graph, so k targets cost far less than k calls (the widget precomputes the top
    classes this way). With steps="auto" refinement goes on until every target meets `tol`.

    Parameters
    ----------
    targets : a list of targets, each as `integrated_gradients` takes one. Give this or `top_k`.
    top_k : each row's k highest-scoring classes, best first, instead of `targets`.
    Every other parameter is as for `integrated_gradients`.
    """
    check_model(model)
    check_input(x, model, finite=False)  # read with the baseline's below: one wait for the device
    targets = _checked_targets(targets, top_k)
    for target in targets:
        check_target_spec(target, output)
    check_seed(seed)
    options = PathOptions.checked(
        steps=steps,
        rule=rule,
        batch_size=batch_size,
        output=output,
        reducer=image_trace_reducer(trace_reduce, x.ndim) if trace else None,
        progress=progress,
        tol=tol,
        max_steps=max_steps,
        description="integrated gradients",
        idgi=idgi,
        autocast=autocast,
    )
    x = x.detach() if x.requires_grad else x
    base = make_baseline(baseline, x, seed=seed, input_range=input_range, finite=False)
    check_finite_ends(x, base, baseline)
    return integrate_path(
        plain_forward(isolated_model(model)),
        x,
        base,
        targets,
        options,
        method="idgi" if idgi else "integrated_gradients",
        baseline_label=baseline_name(baseline),
        top_k=top_k,
    )


def _checked_targets(targets: Sequence[TargetSpec] | None, top_k: int | None) -> list[TargetSpec]:
    if top_k is not None:
        if targets is not None:
            raise AttributionInputError("give targets or top_k, not both")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise AttributionInputError(f"top_k must be a positive int (how many top classes); got {top_k!r}")
        return []
    if targets is None or isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence) or not targets:
        raise AttributionInputError(
            f"targets must be a non-empty list of targets (e.g. [3, 7]) or pass top_k=k; got {targets!r}"
        )
    return list(targets)
