"""Compact binary payloads for the browser.

An encoded array is a dict that crosses to JavaScript as-is (ipywidgets moves the `data` bytes as a
binary buffer, which JavaScript receives as a DataView):

    {"dtype": "int8" | "uint8" | "float16" | "float32",
     "shape": [d0, d1, ...],
     "scale": [s_0, ..., s_{n-1}],   # one per leading slice (n = d0) or a single one (n = 1)
     "offset": [o_0, ..., o_{n-1}],  # same length as scale
     "data": bytes}                  # little-endian, C order

and decodes as  value = offset[i] + scale[i] * stored,  i the leading index (or 0). Floats are
stored with scale 1 and offset 0. Quantisation error is at most scale[i] / 2 per value:

    int8   signed maps, symmetric: scale = max|v| / 127, offset 0 (zero stays exactly zero)
    uint8  magnitudes and images:  scale = (max - min) / 255, offset = min
"""

from __future__ import annotations

from typing import Any

import numpy as np

QUANTISED = {"int8": np.int8, "uint8": np.uint8}
FLOATS = {"float16": np.float16, "float32": np.float32}


def encode_array(values: Any, dtype: str = "float32", per_slice: bool = False) -> dict:
    """Encode `values` (numpy array or torch tensor) as a payload dict; see the module docstring."""
    array = _as_numpy(values)
    if dtype in FLOATS:
        stored, scale, offset = array.astype(FLOATS[dtype]), np.ones(1), np.zeros(1)
    elif dtype in QUANTISED:
        stored, scale, offset = _quantise(array, dtype, per_slice)
    else:
        raise ValueError(f"dtype={dtype!r} is not an encoding; use one of {', '.join([*FLOATS, *QUANTISED])}")
    return {
        "dtype": dtype,
        "shape": list(array.shape),
        "scale": [float(s) for s in scale],
        "offset": [float(o) for o in offset],
        "data": np.ascontiguousarray(stored).astype(stored.dtype.newbyteorder("<"), copy=False).tobytes(),
    }


def decode_array(payload: dict) -> np.ndarray:
    """Inverse of `encode_array` (up to the quantisation error), as float32."""
    dtype = {**QUANTISED, **FLOATS}[payload["dtype"]]
    stored = np.frombuffer(payload["data"], dtype=np.dtype(dtype).newbyteorder("<")).reshape(payload["shape"])
    scale = np.asarray(payload["scale"], dtype=np.float64)
    offset = np.asarray(payload["offset"], dtype=np.float64)
    if len(scale) > 1:
        view = (-1,) + (1,) * (stored.ndim - 1)
        scale, offset = scale.reshape(view), offset.reshape(view)
    return (offset + scale * stored.astype(np.float64)).astype(np.float32)


def max_error(payload: dict) -> float:
    """The largest absolute difference between a value and its decoded form."""
    if payload["dtype"] in FLOATS:
        return float("inf") if payload["dtype"] == "float16" else 0.0
    return max(payload["scale"]) / 2


def encode_image(values: Any) -> dict:
    """An RGB image H x W x 3 with values in [0, 255] (or [0, 1] floats), as exact uint8."""
    array = _as_numpy(values)
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array * (255.0 if array.max(initial=0) <= 1.0 else 1.0)), 0, 255).astype(np.uint8)
    return {"dtype": "uint8", "shape": list(array.shape), "scale": [1.0], "offset": [0.0], "data": array.tobytes()}


def _quantise(array: np.ndarray, dtype: str, per_slice: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = array.astype(np.float64)
    slices = values.reshape(values.shape[0], -1) if per_slice and values.ndim > 0 else values.reshape(1, -1)
    finite_or_zero = np.where(np.isfinite(slices), slices, 0.0)
    if dtype == "int8":
        peak = np.abs(finite_or_zero).max(axis=1, initial=0.0)
        scale = np.where(peak > 0, peak / 127.0, 1.0)
        offset = np.zeros_like(scale)
        stored = np.clip(np.rint(finite_or_zero / scale[:, None]), -127, 127).astype(np.int8)
    else:
        low = finite_or_zero.min(axis=1, initial=np.inf) if finite_or_zero.size else np.zeros(len(slices))
        high = finite_or_zero.max(axis=1, initial=-np.inf) if finite_or_zero.size else np.zeros(len(slices))
        low, high = np.where(np.isfinite(low), low, 0.0), np.where(np.isfinite(high), high, 0.0)
        scale = np.where(high > low, (high - low) / 255.0, 1.0)
        offset = low
        stored = np.clip(np.rint((finite_or_zero - low[:, None]) / scale[:, None]), 0, 255).astype(np.uint8)
    return stored.reshape(array.shape), scale, offset


def _as_numpy(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)
