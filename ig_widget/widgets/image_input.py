"""From what the user hands the image widget to the model's input and to pixels the browser can draw.

What is accepted, one rule for every kind of image:

- a `torch.Tensor`, a `numpy.ndarray` or a PIL image;
- shaped H x W (grey), C x H x W or H x W x C with C = 1 or 3, optionally with a leading batch of 1.
  Where both readings fit (3 x 3 x 3), a tensor is read C x H x W and an array H x W x C, each
  library's own convention;
- uint8 pixels (and PIL images) become floats in [0, 1]; floats are used as they are; any other dtype
  (integers, bool) is refused;
- the floats take the model's floating dtype (that of its first floating parameter or buffer): a float64
  model is handed float64 whether the user gave float64, float32 or uint8, the conversion the engine's
  dtype check would otherwise ask the user for (it refused a float64 array for a float64 model, the
  array having been made float32 here). A model without floating parameters gets float tensors as they
  are and numpy floats and uint8 pixels as float32, torch's default.

With `preprocess`, the image is handed to it untouched and what it returns must be a float tensor by
the same rule. The view draws RGB bytes; hover reports the model's own input values. The two are
linked by one affine map per channel, value = offset[c] + scale[c] * byte, so that the scaled input at
alpha is a plain blend of the input and baseline pixels (an affine map commutes with the straight path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..attribution.errors import AttributionInputError

DISPLAY_CHANNELS = (1, 3)
ACCEPTED = "a tensor or array H x W, C x H x W or H x W x C (C = 1 or 3; uint8 pixels or floats) or a PIL image"


def prepare_input(
    image: Any, preprocess: Callable | None, dtype: torch.dtype | None = None
) -> tuple[Tensor, np.ndarray | None]:
    """Return (model input [1, C, H, W] float, the original pixels H x W x C uint8 or None).

    `dtype`: the model's floating dtype (`model_dtype`), which the input takes whatever float or uint8 it
    came as; None (a model without floating parameters) keeps float tensors as they are and makes numpy
    floats and uint8 pixels float32.
    """
    array = _as_array(image)
    original = _channels_last(array, "image") if array is not None and array.dtype == np.uint8 else None
    if preprocess is not None:
        try:
            x = preprocess(image)
        except Exception as error:
            raise AttributionInputError(
                f"preprocess raised {type(error).__name__} on the image: {error}; it needs to turn the image "
                "into a float tensor C x H x W"
            ) from error
        if not isinstance(x, Tensor):
            raise AttributionInputError(
                f"preprocess returned {type(x).__name__}; it needs to return a torch.Tensor C x H x W"
            )
        x = _model_input(x.detach(), "preprocess(image)", dtype)
    elif isinstance(image, Tensor):
        x = _model_input(image.detach(), "image", dtype)
    elif array is not None:
        pixels = _channels_last(array, "image")
        x = _model_input(torch.tensor(pixels).permute(2, 0, 1), "image", dtype or torch.float32)
    else:
        raise AttributionInputError(f"image is a {type(image).__name__}; give {ACCEPTED}")
    if not torch.isfinite(x).all():
        raise AttributionInputError(
            "image contains NaN or inf (after preprocess, if given); the model input needs finite values"
        )
    return x[None], original


def _as_array(image: Any) -> np.ndarray | None:
    """A numpy array or PIL image as an array (a copy: a PIL buffer is read-only), else None."""
    if hasattr(image, "convert") and hasattr(image, "mode"):
        image = image.convert("L" if image.mode in ("L", "1", "I", "F") else "RGB")
        return np.array(image)
    if isinstance(image, np.ndarray):
        return np.array(image)
    if isinstance(image, Tensor) and image.dtype == torch.uint8:
        return _channels_last_tensor(image.detach().cpu()).numpy()
    return None


def _channels_last_tensor(image: Tensor) -> Tensor:
    """A uint8 tensor C x H x W (tensor convention) as H x W x C, for the display pixels."""
    squeezed = image[0] if image.ndim == 4 and image.shape[0] == 1 else image
    if squeezed.ndim == 3 and squeezed.shape[0] in DISPLAY_CHANNELS:
        return squeezed.permute(1, 2, 0)
    return squeezed


def _check_one_image(shape: tuple[int, ...], name: str) -> None:
    """A 4-d image is a batch: of one, or refused with the fix (its channels are not what is wrong)."""
    if len(shape) == 4 and shape[0] != 1:
        fix = (
            "make preprocess return one image C x H x W"
            if name.startswith("preprocess")
            else f"pass one of them, {name}[i] (e.g. {name}[0]), a view per image"
        )
        raise AttributionInputError(
            f"{name} has shape {shape}, a batch of {shape[0]} images; the view explains one image: {fix}"
        )


def _channels_last(array: np.ndarray, name: str) -> np.ndarray:
    """An array read as H x W x C (H x W and a leading batch of 1 allowed)."""
    _check_one_image(array.shape, name)
    if array.ndim == 4:
        array = array[0]
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim == 3 and array.shape[2] not in DISPLAY_CHANNELS and array.shape[0] in DISPLAY_CHANNELS:
        array = array.transpose(1, 2, 0)  # channels first after all
    if array.ndim != 3 or array.shape[2] not in DISPLAY_CHANNELS:
        raise AttributionInputError(f"{name} has shape {array.shape}; give {ACCEPTED}")
    return array


def _model_input(values: Tensor, name: str, dtype: torch.dtype | None) -> Tensor:
    """A tensor by the rule above as a float tensor C x H x W, of `dtype` (None: floats as they are, uint8
    pixels as float32)."""
    _check_one_image(tuple(values.shape), name)
    if values.ndim == 4:
        values = values[0]
    if values.ndim == 2:
        values = values[None]
    if values.ndim == 3 and values.shape[0] not in DISPLAY_CHANNELS and values.shape[2] in DISPLAY_CHANNELS:
        values = values.permute(2, 0, 1)  # H x W x C
    if values.ndim != 3 or values.shape[0] not in DISPLAY_CHANNELS:
        raise AttributionInputError(
            f"{name} has shape {tuple(values.shape)}; the model input needs 1 or 3 channels: give {ACCEPTED}"
        )
    if values.dtype == torch.uint8:
        return values.to(dtype or torch.float32) / 255.0
    if not values.dtype.is_floating_point:
        raise AttributionInputError(
            f"{name} became a {values.dtype} tensor of shape {tuple(values.shape)}; the model input needs to be "
            f"a float tensor C x H x W (or uint8 pixels): give {ACCEPTED}"
        )
    values = values if dtype is None else values.to(dtype)
    return values.clone(memory_format=torch.contiguous_format)  # the view's own: the user's may change later


def display_map(x: Tensor, original: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (scale, offset) with model value = offset + scale * byte.

    Fitted to the original pixels when they line up with the input (a ToTensor + Normalize style
    preprocess is exactly affine); otherwise the input's own range is stretched over 0..255.
    """
    values = x[0].detach().cpu().double().numpy()
    channels = values.shape[0]
    if original is not None and original.shape[:2] == values.shape[1:] and original.shape[2] == channels:
        fitted = [
            np.polyfit(original[..., c].ravel().astype(np.float64), values[c].ravel(), 1) for c in range(channels)
        ]
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
