"""Gradients at many points, evaluated in chunks that fit in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .errors import GradientPathError

# (points [m, ...], rows [m]) -> model output; `rows` says which input row each point belongs to.
Forward = Callable[[Tensor, Tensor], Any]
# (start, stop) -> (points, rows) for flat point indices start..stop-1.
PointMaker = Callable[[int, int], "tuple[Tensor, Tensor]"]
Score = Callable[[Any, Tensor], Tensor]
Progress = Callable[[int, int], None]

CPU_BUDGET_BYTES = 1 << 30
# Bytes of activations kept for the backward pass per byte of input: a generous guess for CNNs and
# transformers, refined on CUDA by halving on out-of-memory.
ACTIVATION_FACTOR = 64


@dataclass(frozen=True)
class Chunk:
    start: int
    stop: int
    rows: Tensor  # [m] input row of each point
    scores: Tensor  # [m] explained score at each point (detached)
    gradients: Tensor  # [m, ...] gradient of the score at each point


def auto_batch_size(point_bytes: int, rows: int, total: int, device: torch.device) -> int:
    """Points per forward pass from a memory budget, a multiple of `rows` when it can be."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        budget = free // 2
    else:
        budget = CPU_BUDGET_BYTES
    size = max(1, min(total, budget // max(1, point_bytes * ACTIVATION_FACTOR)))
    return (size // rows) * rows if size >= rows else size


def chunked_gradients(
    forward: Forward,
    score: Score,
    make_points: PointMaker,
    count: int,
    batch_size: int,
    progress: Progress | None = None,
) -> Iterator[Chunk]:
    """Yield the score and its input gradient for points 0..count-1, `batch_size` at a time.

    On a CUDA out-of-memory error the chunk is retried at half the size, down to a single point.
    """
    size, start = batch_size, 0
    while start < count:
        stop = min(count, start + size)
        try:
            chunk = _gradient_chunk(forward, score, make_points, start, stop)
        except torch.OutOfMemoryError as error:
            if size == 1:
                raise MemoryError(
                    "batch_size=1 (one path point per forward pass) still runs out of device memory; free "
                    "device memory (delete unused tensors, torch.cuda.empty_cache()), use a smaller input, "
                    "or move the model and input to the CPU"
                ) from error
            size = max(1, size // 2)
            torch.cuda.empty_cache()
            continue
        yield chunk
        if progress is not None:
            progress(stop, count)
        start = stop


def _gradient_chunk(forward: Forward, score: Score, make_points: PointMaker, start: int, stop: int) -> Chunk:
    # Inside inference_mode(False) so that a call from a user's `torch.inference_mode()` block still
    # builds a graph; tensors made there are ordinary tensors.
    with torch.inference_mode(False), torch.enable_grad():
        points, rows = make_points(start, stop)
        points = points.detach().requires_grad_(True)
        scores = score(forward(points, rows), rows)
        if not scores.requires_grad:
            raise GradientPathError(_NO_PATH)
        (gradients,) = torch.autograd.grad(scores.sum(), points, allow_unused=True)
    if gradients is None:
        raise GradientPathError(_NO_PATH)
    if not (torch.isfinite(scores).all() and torch.isfinite(gradients).all()):
        raise FloatingPointError(
            "the model produced NaN or inf on the path between baseline and input; check for log(0), "
            "division by zero or overflow in the model, or try another baseline"
        )
    return Chunk(start, stop, rows, scores.detach(), gradients)


_NO_PATH = (
    "the explained score has no gradient path to the input (a .detach(), torch.no_grad(), or a cast to "
    "integers inside the model?); attributions would all be zero. Make the model differentiable in its input"
)
