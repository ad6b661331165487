"""Turning attribution results into the binary payloads the browser views read.

Shared by every explainer widget: 1-D vectors travel as float32, images as exact uint8 (see
`ig_widget.encode`). Per-step traces are drawn and their values printed on hover, so they travel as
exact float32 while a trace map holds at most `EXACT_TRACE_VALUES` values; larger ones (a 224 x 224
image at 32 steps: 1.6 M values, 6.4 MB as float32) as int8 with one scale per path step, whose
stated error (scale / 2) the view prints beside the value instead of pretending to more digits.
"""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from ..attribution import AttributionResult, PathTrace
from ..encode import decode_array, encode_array

EXACT_TRACE_VALUES = 2**18  # float32 up to 1 MB per trace map: 64 x 64 pixels at 64 steps, 16 x 16 at 1024
EXACT_INPUT_VALUES = 2**16  # float32 input up to 256 kB: 147 x 147 x 3; a 224 x 224 photo keeps its bytes


def floats(values: Any) -> dict:
    """A small vector (alphas, weights, scores) kept at full float32 precision."""
    return encode_array(values, dtype="float32")


def signed_maps(values: Any) -> dict:
    """Signed maps stacked along the first dimension: exact float32 when they hold at most
    `EXACT_TRACE_VALUES` values, else int8 with a scale per map (zero stays zero)."""
    if math.prod(values.shape) <= EXACT_TRACE_VALUES:
        return encode_array(values, dtype="float32")
    return encode_array(values, dtype="int8", per_slice=True)


def printed_input(x: Tensor, scale: Any, offset: Any, image: dict) -> dict:
    """What hover needs to print the model's input `x` (C x H x W) at a pixel, merged into the payload.

    The display bytes give offset + scale * byte. Where that reproduces x (a ToTensor + Normalize
    preprocess of the user's pixels) nothing more is sent. Otherwise a small input travels as float32
    `input`; a large one adds only `input_error`, per channel the most the byte values miss by, which
    the view prints beside them.
    """
    values = x.detach().cpu().double().numpy()
    pixels = decode_array(image).astype("float64")[..., : values.shape[0]].transpose(2, 0, 1)
    restored = offset[:, None, None] + scale[:, None, None] * pixels
    error = abs(restored - values).reshape(len(values), -1).max(axis=1)
    if (error <= 1e-6 * max(abs(values).max(), 1e-30)).all():
        return {}
    if values.size <= EXACT_INPUT_VALUES:
        return {"input": floats(x.detach().cpu().float())}
    return {"input_error": [float(e) for e in error]}


def completeness(result: AttributionResult, row: int = 0) -> dict:
    """F(x), F(x'), the sum of attributions and the completeness gap of one row, as plain numbers."""
    return {
        "score": float(result.score[row]),
        "baseline_score": float(result.baseline_score[row]),
        "total": float(result.total[row]),
        "gap": float(result.gap[row]),
        "relative_gap": float(result.relative_gap[row]),
        # the largest gap the rounding of F(x) and F(x') alone makes, and whether this one is no larger
        "rounding": float(result.gap_rounding[row]),
        "within_rounding": bool(result.gap_within_rounding[row]),
        "diagnosis": None
        if result.diagnosis is None
        else {
            "kind": result.diagnosis.kind,
            "alpha_from": result.diagnosis.alpha_from,
            "alpha_to": result.diagnosis.alpha_to,
            "share": result.diagnosis.share,
            "message": result.diagnosis.message,
        },
    }


def trace_payload(trace: PathTrace, row: int = 0) -> dict:
    """What the alpha slider needs for one row: where the points are, F along the path, and the
    reduced interior gradients and cumulative attributions at every point."""
    cumulative = _row(trace.cumulative, row)
    return {
        "alphas": floats(trace.alphas),
        "weights": floats(trace.weights),
        "scores": floats(trace.scores[:, row]),
        "gradients": signed_maps(_row(trace.gradients, row)),
        "cumulative": signed_maps(cumulative),
        "cumulative_total": floats(cumulative.flatten(1).sum(dim=1)),
    }


def _row(per_step: Tensor, row: int) -> Tensor:
    return per_step[:, row].detach().cpu().float()
