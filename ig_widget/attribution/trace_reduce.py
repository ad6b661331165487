"""How the trace shrinks per-point maps before it keeps them (one per path point, so size matters)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .errors import AttributionInputError

Reducer = Callable[[Tensor], Tensor]


def image_trace_reducer(trace_reduce: str | Reducer, ndim: int) -> Reducer:
    """For inputs the model takes directly: summed over channels (dim 1 of each point) by default, kept
    whole with "none", or any callable [points, ...] -> [points, ...]."""
    if callable(trace_reduce):
        return trace_reduce
    if trace_reduce == "channels":
        return (lambda t: t.sum(dim=1)) if ndim >= 3 else (lambda t: t)
    if trace_reduce == "none":
        return lambda t: t
    raise AttributionInputError(f"trace_reduce={trace_reduce!r} is unknown; use 'channels', 'none' or a callable")


def embedding_trace_reducer(trace_reduce: str | Reducer) -> Reducer:
    """For token embeddings [points, length, dim]: summed over the embedding dim by default (per-token
    values that add up as the attributions do), kept whole with "none", or any callable."""
    if callable(trace_reduce):
        return trace_reduce
    if trace_reduce == "embedding":
        return lambda t: t.sum(dim=-1)
    if trace_reduce == "none":
        return lambda t: t
    raise AttributionInputError(f"trace_reduce={trace_reduce!r} is unknown; use 'embedding', 'none' or a callable")
