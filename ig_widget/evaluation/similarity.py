"""How alike two attribution maps are: Spearman rank correlation and SSIM, as Adebayo et al. use them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def ranks(values: Tensor) -> Tensor:
    """Ranks 1..n of a 1-D tensor, ties given their average rank (scipy.stats.rankdata's 'average')."""
    order = torch.argsort(values, stable=True)
    ordered = values[order]
    _, inverse, counts = torch.unique_consecutive(ordered, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, dim=0).double()
    average = ends - (counts.double() - 1) / 2
    result = torch.empty_like(ends[inverse])
    result[order] = average[inverse]
    return result


def spearman(a: Tensor, b: Tensor) -> float:
    """Spearman rank correlation of two maps (flattened); 0 when either is constant."""
    ra, rb = ranks(a.flatten().double()), ranks(b.flatten().double())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(ra.norm() * rb.norm())
    return float((ra * rb).sum()) / denominator if denominator > 0 else 0.0


def ssim(a: Tensor, b: Tensor, window: int = 7, data_range: float = 1.0) -> float:
    """Structural similarity of two 2-D maps, as scikit-image's `structural_similarity` computes it by
    default (a uniform `window` x `window` filter, sample covariance, the mean over the valid region)."""
    a, b = a.double()[None, None], b.double()[None, None]
    window = min(window, *a.shape[-2:])
    window -= 1 - window % 2  # odd, as scikit-image needs
    count = window * window
    covariance_norm = count / (count - 1)

    def mean(t: Tensor) -> Tensor:
        return F.avg_pool2d(t, window, stride=1)

    ua, ub = mean(a), mean(b)
    vaa = covariance_norm * (mean(a * a) - ua * ua)
    vbb = covariance_norm * (mean(b * b) - ub * ub)
    vab = covariance_norm * (mean(a * b) - ua * ub)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    value = ((2 * ua * ub + c1) * (2 * vab + c2)) / ((ua**2 + ub**2 + c1) * (vaa + vbb + c2))
    return float(value.mean())


def normalised_magnitude(attribution_map: Tensor) -> Tensor:
    """|map| divided by its largest value (zero maps stay zero): what SSIM is taken on, in [0, 1]."""
    magnitude = attribution_map.abs().double()
    top = magnitude.max()
    return magnitude / top if top > 0 else magnitude
