"""Leave the user's model exactly as it was: modes, flags and hooks restored even when a call raises."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

# How many wrappers deep (lambda -> partial -> bound method ...) the modules behind a callable are sought.
_WRAPPER_DEPTH = 3


def modules_of(model: Callable) -> list[nn.Module]:
    """Every nn.Module behind `model`, each once.

    Besides a module itself, a notebook often passes a wrapper such as `lambda x: net(x).logits`; the
    modules such a wrapper uses must be put in eval mode too, or BatchNorm statistics would drift and
    dropout would add noise. Found through bound methods, functools.partial, closures, the globals a
    function names, and the attributes of a callable object.
    """
    found: dict[int, nn.Module] = {}
    for owner in _owners(model, _WRAPPER_DEPTH, set()):
        for module in owner.modules():
            found.setdefault(id(module), module)
    return list(found.values())


def _owners(obj: object, depth: int, seen: set[int]) -> Iterator[nn.Module]:
    if id(obj) in seen or depth < 0:
        return
    seen.add(id(obj))
    if isinstance(obj, nn.Module):
        yield obj
        return
    for inner in _referenced(obj):
        yield from _owners(inner, depth - 1, seen)


def _referenced(obj: object) -> list[object]:
    """The objects a wrapper callable refers to."""
    if isinstance(obj, functools.partial):
        return [obj.func, *obj.args, *obj.keywords.values()]
    if hasattr(obj, "__self__") and hasattr(obj, "__func__"):  # bound method
        return [obj.__self__, obj.__func__]
    code = getattr(obj, "__code__", None)
    if code is not None:  # function or lambda
        cells = [cell.cell_contents for cell in (obj.__closure__ or ()) if _cell_filled(cell)]
        named = getattr(obj, "__globals__", {})
        return cells + [named[name] for name in code.co_names if name in named]
    if callable(obj) and hasattr(obj, "__dict__") and not isinstance(obj, type):
        return [value for value in vars(obj).values() if isinstance(value, nn.Module) or callable(value)]
    return []


def _cell_filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def model_device(model: Callable) -> torch.device | None:
    """Device of the model's first parameter or buffer, None for a parameter-free callable."""
    for tensor in _tensors_of(model):
        return tensor.device
    return None


def model_dtype(model: Callable) -> torch.dtype | None:
    """Floating dtype of the model's first floating parameter, None when it has none."""
    for tensor in _tensors_of(model):
        if tensor.dtype.is_floating_point:
            return tensor.dtype
    return None


def _tensors_of(model: Callable) -> Iterator[torch.Tensor]:
    for module in modules_of(model):
        yield from module.parameters(recurse=False)
        yield from module.buffers(recurse=False)


@contextmanager
def evaluation_mode(model: Callable) -> Iterator[None]:
    """Run the model in eval mode (no dropout noise, no BatchNorm statistic updates) with frozen
    parameters (only inputs need gradients: the graph keeps nothing for weight gradients), then
    restore every submodule's own `training` flag and every parameter's `requires_grad`."""
    modules = modules_of(model)
    training = [(module, module.training) for module in modules]
    flags = [(p, p.requires_grad) for module in modules for p in module.parameters(recurse=False)]
    try:
        for module in modules:
            module.training = False
        for parameter, _ in flags:
            parameter.requires_grad_(False)
        yield
    finally:
        for module, was_training in training:
            module.training = was_training
        for parameter, required in flags:
            parameter.requires_grad_(required)
