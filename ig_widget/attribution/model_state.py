"""Leave the user's model exactly as it was: modes, flags and hooks restored even when a call raises."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn


def modules_of(model: Callable) -> list[nn.Module]:
    """The nn.Modules behind `model`: the model itself, or the module a bound method belongs to."""
    owner = model if isinstance(model, nn.Module) else getattr(model, "__self__", None)
    return list(owner.modules()) if isinstance(owner, nn.Module) else []


def model_device(model: Callable) -> torch.device | None:
    """Device of the model's first parameter or buffer, None for a parameter-free callable."""
    for module in modules_of(model):
        for tensor in list(module.parameters(recurse=False)) + list(module.buffers(recurse=False)):
            return tensor.device
    return None


@contextmanager
def evaluation_mode(model: Callable) -> Iterator[None]:
    """Run the model in eval mode (no dropout noise, no BatchNorm statistic updates), then restore
    every submodule's own `training` flag and every parameter's `requires_grad`."""
    modules = modules_of(model)
    training = [(module, module.training) for module in modules]
    flags = [(p, p.requires_grad) for module in modules for p in module.parameters(recurse=False)]
    try:
        for module in modules:
            module.training = False
        yield
    finally:
        for module, was_training in training:
            module.training = was_training
        for parameter, required in flags:
            parameter.requires_grad_(required)
