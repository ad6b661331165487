"""Where on the path [0, 1] the gradient is evaluated, and with what weight (the quadrature rule)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

RULES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre", "fejer")

# steps="auto" refines through point sets where each holds the one before, so no gradient is computed
# twice: (first count, how the count grows). Gauss-Legendre's points are not nested; its nested
# relative, Fejer's second rule, takes its place.
_NESTED = {
    "fejer": (7, lambda n: 2 * n + 1),
    "riemann_trapezoid": (9, lambda n: 2 * n - 1),
    "riemann_left": (8, lambda n: 2 * n),
    "riemann_right": (8, lambda n: 2 * n),
    "riemann_middle": (9, lambda n: 3 * n),
}


def path_points(rule: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (alphas, weights), both float64 of length `steps`, with sum(weights) == 1.

    Left and right sums converge as 1/steps, midpoint and trapezoid as 1/steps^2, and Gauss-Legendre
    is exact for polynomial paths of degree below 2*steps. Fejer's second rule (interior Chebyshev
    points, exact below degree steps+1 for odd steps) comes close to Gauss-Legendre and its points
    for 2*steps+1 contain those for steps. Gauss-Legendre and Fejer points bunch near 0 and 1:
    consumers must place each point at its true alpha, never at its index.
    """
    if rule == "riemann_left":
        return np.arange(steps) / steps, np.full(steps, 1.0 / steps)
    if rule == "riemann_right":
        return np.arange(1, steps + 1) / steps, np.full(steps, 1.0 / steps)
    if rule == "riemann_middle":
        return (np.arange(steps) + 0.5) / steps, np.full(steps, 1.0 / steps)
    if rule == "riemann_trapezoid":
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, steps), weights
    if rule == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        return (nodes + 1) / 2, weights / 2
    if rule == "fejer":
        return _fejer_second(steps)
    raise ValueError(f"rule={rule!r} is not a quadrature rule; use one of {', '.join(RULES)}")


def nested_rule(rule: str) -> str:
    """The rule steps="auto" refines with: `rule` itself when its point sets nest, else Fejer."""
    return rule if rule in _NESTED else "fejer"


def nested_counts(rule: str, max_steps: int) -> list[int]:
    """Point counts steps="auto" tries, in order, each set containing the previous one."""
    first, grow = _NESTED[nested_rule(rule)]
    counts = [min(first, max_steps)]
    while grow(counts[-1]) <= max_steps:
        counts.append(grow(counts[-1]))
    return counts


def _fejer_second(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (1 - cos(j pi / (n + 1))) / 2 for j = 1..n, ascending, with their interpolatory weights."""
    angles = np.arange(1, steps + 1) * np.pi / (steps + 1)
    odd = 2 * np.arange(1, (steps + 1) // 2 + 1) - 1
    weights = 2 * np.sin(angles) / (steps + 1) * (np.sin(np.outer(angles, odd)) / odd).sum(axis=1)
    return (1 - np.cos(angles)) / 2, weights


# numpy's dtype for each torch dtype a path can be in (bfloat16 has none: converted by torch instead).
_NUMPY_DTYPES = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16}


def path_tensors(rule: str, steps: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    """`path_points` as tensors of `dtype` on `device`, converted by numpy where it can (no operator
    call on the device for the cast; see benchmarks/op_counts.py)."""
    alphas, weights = path_points(rule, steps)
    numpy_dtype = _NUMPY_DTYPES.get(dtype)
    if numpy_dtype is None:
        return (
            torch.as_tensor(alphas, dtype=dtype, device=device),
            torch.as_tensor(weights, dtype=dtype, device=device),
        )
    return (
        torch.as_tensor(alphas.astype(numpy_dtype), device=device),
        torch.as_tensor(weights.astype(numpy_dtype), device=device),
    )
