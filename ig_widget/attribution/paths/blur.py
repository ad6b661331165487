"""Blur IG (Xu, Venugopalan, Sundararajan, Bhattacharya, Chen, "Attribution in Scale and Space", CVPR 2020).

The path runs from a heavily blurred copy of the input to the input: point alpha is the input blurred
by a Gaussian of sigma = max_sigma * (1 - alpha). The attribution of feature i is the path integral
integral_0^1 dF/dx_i (gamma(alpha)) * dgamma_i/dalpha dalpha, computed with the same rules as IG. The
blur is scipy's `ndimage.gaussian_filter` as PAIR saliency's BlurIG uses it (zeros outside the image)
but untruncated (see `gaussian_kernels`), and its derivative in sigma is exact (the derivative of the
kernel), where PAIR takes a finite difference of 0.01 in sigma.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch
from torch import Tensor

from ..errors import AttributionInputError
from ..model_state import isolated_model
from ..options import PathOptions
from ..orchestrate import integrate_path
from ..probes import plain_forward
from ..progress import ProgressSpec
from ..result import AttributionResult
from ..targets import TargetSpec, check_target_spec
from ..trace_reduce import Reducer, image_trace_reducer
from ..validation import check_input, check_model

REACH = 6.0  # the kernel's normalisation counts taps out to 6 sigma: what lies further is below 2e-8
SMALLEST_SIGMA = 1e-3  # below this the kernel is the identity to float precision


def gaussian_kernels(sigmas: Tensor, side: int, bound: float | None = None) -> tuple[Tensor, Tensor]:
    """Per sigma, the 1-D kernel and its derivative in sigma, [m, 2 r + 1] with r = side - 1 (taps further
    out only ever meet the zeros around an image of that side, but still count in the normalisation).

    Unlike scipy's `gaussian_filter` the kernel is not truncated at 4 sigma: each time 4 sigma + 0.5
    passes an integer there a tap of weight about e^-8 appears, a jump in the path that no quadrature
    sees (it showed as a 1% completeness gap on a linear model at any number of steps). Untruncated,
    the path is smooth in sigma and the two blurs differ by less than 1e-4 of the image's range.

    `bound`: a largest sigma known on the host (the path's max_sigma), so that the taps' reach needs no
    read of `sigmas` from the device (it was one wait per chunk: 17 of Blur IG's 19 on 8 images).
    """
    widest_sigma = float(sigmas.max()) if bound is None else float(bound)
    sigmas = sigmas.clamp_min(SMALLEST_SIGMA)[:, None]
    widest = max(int(REACH * widest_sigma) + 1, side - 1)
    taps = torch.arange(-widest, widest + 1, dtype=sigmas.dtype, device=sigmas.device)[None]
    bell = torch.exp(-(taps**2) / (2 * sigmas**2))
    slope = bell * taps**2 / sigmas**3  # d bell / d sigma
    total, total_slope = bell.sum(dim=1, keepdim=True), slope.sum(dim=1, keepdim=True)
    kernel = bell / total
    derivative = slope / total - bell * total_slope / total**2
    keep = min(widest, side - 1)
    middle = slice(widest - keep, widest + keep + 1)
    return _normal(kernel[:, middle]), _normal(derivative[:, middle])


def _normal(taps: Tensor) -> Tensor:
    """`taps` (one kernel per row) with the far tails set to zero: values below 1e-5 of the dtype's epsilon
    times the row's largest |tap| (1.2e-12 of it in float32, 2.2e-21 in float64), and any subnormal value.
    Far tails of narrow kernels underflow into subnormals, and products of small taps with small pixels
    land there inside the matrix products, which a CPU multiplies tens of times slower. Subnormal taps
    alone made the blur products 2.8x slower (21 -> 7.6 ms for 32 points of 3 x 64 x 64, one thread); the
    relative cut halves what was left (12 -> 5.3 ms, Gauss-Legendre points), with bit-identical float32
    points and velocities: such taps are far below the sum's rounding."""
    finfo = torch.finfo(taps.dtype)
    floor = (taps.abs().amax(dim=1, keepdim=True) * (finfo.eps * 1e-5)).clamp_min(finfo.tiny)
    return torch.where(taps.abs() < floor, 0.0, taps)


def blur_matrices(
    sigmas: Tensor, side: int, with_derivative: bool = True, bound: float | None = None
) -> tuple[Tensor, Tensor | None]:
    """Per sigma, the blur along one axis of length `side` as a matrix (zeros outside the image), and its
    derivative in sigma: [m, side, side] each, symmetric, so that a blur is two batched matrix products.
    On a 2-core CPU these ran 3x faster than a depthwise convolution with a kernel as wide as the image."""
    kernel, derivative = gaussian_kernels(sigmas, side, bound)  # 2 * side - 1 taps: every offset inside the image
    offsets = torch.arange(side, device=sigmas.device)
    taps = offsets[None, :] - offsets[:, None] + side - 1  # [side, side]
    return kernel[:, taps], derivative[:, taps] if with_derivative else None


def _along_w(images: Tensor, matrices: Tensor) -> Tensor:
    """Each image [m, C, H, W] blurred along its width by its own (symmetric) matrix [m, W, W]."""
    m, channels, height, width = images.shape
    return torch.bmm(images.reshape(m, channels * height, width), matrices).view(m, channels, height, width)


def _along_h(images: Tensor, matrices: Tensor) -> Tensor:
    """Each image [m, C, H, W] blurred along its height by its own matrix [m, H, H]."""
    return torch.matmul(matrices[:, None], images)


def blurred(
    images: Tensor, sigmas: Tensor, with_derivative: bool = False, bound: float | None = None
) -> tuple[Tensor, Tensor | None]:
    """Images [m, C, H, W] blurred with one sigma each, and (optionally) the derivative in sigma; `bound`
    as for `gaussian_kernels`."""
    height, width = images.shape[-2:]
    along_h, along_h_slope = blur_matrices(sigmas, height, with_derivative, bound)
    along_w, along_w_slope = (
        (along_h, along_h_slope) if width == height else blur_matrices(sigmas, width, with_derivative, bound)
    )
    rows_done = _along_w(images, along_w)
    points = _along_h(rows_done, along_h)
    if not with_derivative:
        return points, None
    return points, _along_h(rows_done, along_h_slope) + _along_h(_along_w(images, along_w_slope), along_h)


def _blurred_with_slope(images: Tensor, sigmas: Tensor, bound: float | None = None) -> tuple[Tensor, Tensor]:
    """`blurred(images, sigmas, True)` in three batched products instead of five: the kernel and its
    derivative side by side along the width, then stacked along the height (the same arithmetic, in
    larger products, which ran 10% faster on a 2-core CPU)."""
    m, channels, height, width = images.shape
    along_h, along_h_slope = blur_matrices(sigmas, height, bound=bound)
    along_w, along_w_slope = (along_h, along_h_slope) if width == height else blur_matrices(sigmas, width, bound=bound)
    both = torch.bmm(images.reshape(m, channels * height, width), torch.cat([along_w, along_w_slope], dim=2))
    both = both.view(m, channels, height, 2 * width)
    rows_done, rows_slope = both[..., :width], both[..., width:]
    stacked = torch.matmul(torch.cat([along_h, along_h_slope], dim=1)[:, None], rows_done)  # [m, C, 2H, W]
    points, slope = stacked[:, :, :height], stacked[:, :, height:]
    return points, slope + _along_h(rows_slope, along_h)


class BlurPath:
    """gamma(alpha) = blur(x, max_sigma * (1 - alpha)); gamma(0) is `start`, gamma(1) = x."""

    def __init__(self, x: Tensor, max_sigma: float):
        self.images = x if x.ndim == 4 else x[:, None]
        self.squeeze = x.ndim == 3
        self.max_sigma = float(max_sigma)
        start_sigmas = self.images.new_full((len(x),), self.max_sigma)
        self.start = self._shaped(blurred(self.images, start_sigmas, bound=self.max_sigma)[0])
        self._made: tuple | None = None  # (start, stop, velocity) of the last chunk made
        self.with_velocity = True  # IDGI never asks for the velocity: False saves its products
        self.keep_points = False  # True: keep every point made, for the trace (`points`)
        self._kept: Tensor | None = None

    def _shaped(self, images: Tensor) -> Tensor:
        return images[:, 0] if self.squeeze else images

    def _sigmas(self, alphas: Tensor, start: int, stop: int) -> tuple[Tensor, Tensor]:
        index = torch.arange(start, stop, device=self.images.device)
        return self.max_sigma * (1 - alphas[index // len(self.images)]), index % len(self.images)

    def maker(self, alphas: Tensor):
        def make_points(start: int, stop: int) -> tuple[Tensor, Tensor]:
            sigmas, rows = self._sigmas(alphas, start, stop)
            images = self.images[rows]
            if not self.with_velocity:
                points = blurred(images, sigmas, bound=self.max_sigma)[0]
            else:
                points, slope = _blurred_with_slope(images, sigmas, self.max_sigma)
                self._made = (start, stop, self._shaped(-self.max_sigma * slope))
            if self.keep_points:  # the trace's points: kept as made, not blurred again at the end
                if self._kept is None or len(self._kept) != len(alphas) * len(self.images):
                    self._kept = points.new_empty(len(alphas) * len(self.images), *points.shape[1:])
                self._kept[start:stop] = points
            return self._shaped(points), rows

        return make_points

    def velocity(self, alphas: Tensor, start: int, stop: int) -> Tensor:
        """d gamma / d alpha = -max_sigma * d blur / d sigma at the chunk's points, made with them."""
        if self._made is not None and self._made[:2] == (start, stop):
            return self._made[2]
        sigmas, rows = self._sigmas(alphas, start, stop)
        return self._shaped(-self.max_sigma * blurred(self.images[rows], sigmas, True, self.max_sigma)[1])

    def points(self, alphas: Tensor) -> Tensor:
        """Every point of the path at `alphas`, [steps, batch, ...] (for the trace and the slider): those the
        walk made when `keep_points` was set, else made now."""
        count = len(alphas) * len(self.images)
        if self._kept is not None and len(self._kept) == count:
            points = self._kept
        else:
            sigmas, rows = self._sigmas(alphas, 0, count)
            points = blurred(self.images[rows], sigmas, bound=self.max_sigma)[0]
        points = points.view(len(alphas), len(self.images), *self.images.shape[1:])
        return points[:, :, 0] if self.squeeze else points


def blur_integrated_gradients(
    model: Callable,
    x: Tensor,
    *,
    target: TargetSpec = None,
    max_sigma: float = 50.0,
    steps: int = 32,
    rule: str = "gausslegendre",
    batch_size: int | None = None,
    trace: bool = True,
    output: str = "logit",
    trace_reduce: str | Reducer = "channels",
    progress: ProgressSpec = None,
    idgi: bool = False,
) -> AttributionResult:
    """Blur IG: integrate the gradient along a path of decreasing Gaussian blur, from the input blurred
    at `max_sigma` to the input itself.

    The result is an `AttributionResult` like IG's: `baseline` is the path's start (the input blurred at
    `max_sigma`), `baseline_score` F there, and `trace.points` the blurred images along the path (the
    slider shows them). Completeness, sum(attributions) = F(x) - F(start), holds up to the quadrature, as
    for IG: the gap shrinks with more steps.

    Parameters
    ----------
    model : the nn.Module or callable mapping images [batch, C, H, W] (or [batch, H, W]) to scores.
    x : the images, [batch, C, H, W] or [batch, H, W], floating, on the model's device.
    target : default None (each row's top class). As for `integrated_gradients`.
    max_sigma : default 50.0 (the paper's and PAIR saliency's). The blur, in pixels, at the path's start.
    steps : default 32. Points on the path (an int: the path has no refinement).
    rule : default "gausslegendre". The quadrature along alpha; "riemann_right" reproduces PAIR's sum
        (its sigmas i * max_sigma / steps, i = 0..steps-1, are alphas 1, ..., 1/steps).
    batch_size, trace, output, trace_reduce, progress : as for `integrated_gradients`.
    idgi : default False. IDGI along the blur path (see `integrated_gradients`): exact completeness.
    """
    check_model(model)
    check_input(x, model)
    if x.ndim not in (3, 4):
        raise AttributionInputError(
            f"x has shape {tuple(x.shape)}; blur_integrated_gradients needs images [batch, C, H, W] or [batch, H, W]"
        )
    if isinstance(max_sigma, bool) or not isinstance(max_sigma, (int, float)) or not max_sigma > 0:
        raise AttributionInputError(f"max_sigma must be a positive number of pixels (e.g. 50.0); got {max_sigma!r}")
    if steps == "auto":
        raise AttributionInputError("steps='auto' is for the straight path; give blur_integrated_gradients an int")
    check_target_spec(target, output)
    options = PathOptions.checked(
        steps=steps,
        rule=rule,
        batch_size=batch_size,
        output=output,
        reducer=image_trace_reducer(trace_reduce, x.ndim) if trace else None,
        progress=progress,
        tol=0.01,
        max_steps=steps,
        description="blur integrated gradients",
        idgi=idgi,
    )
    x = x.detach()
    path = BlurPath(x, max_sigma)
    path.with_velocity, path.keep_points = not idgi, trace
    result = integrate_path(
        plain_forward(isolated_model(model)),
        x,
        path.start,
        [target],
        options,
        method="blur_idgi" if idgi else "blur_integrated_gradients",
        baseline_label=f"blurred (sigma {max_sigma:g})",
        path=path,
    )[0]
    if result.trace is not None:
        result = replace(result, trace=replace(result.trace, points=path.points(result.trace.alphas)))
    return result
