"""Integrated Gradients for inputs the model takes directly (images, tabular rows, signals)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .baselines import BaselineSpec, Range, baseline_name, make_baseline
from .batching import Progress
from .model_state import evaluation_mode
from .path import Reducer, integrate_path, plain_forward, trace_reducer
from .result import AttributionResult
from .targets import TargetSpec, check_target_spec
from .validation import check_batch_size, check_input, check_model, check_progress, check_seed, check_steps


def integrated_gradients(
    model: Callable,
    x: Tensor,
    target: TargetSpec = None,
    baseline: BaselineSpec = "black",
    steps: int = 50,
    rule: str = "gausslegendre",
    batch_size: int | None = None,
    trace: bool = True,
    *,
    output: str = "logit",
    seed: int = 0,
    input_range: Range = None,
    trace_reduce: str | Reducer = "channels",
    progress: Progress | None = None,
) -> AttributionResult:
    """Attribute F_target(x) - F_target(baseline) to the features of `x` [batch, ...].

    `model` runs in eval mode for the call and is restored afterwards. `batch_size` is the number of
    path points per forward pass (None: chosen from a memory budget). `trace` records the score,
    gradient and cumulative attributions at every path point, reduced by `trace_reduce`.
    """
    check_model(model)
    check_input(x, model)
    check_steps(steps, rule)
    check_batch_size(batch_size)
    check_target_spec(target, output)
    check_seed(seed)
    check_progress(progress)
    reducer = trace_reducer(trace_reduce, x.ndim) if trace else None
    x = x.detach()
    base = make_baseline(baseline, x, seed=seed, input_range=input_range)
    with evaluation_mode(model):
        return integrate_path(
            plain_forward(model), x, base, target,
            output=output, rule=rule, steps=steps, batch_size=batch_size, reducer=reducer,
            progress=progress, baseline_label=baseline_name(baseline),
        )
