"""What identifies the model and the data a data-set run was made with, so that a run is never resumed with
others.

Recorded in the store's settings: the model's class name, its parameter count, its dtype, and a digest of
the bytes of every parameter and buffer (with their names and shapes), computed once per run. Two
models with the same weights (a copy, the same checkpoint loaded again) have the same identity;
a model trained one more step does not. The device is recorded beside it but is not part of it: a run
stopped on one machine may be resumed on another.

The data is identified by digests of its first and last examples (input bytes, shape, dtype and label),
read again at every run: a notebook cell run again after its preprocessing changed, or on another
split or order, is refused instead of handing back the old attributions. Two reads, not the whole data
set: an example changed in the middle alone goes unseen. A dataset that draws random transforms at every
read differs at every run, so its runs cannot be resumed (its examples are not the same twice).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch
from torch import nn

from .source import Examples


def model_identity(model: Callable) -> dict:
    """{"class", "parameters", "dtype", "digest"} of `model` (an nn.Module, or any callable: then its
    class alone, no parameters and an empty digest)."""
    name = type(model).__qualname__  # not its module: a script's class is __main__.X there, script.X here
    if not isinstance(model, nn.Module):
        return {"class": name, "parameters": 0, "dtype": None, "digest": None}
    named = [*model.named_parameters(), *model.named_buffers()]
    dtypes = [str(tensor.dtype).removeprefix("torch.") for _, tensor in named]
    return {
        "class": name,
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": max(sorted(set(dtypes)), key=dtypes.count) if dtypes else None,
        "digest": tensor_digest(named),
    }


def tensor_digest(named: list[tuple[str, torch.Tensor]]) -> str:
    """SHA-256 over each tensor's name, shape, dtype and bytes, in order. Tensors on a GPU are all copied
    to the host first, without a wait each, then waited for once (not once per tensor); the bytes are
    hashed where they lie (no copy of a host tensor that is contiguous already)."""
    hosted = [(label, tensor.detach().to("cpu", non_blocking=True)) for label, tensor in named]
    for device in {tensor.device for _, tensor in named if tensor.device.type == "cuda"}:
        torch.cuda.synchronize(device)
    digest = hashlib.sha256()
    for label, tensor in hosted:
        digest.update(f"{label}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def describe(identity: dict | None) -> str:
    """One line naming a model identity, for error messages."""
    if not identity:
        return "no recorded model"
    digest = (identity.get("digest") or "none")[:12]
    return f"{identity['class']} with {identity['parameters']:,} parameters ({identity['dtype']}, digest {digest})"


def data_identity(examples: Examples, first: tuple[torch.Tensor, torch.Tensor | None]) -> dict:
    """{"first", "last"}: digests of the first and last examples, each input with its label; `first` is
    `examples.batch(0, 1)`, which the caller has read already."""
    found = {}
    for name, (inputs, labels) in (("first", first), ("last", examples.batch(len(examples) - 1, len(examples)))):
        named = [("input", inputs)] + ([("label", labels)] if labels is not None else [])
        found[name] = tensor_digest(named)[:16]
    return found
