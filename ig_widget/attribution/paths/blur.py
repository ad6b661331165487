"""Blur IG (Xu, Venugopalan, Sundararajan, Bhattacharya, Chen, "Attribution in Scale and Space", CVPR 2020).

The path runs from a heavily blurred copy of the input to the input: point alpha is the input blurred
by a Gaussian of sigma = max_sigma * (1 - alpha). The attribution of feature i is the path integral
integral_0^1 dF/dx_i (gamma(alpha)) * dgamma_i/dalpha dalpha, computed with the same rules as IG. The
blur is scipy's `ndimage.gaussian_filter` as PAIR saliency's BlurIG uses it (zeros outside the image)
but untruncated (see `gaussian_kernels`), and its derivative in sigma is exact (the derivative of the
kernel), where PAIR takes a finite difference of 0.01 in sigma.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import torch
from torch import Tensor

from ..batching import preferred_layout
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
POINTS_AT_ONCE = 2**22  # values of the trace's points blurred together: bounds the products' temporaries


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


class _Buffers:
    """The arrays a chunk's blur writes, reused from chunk to chunk of one walk (`reuse`) or made fresh.

    Reused, the blur allocates nothing per chunk: with glibc's default allocator a chunk's fresh
    arrays (about 5 MB at 8 images of 3 x 64 x 64, two steps a chunk) were faulted in again at every
    chunk once the model's activations above them went back to the system. Only for arrays that the
    walk is done with before the next chunk is made: the points (the walk takes its own leaf of them)
    and the velocity (read by the walk right after the chunk's pass)."""

    def __init__(self, reuse: bool):
        self.reuse = reuse
        self._flat: dict[str, Tensor] = {}

    def __call__(self, name: str, like: Tensor, shape: tuple[int, ...], channels_last: bool = False) -> Tensor:
        """An array of `shape` with `like`'s dtype and device (channels-last strides if asked, [N, C, H, W])."""
        numel = math.prod(shape)
        flat = self._flat.get(name)
        if flat is None or flat.numel() < numel or flat.dtype != like.dtype or flat.device != like.device:
            flat = like.new_empty(numel)
            if self.reuse:
                self._flat[name] = flat
        if channels_last:
            count, channels, height, width = shape
            return flat[:numel].view(count, height, width, channels).permute(0, 3, 1, 2)
        return flat[:numel].view(shape)


def _blur_groups(
    lined: Tensor,
    shape: tuple[int, int, int, int],
    sigmas: Tensor,
    slope_factor: float | None = None,
    bound: float | None = None,
    layout: torch.memory_format | None = None,
    out: Tensor | None = None,
    buffers: _Buffers | None = None,
) -> tuple[Tensor, Tensor | None]:
    """Images blurred in groups that share a sigma: the points [G * R, C, H, W] in `layout` (default:
    contiguous; or written into `out`), and with `slope_factor` that factor times their derivative in
    sigma (contiguous), else None. `buffers`: where the results and temporaries are written (default:
    fresh arrays).

    `lined`: the R images of a group as one matrix with the height first, [1 or G, H * R * C, W] (see
    `_lined`; 1: every group blurs the same images), `shape` (R, C, H, W), `sigmas` [G].

    One blur matrix per group and axis, not one per image: the R images of a step (a batch of inputs)
    share it, and each product is one matrix per group, the images side by side (no copies of the
    images or the matrices for broadcasting). The factor rides in the derivative's matrices, and the
    products are the five the blur and its derivative need: X M and X M' along the width, then
    [M; M'] (X M) and M (X M') along the height. Points and derivatives of one walk (8 images of
    3 x 64 x 64, 32 steps, 16 points a chunk, one thread): 53 ms with a matrix per image and fresh
    arrays, 43 ms with a matrix per step, 34 ms with `buffers` reused; bit-identical."""
    rows, channels, height, width = shape
    groups, lines = len(sigmas), rows * channels * width
    new = buffers if buffers is not None else _Buffers(reuse=False)
    along_h, along_h_slope = blur_matrices(sigmas, height, slope_factor is not None, bound)
    along_w, along_w_slope = (
        (along_h, along_h_slope) if width == height else blur_matrices(sigmas, width, slope_factor is not None, bound)
    )
    lined = lined.expand(groups, -1, -1)
    done_w = torch.bmm(lined, along_w, out=new("across", lined, (groups, lined.shape[1], width)))
    done_w = done_w.view(groups, height, lines)
    if slope_factor is not None:
        along_h = torch.cat([along_h, along_h_slope * slope_factor], dim=1)  # [G, 2H, H]: M over M'
    done = torch.bmm(along_h, done_w, out=new("done", lined, (groups, len(along_h[0]), lines)))
    points = out
    if points is None:
        points = new("points", lined, (groups * rows, channels, height, width), layout == torch.channels_last)
    points.view(groups, rows, channels, height, width).copy_(_by_image(done[:, :height], shape))
    if slope_factor is None:
        return points, None
    slope_w = torch.bmm(lined, along_w_slope * slope_factor, out=new("across", lined, (groups, lined.shape[1], width)))
    slope_w = slope_w.view(groups, height, lines)
    other = torch.bmm(along_h[:, :height], slope_w, out=new("other", lined, (groups, height, lines)))  # M (X M')
    slope = new("slope", lined, (groups * rows, channels, height, width))
    torch.add(_by_image(done[:, height:], shape), _by_image(other, shape), out=slope.view(groups, *shape))
    return points, slope


def _lined(images: Tensor, per_image: bool = False) -> Tensor:
    """Images [N, C, H, W] as `_blur_groups` takes them: [1, H * N * C, W] (one group of N images), or with
    `per_image` [N, H * C, W] (each image its own group)."""
    count, channels, height, width = images.shape
    if per_image:
        return images.permute(0, 2, 1, 3).reshape(count, height * channels, width)
    return images.permute(2, 0, 1, 3).reshape(1, height * count * channels, width)


def _by_image(done: Tensor, shape: tuple[int, int, int, int]) -> Tensor:
    """A product [G, H, R * C * W] viewed as images [G, R, C, H, W]."""
    rows, channels, height, width = shape
    return done.view(len(done), height, rows, channels, width).permute(0, 2, 3, 1, 4)


def blurred(
    images: Tensor, sigmas: Tensor, with_derivative: bool = False, bound: float | None = None
) -> tuple[Tensor, Tensor | None]:
    """Images [m, C, H, W] blurred with one sigma each, and (optionally) the derivative in sigma; `bound`
    as for `gaussian_kernels`."""
    shape = (1, *images.shape[1:])
    return _blur_groups(_lined(images, per_image=True), shape, sigmas, 1.0 if with_derivative else None, bound)


class BlurPath:
    """gamma(alpha) = blur(x, max_sigma * (1 - alpha)); gamma(0) is `start`, gamma(1) = x."""

    def __init__(self, x: Tensor, max_sigma: float):
        self.images = x if x.ndim == 4 else x[:, None]
        self.squeeze = x.ndim == 3
        self.max_sigma = float(max_sigma)
        self.layout = preferred_layout(x)  # the walk hands the model its points in this layout
        self.lined = _lined(self.images)  # made once: every whole-step chunk blurs these
        start_sigmas = self.images.new_full((1,), self.max_sigma)
        self.start = self._shaped(_blur_groups(self.lined, self.images.shape, start_sigmas, bound=self.max_sigma)[0])
        self._made: tuple | None = None  # (start, stop, velocity) of the last chunk made
        self.with_velocity = True  # IDGI never asks for the velocity: False saves its products
        self._buffers = _Buffers(reuse=True)  # the walk's chunks, one after another

    def _shaped(self, images: Tensor) -> Tensor:
        return images[:, 0] if self.squeeze else images

    def _made_between(
        self,
        alphas: Tensor,
        start: int,
        stop: int,
        with_velocity: bool,
        layout: torch.memory_format | None = None,
        buffers: _Buffers | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Points start..stop (flat, step-major) and, if asked, d gamma / d alpha there, [stop - start, C, H, W].

        A chunk of whole steps blurs each step's images with that step's matrices; any other chunk
        (a batch size that splits a step) blurs each point with its own."""
        batch = len(self.images)
        factor = -self.max_sigma if with_velocity else None  # d gamma / d alpha = -max_sigma d blur / d sigma
        if start % batch == 0 and (stop - start) % batch == 0:
            sigmas = self.max_sigma * (1 - alphas[start // batch : stop // batch])
            return _blur_groups(self.lined, self.images.shape, sigmas, factor, self.max_sigma, layout, buffers=buffers)
        index = torch.arange(start, stop, device=self.images.device)
        sigmas = self.max_sigma * (1 - alphas[index // batch])
        lined = _lined(self.images[index % batch], per_image=True)
        shape = (1, *self.images.shape[1:])
        return _blur_groups(lined, shape, sigmas, factor, self.max_sigma, layout, buffers=buffers)

    def maker(self, alphas: Tensor):
        batch = len(self.images)
        rows_of = {}  # (start % batch, count) -> the chunk's rows, made once: chunks of whole steps share them

        def make_points(start: int, stop: int) -> tuple[Tensor, Tensor]:
            made = self._made_between(alphas, start, stop, self.with_velocity, self.layout, self._buffers)
            points, velocity = made
            if velocity is not None:
                self._made = (start, stop, self._shaped(velocity))
            key = (start % batch, stop - start)
            if key not in rows_of:
                rows_of[key] = torch.arange(start, stop, device=self.images.device) % batch
            return self._shaped(points), rows_of[key]

        return make_points

    def velocity(self, alphas: Tensor, start: int, stop: int) -> Tensor:
        """d gamma / d alpha = -max_sigma * d blur / d sigma at the chunk's points, made with them."""
        if self._made is not None and self._made[:2] == (start, stop):
            return self._made[2]
        return self._shaped(self._made_between(alphas, start, stop, True)[1])

    def points(self, alphas: Tensor) -> Tensor:
        """Every point of the path at `alphas`, [steps, batch, ...] (for the trace and the slider), made
        again after the walk, in the walk's buffers and as many steps at once as `POINTS_AT_ONCE` allows,
        rather than kept as the walk made them: a buffer the size of the trace's points filled during
        the walk made glibc's allocator hand the model's activations back to the system and fault them
        in again at every chunk (8 images: 75,000 - 145,000 minor faults a call against 15,000 - 25,000
        without it, 0.2 s of system time), where making them again costs the blur without its
        derivative (two of its five products)."""
        batch = len(self.images)
        points = self.images.new_empty(len(alphas) * batch, *self.images.shape[1:])
        at_once = max(1, POINTS_AT_ONCE // self.images.numel())
        for first in range(0, len(alphas), at_once):
            last = min(len(alphas), first + at_once)
            sigmas = self.max_sigma * (1 - alphas[first:last])
            out = points[first * batch : last * batch]
            _blur_groups(self.lined, self.images.shape, sigmas, bound=self.max_sigma, out=out, buffers=self._buffers)
        points = points.view(len(alphas), batch, *self.images.shape[1:])
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
    path.with_velocity = not idgi
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
