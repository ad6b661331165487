"""Baselines: the reference input x' that the path starts from.

Each is a small frozen spec with a `make(x)` that returns a tensor shaped like `x`. Noise baselines
carry their seed, so any baseline can be made again exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import AttributionInputError
from .validation import check_seed, not_finite_input

Range = tuple[float, float] | tuple[Tensor, Tensor] | None


def _input_range(x: Tensor, low, high) -> tuple[Tensor, Tensor]:
    """The valid value range per row: given by the user, or the row's own min and max."""
    dims = tuple(range(1, x.ndim))
    lo = x.amin(dim=dims, keepdim=True) if low is None else torch.as_tensor(low, dtype=x.dtype, device=x.device)
    hi = x.amax(dim=dims, keepdim=True) if high is None else torch.as_tensor(high, dtype=x.dtype, device=x.device)
    return lo, hi


def _generator(seed: int) -> torch.Generator:
    return torch.Generator(device="cpu").manual_seed(seed)


@dataclass(frozen=True)
class Constant:
    """Every feature at one value; `Constant(0.0)` is the black (zero) baseline."""

    value: float = 0.0
    name = "constant"

    def make(self, x: Tensor) -> Tensor:
        return torch.full_like(x, self.value)


@dataclass(frozen=True)
class Blur:
    """A Gaussian blur of the input: keeps colours and coarse layout, removes the detail."""

    sigma: float | None = None  # in pixels; None: a tenth of the smaller image side
    name = "blur"

    def make(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise AttributionInputError(
                f"baseline='blur' needs images [batch, channels, H, W] or [batch, H, W]; got shape {tuple(x.shape)}"
            )
        images = x if x.ndim == 4 else x[:, None]
        sigma = self.sigma if self.sigma is not None else max(1.0, min(images.shape[-2:]) / 10)
        if sigma <= 0:
            raise AttributionInputError(f"baseline=Blur(sigma={sigma!r}) needs a positive sigma (in pixels)")
        radius = max(1, math.ceil(3 * sigma))
        taps = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
        kernel = torch.exp(-(taps**2) / (2 * sigma**2))
        kernel = kernel / kernel.sum()
        channels = images.shape[1]
        out = F.pad(images, (radius, radius, 0, 0), mode="replicate")
        out = F.conv2d(out, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
        out = F.pad(out, (0, 0, radius, radius), mode="replicate")
        out = F.conv2d(out, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)
        return out if x.ndim == 4 else out[:, 0]


@dataclass(frozen=True)
class UniformNoise:
    """Uniform noise over the valid range (the input's own min..max unless given)."""

    low: float | None = None
    high: float | None = None
    seed: int = 0
    name = "uniform"

    def make(self, x: Tensor) -> Tensor:
        lo, hi = _input_range(x, self.low, self.high)
        noise = torch.rand(x.shape, generator=_generator(self.seed), dtype=x.dtype).to(x.device)
        return lo + noise * (hi - lo)


@dataclass(frozen=True)
class GaussianNoise:
    """The input plus Gaussian noise, clipped to the valid range."""

    sigma: float | None = None  # None: a quarter of the valid range
    low: float | None = None
    high: float | None = None
    seed: int = 0
    name = "gaussian"

    def make(self, x: Tensor) -> Tensor:
        lo, hi = _input_range(x, self.low, self.high)
        sigma = (hi - lo) / 4 if self.sigma is None else self.sigma
        noise = torch.randn(x.shape, generator=_generator(self.seed), dtype=x.dtype).to(x.device)
        return torch.minimum(torch.maximum(x + sigma * noise, lo), hi)


@dataclass(frozen=True)
class MaxDistance:
    """Per feature, the end of the valid range farthest from the input's value."""

    low: float | None = None
    high: float | None = None
    name = "max_distance"

    def make(self, x: Tensor) -> Tensor:
        lo, hi = _input_range(x, self.low, self.high)
        lo, hi = lo.expand_as(x), hi.expand_as(x)
        return torch.where(x - lo > hi - x, lo, hi)


BASELINE_NAMES = ("black", "zero", "blur", "uniform", "gaussian", "max_distance")
BaselineSpec = str | float | int | Tensor | Constant | Blur | UniformNoise | GaussianNoise | MaxDistance


def _range_bounds(input_range: Range) -> tuple:
    """(low, high) from `input_range`, checked: two finite bounds with low < high, or None."""
    if input_range is None:
        return None, None
    if not isinstance(input_range, (tuple, list)) or len(input_range) != 2:
        raise AttributionInputError(
            f"input_range={input_range!r} is not a (low, high) pair; give e.g. (0.0, 1.0), or None to use "
            "each row's own min and max"
        )
    low, high = (torch.as_tensor(bound, dtype=torch.float64) for bound in input_range)
    if not (torch.isfinite(low).all() and torch.isfinite(high).all() and (low < high).all()):
        raise AttributionInputError(f"input_range={input_range!r} needs finite bounds with low < high, e.g. (0.0, 1.0)")
    return input_range


def baseline_spec(baseline: BaselineSpec, *, seed: int = 0, input_range: Range = None):
    """Turn a name or number into a spec; specs and tensors pass through."""
    check_seed(seed)
    low, high = _range_bounds(input_range)
    if isinstance(baseline, bool):
        raise AttributionInputError(f"baseline={baseline!r} is not a baseline; use a name, number or tensor")
    if isinstance(baseline, (int, float)):
        if not math.isfinite(baseline):
            raise AttributionInputError(f"baseline={baseline!r} is not finite; give a finite number")
        return Constant(float(baseline))
    if isinstance(baseline, str):
        named = {
            "black": Constant(0.0),
            "zero": Constant(0.0),
            "blur": Blur(),
            "uniform": UniformNoise(low, high, seed),
            "gaussian": GaussianNoise(None, low, high, seed),
            "max_distance": MaxDistance(low, high),
        }
        if baseline not in named:
            raise AttributionInputError(
                f"baseline={baseline!r} is not a baseline name; use one of {', '.join(BASELINE_NAMES)}, "
                "a number, or a tensor shaped like the input"
            )
        return named[baseline]
    if isinstance(baseline, (Tensor, Constant, Blur, UniformNoise, GaussianNoise, MaxDistance)):
        return baseline
    raise AttributionInputError(
        f"baseline={type(baseline).__name__} is not a baseline; use a name ({', '.join(BASELINE_NAMES)}), "
        "a number, or a tensor shaped like the input"
    )


def make_baseline(
    baseline: BaselineSpec, x: Tensor, *, seed: int = 0, input_range: Range = None, finite: bool = True
) -> Tensor:
    """The baseline tensor for input `x`: same shape, dtype and device, finite (`finite=False`: checked
    by the caller, with x, in `check_finite_ends`)."""
    spec = baseline_spec(baseline, seed=seed, input_range=input_range)
    if isinstance(spec, Tensor):
        if spec.dtype.is_floating_point is False:
            raise AttributionInputError(
                f"baseline tensor has dtype {spec.dtype}; it needs a floating dtype, e.g. baseline.float()"
            )
        try:
            made = torch.broadcast_to(spec.detach().to(device=x.device, dtype=x.dtype), x.shape).clone()
        except RuntimeError:
            raise AttributionInputError(
                f"baseline has shape {tuple(spec.shape)}, which does not broadcast to the input's shape "
                f"{tuple(x.shape)}; give a tensor of shape {tuple(x.shape)} or {tuple(x.shape[1:])}"
            ) from None
    else:
        made = spec.make(x)
    if finite and not torch.isfinite(made).all():
        raise _not_finite_baseline(baseline)
    return made


def check_finite_ends(x: Tensor, made: Tensor, baseline: BaselineSpec) -> None:
    """x and its baseline `made` (from `baseline`) both finite, in one read of the device where two
    checks would wait twice. x is named first, as when each was checked on its own.

    The read is of one sum: NaN and inf reach it, so a finite sum proves every value finite in four
    operator calls (the elementwise test takes ten, see benchmarks/op_counts.py); only a sum that is
    not finite (bad input, or finite values whose sum overflows) is looked at value by value."""
    if math.isfinite((x.sum() + made.sum()).item()):
        return
    if torch.isfinite(x).all() and torch.isfinite(made).all():  # finite values, an overflowing sum
        return
    if not torch.isfinite(x).all():
        raise not_finite_input("x")
    raise _not_finite_baseline(baseline)


def _not_finite_baseline(baseline: BaselineSpec) -> AttributionInputError:
    return AttributionInputError(f"baseline={baseline_name(baseline)!r} contains NaN or inf; give finite values")


def baseline_name(baseline: BaselineSpec) -> str:
    """A short label for displays and results."""
    if isinstance(baseline, str):
        return baseline
    if isinstance(baseline, Tensor):
        return "tensor"
    if isinstance(baseline, (int, float)):
        return f"constant {baseline:g}"
    return baseline.name
