"""Where on the path [0, 1] the gradient is evaluated, and with what weight (the quadrature rule)."""

from __future__ import annotations

import numpy as np

RULES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")


def path_points(rule: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (alphas, weights), both float64 of length `steps`, with sum(weights) == 1.

    Left and right sums converge as 1/steps, midpoint and trapezoid as 1/steps^2, and Gauss-Legendre
    is exact for polynomial paths of degree below 2*steps. Gauss-Legendre points bunch near 0 and 1:
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
    raise ValueError(f"rule={rule!r} is not a quadrature rule; use one of {', '.join(RULES)}")
