"""Gradients at many points, evaluated in chunks that fit in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .errors import AttributionError, DeviceMemoryError, GradientPathError, ModelCallError, NonFiniteError
from .targets import output_tensor

# (points [m, ...], rows [m]) -> model output; `rows` says which input row each point belongs to.
Forward = Callable[[Tensor, Tensor], Any]
# (start, stop) -> (points, rows) for flat point indices start..stop-1.
PointMaker = Callable[[int, int], "tuple[Tensor, Tensor]"]
Score = Callable[[Any, Tensor], Tensor]
Progress = Callable[[int, int], None]

# The memory a chunk and what the walk keeps may take on the CPU.
CPU_BUDGET_BYTES = 1 << 29
# Speed, not memory: on a 2-core CPU, image chunks whose estimated working set passes about 64 MiB
# ran slower per point (small CNN at 64 x 64, 50 steps: 97 ms in chunks of 10 to 17 points, 139 ms in
# one chunk of 50; ResNet-18 at 224 x 224: 2.90 s in chunks of 10, 3.19 s in 25, 3.46 s in 5), so CPU
# image chunks stop there, but never below CPU_MIN_POINTS (a tiny model keeps its one chunk). MiniLM
# ran about 3% faster in one chunk of 50 than in chunks of 21, so token sequences are not capped.
CPU_FAST_CHUNK_BYTES = 1 << 26
CPU_MIN_POINTS = 8
# Bytes of activations kept for the backward pass per byte of input: a generous guess for CNNs and
# transformers, refined on CUDA by halving on out-of-memory.
ACTIVATION_FACTOR = 64


@dataclass
class RidingEnds:
    """Inputs that ride in the first chunk's forward pass without being path points: x, and x' where
    the path does not start there. Their scores are F(x) and F(x'), read with the walk's one check at
    its end instead of from a pass of their own (one forward pass fewer, no wait for the device).

    `resolve(output)` fixes the explained scores from the model's output tensor at x (the first chunk's
    first rows, detached: the top class, the top k) before the first backward pass; `values` then holds
    each score's values at the ends.
    """

    points: list[Tensor]  # [B, ...] each: x, then x' where it rides too
    rows: Tensor  # [E] input row of each of their E rows
    resolve: Callable[[Tensor], list[Score]]
    alone: Callable[[], Any]  # the model on x alone: raises `ModelCallError` when x itself is refused
    values: list[Tensor] | None = None
    output: Tensor | None = None  # [B, ...] the model's output tensor at x


_KEEP_OUTPUT_BYTES = 1 << 20  # a first chunk's output up to this size is kept whole for the rows at x


class EndsRefused(Exception):  # noqa: N818 - a signal to the caller, never shown to a user
    """The first chunk cannot carry the ends: it does not fit in memory with them, its output does not
    split by rows, or the targets are not what was expected. The caller walks the plain way."""


@dataclass(frozen=True)
class Chunk:
    start: int
    stop: int
    rows: Tensor  # [m] input row of each point
    scores: Tensor  # [m] explained score at each point (detached)
    gradients: Tensor  # [m, ...] gradient of the score at each point


def repeated_rows(batch: int, repeats: int, device: torch.device) -> Tensor:
    """Rows 0..batch-1, `repeats` times over: the input row of each point of whole steps. One operator
    call for a single input (all zeros), two otherwise."""
    if batch == 1:
        return torch.zeros(repeats, dtype=torch.long, device=device)
    return torch.arange(batch, device=device).repeat(repeats)


def auto_batch_size(point: Tensor, rows: int, total: int, kept_bytes: int = 0) -> int:
    """Points per forward pass for points shaped like `point` (one input row), from a memory budget on
    `point`'s device, a multiple of `rows` when it can be.

    `kept_bytes` is what the caller holds for the whole walk (the trace, stored gradients): it comes
    out of the budget, so the chunk and what is kept together fit in it.
    """
    if point.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(point.device)
        budget = free // 2
    else:
        budget = CPU_BUDGET_BYTES
    per_point = max(1, point.numel() * point.element_size() * ACTIVATION_FACTOR)
    size = max(0, budget - kept_bytes) // per_point
    if point.device.type == "cpu" and point.ndim == 3:  # an image: C x H x W
        size = min(size, max(CPU_MIN_POINTS, CPU_FAST_CHUNK_BYTES // per_point))
    size = max(1, min(total, size))
    return (size // rows) * rows if size >= rows else size


def chunked_gradients(
    forward: Forward,
    score: Score,
    make_points: PointMaker,
    count: int,
    batch_size: int,
    progress: Progress | None = None,
    layout: torch.memory_format | None = None,
) -> Iterator[Chunk]:
    """Yield the score and its input gradient for points 0..count-1, `batch_size` at a time.

    On a CUDA out-of-memory error the chunk is retried at half the size, down to a single point.
    `layout` (e.g. torch.channels_last) is the memory format the points are handed to the model in.
    """
    for chunks in chunked_multi_gradients(forward, [score], make_points, count, batch_size, progress, layout):
        yield chunks[0]


def chunked_multi_gradients(
    forward: Forward,
    scores: Sequence[Score],
    make_points: PointMaker,
    count: int,
    batch_size: int,
    progress: Progress | None = None,
    layout: torch.memory_format | None = None,
    deferred: list | None = None,
    check_finite: bool = True,
    ends: RidingEnds | None = None,
) -> Iterator[list[Chunk]]:
    """Like `chunked_gradients` for several scores at once: one forward pass per chunk, then one
    backward pass per score through the same graph. Yields one Chunk per score.

    The finite check of every score and gradient is one 0-d flag read once at the end. With
    `deferred` (a list) it is not read here: the flag is appended to it for the caller to read with
    its other checks (one host synchronisation per walk), who must then raise `path_not_finite()`.
    `check_finite=False`: no flag at all, for a caller that checks what it keeps instead (the
    straight walk's running sums and scores, which NaN and inf reach).

    A model that refuses the points in `layout` on the first chunk (a `.view` that needs contiguous
    input, say) gets every chunk in the default layout instead. `ends` ride in the first chunk (see
    `RidingEnds`); `scores` is then filled in place by `ends.resolve` on that chunk.
    """
    size, start = batch_size, 0
    finite = None  # checked once at the end: a check per chunk would wait for the GPU every chunk
    while start < count:
        stop = min(count, start + size)
        try:
            chunks, chunk_finite = _gradient_chunks(
                forward, scores, make_points, start, stop, layout, check_finite, ends if start == 0 else None
            )
        except torch.OutOfMemoryError as error:
            if ends is not None and start == 0:  # a first chunk too big with x and x' in it: the plain walk
                torch.cuda.empty_cache()
                raise EndsRefused from None
            if size == 1:
                raise DeviceMemoryError(
                    "batch_size=1 (one path point per forward pass) still runs out of device memory; free "
                    "device memory (delete unused tensors, torch.cuda.empty_cache()), use a smaller input, "
                    "or move the model and input to the CPU"
                ) from error
            size = max(1, size // 2)
            torch.cuda.empty_cache()
            continue
        except (GradientPathError, ModelCallError):
            raise
        except RuntimeError:
            if layout is None or start > 0:
                raise
            layout = None
            continue
        if chunk_finite is not None:
            finite = chunk_finite if finite is None else finite & chunk_finite
        yield chunks
        if progress is not None:
            progress(stop, count)
        start = stop
    if finite is None:
        return
    if deferred is not None:
        deferred.append(finite)
    elif not finite:
        raise path_not_finite()


def path_not_finite() -> NonFiniteError:
    return NonFiniteError(
        "the model produced NaN or inf on the path between baseline and input; check for log(0), "
        "division by zero or overflow in the model, or try another baseline"
    )


def preferred_layout(x: Tensor) -> torch.memory_format | None:
    """Channels-last for image batches on the CPU, where oneDNN's convolutions run faster in it;
    None (the tensor's own layout) elsewhere."""
    return torch.channels_last if x.device.type == "cpu" and x.ndim == 4 else None


def _gradient_chunks(
    forward: Forward,
    scores: Sequence[Score],
    make_points: PointMaker,
    start: int,
    stop: int,
    layout: torch.memory_format | None,
    check_finite: bool = True,
    ends: RidingEnds | None = None,
) -> tuple[list[Chunk], Tensor | None]:
    """The chunk's scores and gradients, and a 0-d flag saying whether all of them are finite (None
    without `check_finite`). `ends` go in front of the chunk's points (see `RidingEnds`)."""
    # Inside inference_mode(False) so that a call from a user's `torch.inference_mode()` block still
    # builds a graph; tensors made there are ordinary tensors.
    with torch.inference_mode(False), torch.enable_grad():
        points, rows = make_points(start, stop)
        path_rows = rows
        # An inference tensor (made under the user's torch.inference_mode()) can never require grad: its
        # points are copied into an ordinary tensor (the input itself for saliency and gradient x input).
        if ends is not None:
            points, rows = torch.cat([*ends.points, points]), torch.cat([ends.rows, rows])
        elif points.is_inference():
            points = points.clone()
        elif not getattr(make_points, "fresh", False):  # points of the caller's own: not marked as ours
            points = points.detach()
        if layout is not None:
            points = points.contiguous(memory_format=layout)
        points.requires_grad_(True)
        raw = forward(points, rows) if ends is None else _forward_with_ends(forward, points, rows, scores, ends, layout)
        # With ends, each score is taken over them too and its sum's gradient is the same at the path
        # points (no row depends on another's input), without the graph of a slice.
        values = [score(raw, rows) for score in scores]
        if not all(value.requires_grad for value in values):
            raise GradientPathError(_NO_PATH)
        # The gradient of each point's own score (no row depends on another's input), seeded with ones
        # rather than through a sum: three operator calls fewer per target (see benchmarks/op_counts.py).
        ones = torch.ones_like(values[0])
        gradients = [
            torch.autograd.grad(
                value,
                points,
                ones if value.shape == ones.shape and value.dtype == ones.dtype else torch.ones_like(value),
                allow_unused=True,
                retain_graph=index < len(values) - 1,
            )[0]
            for index, value in enumerate(values)
        ]
    if any(gradient is None for gradient in gradients):
        raise GradientPathError(_NO_PATH)
    if ends is None:
        kept = [value.detach() for value in values]
    else:  # the ends' rows come first: their scores are F(x) and F(x'), the rest the path's
        riding = len(ends.rows)
        parts = [value.detach().split([riding, len(value) - riding]) for value in values]
        ends.values, kept = [part[0] for part in parts], [part[1] for part in parts]
        gradients, rows = [gradient[riding:] for gradient in gradients], path_rows
    finite = (
        torch.stack([torch.isfinite(v).all() & torch.isfinite(g).all() for v, g in zip(kept, gradients)]).all()
        if check_finite
        else None
    )
    if layout is not None:  # hand back the default layout: later elementwise work runs on fast paths
        gradients = [gradient.contiguous() for gradient in gradients]
    chunks = [Chunk(start, stop, rows, value, gradient) for value, gradient in zip(kept, gradients)]
    return chunks, finite


def _forward_with_ends(
    forward: Forward, points: Tensor, rows: Tensor, scores: list, ends: RidingEnds, layout: torch.memory_format | None
) -> Any:
    """The first chunk's pass with the ends in front; fixes `scores` from the output at the ends.

    When the model raises, a RuntimeError in a memory layout of ours goes back to the caller (which
    tries the default layout); otherwise the model runs on x alone (`ends.alone`), whose error names
    the user's input, and when x alone passes, the plain walk is tried (a model that takes few rows
    at a time may still take its chunks; if not, its error comes from there)."""
    try:
        raw = forward(points, rows)
    except (torch.OutOfMemoryError, AttributionError):
        raise
    except Exception as error:
        if layout is not None and isinstance(error, RuntimeError):
            raise
        ends.alone()
        raise EndsRefused from error
    output = output_tensor(raw)
    if output.ndim == 0 or output.shape[0] != points.shape[0]:
        raise EndsRefused
    at_input = output.detach()[: ends.points[0].shape[0]]
    scores[:] = ends.resolve(at_input)
    # A view keeps the whole chunk's output: fine for class scores, a copy for a language model's logits
    ends.output = at_input if output.nbytes <= _KEEP_OUTPUT_BYTES else at_input.clone()
    return raw


_NO_PATH = (
    "the explained score has no gradient path to the input (a .detach(), torch.no_grad(), or a cast to "
    "integers inside the model?); attributions would all be zero. Make the model differentiable in its input"
)
