"""From what the user hands the image widget to the model's input and to pixels the browser can draw.

The view draws RGB bytes; hover reports the model's own input values. The two are linked by one
affine map per channel, value = offset[c] + scale[c] * byte, so that the scaled input at alpha is a
plain blend of the input and baseline pixels (an affine map commutes with the straight path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

DISPLAY_CHANNELS = (1, 3)


def prepare_input(image: Any, preprocess: Callable | None) -> tuple[Tensor, np.ndarray | None]:
    """Return (model input [1, C, H, W] float, the original pixels H x W x C uint8 or None).

    A tensor is used as the model input (after `preprocess` if given). A PIL image or an H x W (x C)
    uint8 array goes through `preprocess`, or without one becomes floats in [0, 1] channels-first.
    """
    original = None if isinstance(image, Tensor) else _pixels(image)
    if preprocess is not None:
        try:
            x = preprocess(image)
        except Exception as error:
            raise ValueError(
                f"preprocess raised {type(error).__name__} on the image: {error}; it needs to turn the image "
                "into a float tensor C x H x W"
            ) from error
    elif original is not None:
        x = torch.from_numpy(original).permute(2, 0, 1).float() / 255.0
    else:
        x = image
    if not isinstance(x, Tensor):
        raise TypeError(f"preprocess returned {type(x).__name__}; it needs to return a torch.Tensor C x H x W")
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 3 or x.shape[0] not in DISPLAY_CHANNELS or not x.dtype.is_floating_point:
        raise ValueError(
            f"image became a {x.dtype} tensor of shape {tuple(x.shape)}; the model input needs to be a float "
            "tensor C x H x W (or 1 x C x H x W) with 1 or 3 channels"
        )
    if not torch.isfinite(x).all():
        raise ValueError("image contains NaN or inf (after preprocess, if given); the model input needs finite values")
    return x.detach()[None], original


def display_map(x: Tensor, original: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (scale, offset) with model value = offset + scale * byte.

    Fitted to the original pixels when they line up with the input (a ToTensor + Normalize style
    preprocess is exactly affine); otherwise the input's own range is stretched over 0..255.
    """
    values = x[0].detach().cpu().double().numpy()
    channels = values.shape[0]
    if original is not None and original.shape[:2] == values.shape[1:] and original.shape[2] == channels:
        fitted = [np.polyfit(original[..., c].ravel().astype(np.float64), values[c].ravel(), 1) for c in range(channels)]
        if all(np.isfinite(fit).all() and fit[0] > 0 for fit in fitted):
            return np.array([fit[0] for fit in fitted]), np.array([fit[1] for fit in fitted])
    low, high = float(values.min()), float(values.max())
    scale = (high - low) / 255.0 if high > low else 1.0
    return np.full(channels, scale), np.full(channels, low)


def to_display(values: Tensor, scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """A C x H x W tensor in model units as H x W x 3 RGB bytes (grey repeated for one channel)."""
    array = values.detach().cpu().double().numpy()
    pixels = (array - offset[:, None, None]) / scale[:, None, None]
    pixels = np.clip(np.rint(pixels), 0, 255).astype(np.uint8).transpose(1, 2, 0)
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels


def _pixels(image: Any) -> np.ndarray:
    """A PIL image or array as H x W x C uint8."""
    if hasattr(image, "convert") and hasattr(image, "mode"):
        image = image.convert("L" if image.mode in ("L", "1", "I", "F") else "RGB")
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in DISPLAY_CHANNELS or array.dtype != np.uint8:
        raise ValueError(
            f"image is a {type(image).__name__} with dtype {array.dtype} and shape {array.shape}; give a tensor "
            "C x H x W, a PIL image, or a uint8 array H x W or H x W x 3"
        )
    return array
