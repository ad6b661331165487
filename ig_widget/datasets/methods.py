"""The attribution methods a data-set run can compute, each through the engine's own functions.

- "integrated_gradients": the straight path from the baseline (IDGI with `idgi=True`), one walk per
  unit of examples (`integrate_path`, as `integrated_gradients` does); the gap is completeness's.
- "saliency", "gradient_x_input": the gradient at the input (times the input), the engine's `saliency`
  and `gradient_x_input` on the unit's examples at once. They have no baseline: the table's F(x') and
  gap are NaN.
- "smoothgrad": the engine's `smoothgrad` (of saliency) over `samples` noisy copies.
- "expected_gradients": the engine's `expected_gradients` with baselines drawn from `baseline_data`;
  F(x') is the mean score of the drawn baselines and the gap holds in expectation.

The random methods draw with `seed + unit index` for each unit, so a store is reproducible (and the
same under torchrun as in one process) for a given `unit`, and a unit is what one call of the engine
function on those rows with that seed gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..attribution.baselines import BaselineSpec, baseline_name, make_baseline
from ..attribution.errors import AttributionInputError
from ..attribution.local import gradient_x_input, saliency
from ..attribution.options import PathOptions
from ..attribution.orchestrate import integrate_path
from ..attribution.probes import plain_forward
from ..attribution.result import AttributionResult
from ..attribution.sampling import expected_gradients, smoothgrad
from ..attribution.validation import check_noise_level, check_positive_count, check_seed
from .identity import tensor_digest

METHODS = ("integrated_gradients", "saliency", "gradient_x_input", "smoothgrad", "expected_gradients")
DETERMINISTIC_BASELINES = ("black", "zero", "blur", "max_distance")
DEFAULT_SAMPLES = {"smoothgrad": 25, "expected_gradients": 64}


@dataclass(frozen=True)
class RunMethod:
    """A checked method with its settings; `attribute` computes one unit, `settings` is what the store records."""

    name: str
    options: PathOptions
    baseline: BaselineSpec | None = None
    samples: int | None = None
    noise_level: float | None = None
    seed: int | None = None
    baseline_data: Tensor | None = None

    @property
    def stored_name(self) -> str:
        """The method's name in the store (and on `store[i]`): "idgi" for IG with IDGI."""
        return "idgi" if self.name == "integrated_gradients" and self.options.idgi else self.name

    @property
    def walks_a_path(self) -> bool:
        return self.name == "integrated_gradients"

    def settings(self) -> dict:
        """Every setting that changes the result, as JSON (a resumed run must match them all)."""
        settings: dict[str, Any] = {"method": self.stored_name, "output": self.options.output}
        if self.walks_a_path:
            settings |= {
                "baseline": self.baseline if isinstance(self.baseline, str) else float(self.baseline),
                "baseline_name": baseline_name(self.baseline),
                "steps": self.options.steps,
                "rule": self.options.rule,
            }
        else:
            name = "data distribution" if self.name == "expected_gradients" else None
            settings |= {"baseline": None, "baseline_name": name, "steps": None, "rule": None}
        if self.samples is not None:
            settings |= {"samples": self.samples, "seed": self.seed}
        if self.noise_level is not None:
            settings["noise_level"] = self.noise_level
        if self.options.autocast is not None:  # only when set: stores made before the option resume as they were
            settings["autocast"] = str(self.options.autocast).removeprefix("torch.")
        if self.baseline_data is not None:
            settings["baseline_data"] = {
                "shape": list(self.baseline_data.shape),
                "digest": tensor_digest([("baseline_data", self.baseline_data)]),
            }
        return settings

    def attribute(self, model: Callable, twin: Callable, x: Tensor, target: Any, unit_index: int) -> AttributionResult:
        """The method's result for the rows `x` of unit `unit_index`: `twin` (the engine's isolated
        model, built once per run) walks the path; the other methods are given the user's `model` and
        isolate it themselves."""
        if self.walks_a_path:
            return integrate_path(
                plain_forward(twin),
                x,
                # not checked for NaN and inf here (a wait for the device per unit): a baseline made
                # from x is finite where x is, and the walk checks F(x) and F(x') with its one read
                make_baseline(self.baseline, x, finite=False),
                [target],
                self.options,
                method=self.stored_name,
                baseline_label=baseline_name(self.baseline),
            )[0]
        if self.name == "saliency":
            return saliency(model, x, target=target)
        if self.name == "gradient_x_input":
            return gradient_x_input(model, x, target=target)
        seed = self.seed + unit_index
        if self.name == "smoothgrad":
            return smoothgrad(
                model,
                x,
                target=target,
                noise_level=self.noise_level,
                samples=self.samples,
                seed=seed,
                batch_size=self.options.batch_size,
            )
        return expected_gradients(
            model,
            x,
            data=self.baseline_data.to(x.device),
            target=target,
            samples=self.samples,
            seed=seed,
            batch_size=self.options.batch_size,
        )


def checked_method(
    method: str,
    *,
    steps: Any,
    rule: str,
    batch_size: int | None,
    idgi: bool,
    baseline: BaselineSpec | None,
    samples: int | None,
    noise_level: float,
    seed: int,
    baseline_data: Tensor | None,
    example_shape: tuple[int, ...],
    autocast: torch.dtype | None = None,
) -> RunMethod:
    """The method and its settings, every argument checked before any model call."""
    if method not in METHODS:
        raise AttributionInputError(f"method={method!r} is not available for data-set runs; use one of {METHODS}")
    if autocast is not None and method != "integrated_gradients":
        raise AttributionInputError(
            f"autocast={autocast} applies to method='integrated_gradients' (its path's passes); got method={method!r}"
        )
    if method == "integrated_gradients" and steps == "auto":
        raise AttributionInputError(
            "steps='auto' is not available for data-set runs (every example walks the same "
            "points, so they batch together); give steps as an int"
        )
    if idgi and method != "integrated_gradients":
        raise AttributionInputError(f"idgi=True applies to method='integrated_gradients'; got method={method!r}")
    options = PathOptions.checked(
        steps=steps if method == "integrated_gradients" else 2,
        rule=rule,
        batch_size=batch_size,
        output="logit",
        reducer=None,
        progress=None,
        tol=0.01,
        max_steps=255,
        description="attribute_dataset",
        idgi=idgi,
        autocast=autocast,
    )
    if method == "integrated_gradients":
        baseline = "black" if baseline is None else baseline
        _check_baseline(baseline)
        return RunMethod(method, options, baseline=baseline)
    if baseline is not None:
        raise AttributionInputError(
            f"baseline={baseline!r} is for method='integrated_gradients'; {method} takes none"
            + (" (it draws baselines from baseline_data)" if method == "expected_gradients" else "")
        )
    if method not in DEFAULT_SAMPLES:
        if samples is not None or baseline_data is not None:
            raise AttributionInputError(
                f"samples and baseline_data are for smoothgrad / expected_gradients, not {method}"
            )
        return RunMethod(method, options)
    samples = DEFAULT_SAMPLES[method] if samples is None else samples
    check_positive_count("samples", samples)
    check_seed(seed)
    if method == "smoothgrad":
        check_noise_level(noise_level)
        if baseline_data is not None:
            raise AttributionInputError("baseline_data is for method='expected_gradients', not smoothgrad")
        return RunMethod(method, options, samples=samples, noise_level=float(noise_level), seed=seed)
    if not isinstance(baseline_data, Tensor) or tuple(baseline_data.shape[1:]) != tuple(example_shape):
        got = (
            "none"
            if baseline_data is None
            else f"{type(baseline_data).__name__} {tuple(getattr(baseline_data, 'shape', ()))}"
        )
        raise AttributionInputError(
            f"method='expected_gradients' draws its baselines from baseline_data, a tensor [M, "
            f"{', '.join(map(str, example_shape))}] (examples shaped as the data's); got {got}"
        )
    return RunMethod(method, options, samples=samples, seed=seed, baseline_data=baseline_data.detach())


def _check_baseline(baseline) -> None:
    if isinstance(baseline, bool) or not (isinstance(baseline, (int, float)) or baseline in DETERMINISTIC_BASELINES):
        raise AttributionInputError(
            f"baseline={baseline!r}: a data-set run takes a baseline that depends on each input alone "
            f"({', '.join(DETERMINISTIC_BASELINES)} or a number), so the store can rebuild it for store[i]"
        )
