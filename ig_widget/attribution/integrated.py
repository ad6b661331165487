"""Integrated Gradients for inputs the model takes directly (images, tabular rows, signals)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor

from .adaptive import check_adaptive
from .baselines import BaselineSpec, Range, baseline_name, make_baseline
from .errors import AttributionInputError
from .model_state import isolated_model
from .path import DEFAULT_MAX_STEPS, DEFAULT_TOL, Reducer, Steps, integrate_path_multi, plain_forward, trace_reducer
from .progress import ProgressSpec, progress_callback
from .result import AttributionResult
from .targets import TargetSpec, check_target_spec
from .validation import check_batch_size, check_input, check_model, check_seed, check_steps


def integrated_gradients(
    model: Callable,
    x: Tensor,
    target: TargetSpec = None,
    baseline: BaselineSpec = "black",
    steps: Steps = 50,
    rule: str = "gausslegendre",
    batch_size: int | None = None,
    trace: bool = True,
    *,
    output: str = "logit",
    seed: int = 0,
    input_range: Range = None,
    trace_reduce: str | Reducer = "channels",
    progress: ProgressSpec = None,
    tol: float = DEFAULT_TOL,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> AttributionResult:
    """Attribute F_target(x) - F_target(baseline) to the features of `x` [batch, ...].

    `model` runs in eval mode for the call and is restored afterwards. `batch_size` is the number of
    path points per forward pass (None: chosen from a memory budget). `trace` records the score,
    gradient and cumulative attributions at every path point, reduced by `trace_reduce`.
    `steps="auto"` adds points until every row's relative completeness gap is at most `tol` (at most
    `max_steps` points), reusing every gradient already computed: Gauss-Legendre is replaced by its
    nested relative, Fejer's rule; `result.rule` and `result.steps` say what was used.
    """
    return integrated_gradients_multi(
        model, x, [target], baseline, steps, rule, batch_size, trace,
        output=output, seed=seed, input_range=input_range, trace_reduce=trace_reduce, progress=progress,
        tol=tol, max_steps=max_steps,
    )[0]


def integrated_gradients_multi(
    model: Callable,
    x: Tensor,
    targets: Sequence[TargetSpec] | None = None,
    baseline: BaselineSpec = "black",
    steps: Steps = 50,
    rule: str = "gausslegendre",
    batch_size: int | None = None,
    trace: bool = True,
    *,
    top_k: int | None = None,
    output: str = "logit",
    seed: int = 0,
    input_range: Range = None,
    trace_reduce: str | Reducer = "channels",
    progress: ProgressSpec = None,
    tol: float = DEFAULT_TOL,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> list[AttributionResult]:
    """Integrated Gradients for several targets at once, one result per target, each equal to the
    `integrated_gradients` call with that target.

    The path is walked once: one forward pass per chunk of points, then one backward pass per target
    through the same graph, so k targets cost far less than k calls (the widget precomputes the top
    classes this way). Give `targets` (a list of targets as `integrated_gradients` takes them) or
    `top_k` (each row's k highest-scoring classes, best first). With steps="auto" refinement goes on
    until every target meets `tol`.
    """
    check_model(model)
    check_input(x, model)
    check_steps(2 if steps == "auto" else steps, rule)
    if steps == "auto":
        check_adaptive(tol, max_steps)
    check_batch_size(batch_size)
    targets = _checked_targets(targets, top_k)
    for target in targets:
        check_target_spec(target, output)
    check_seed(seed)
    progress = progress_callback(progress, "integrated gradients")
    reducer = trace_reducer(trace_reduce, x.ndim) if trace else None
    x = x.detach()
    base = make_baseline(baseline, x, seed=seed, input_range=input_range)
    return integrate_path_multi(
        plain_forward(isolated_model(model)), x, base, targets,
        output=output, rule=rule, steps=steps, batch_size=batch_size, reducer=reducer,
        progress=progress, baseline_label=baseline_name(baseline), top_k=top_k, tol=tol, max_steps=max_steps,
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
