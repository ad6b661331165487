"""Run the user's model in eval mode without touching it: a twin that shares its weights.

The explainers compute in a background thread while the user keeps working: training the same model
in another cell, or explaining it from a second widget. So nothing of the user's may change, not even
for a moment: no module's `training` flag, no parameter's `requires_grad`, no buffer, no hook, no
`.grad`. `isolated_model` builds, per call, a twin of every module the model reaches: the same class,
the same parameter and buffer tensors (shared, not copied), but its own dicts and flags, in eval mode,
with parameters handed to it detached (so the graph keeps nothing for weight gradients, as frozen
parameters would, without freezing the user's) and without the user's hooks (which would fire from our
thread). Its calls hand the model copies of the tensors autograd would not guard (`input_guard`), so a
forward that writes into its input never writes into the user's. Hooks through which torch itself
computes a weight (pruning masks, weight_norm, spectral_norm) are kept, since the weight is what the
model computes with.

Modules are found behind wrappers (lambdas, closures, functools.partial, bound methods, callable
objects) and the lists, tuples, dicts and plain objects they hold; the twin is a rebound copy of the
wrapper. A module the model reaches some other way is caught by a global pre-hook during the first
model call of the twin, in this thread only: one in training mode with BatchNorm statistics or
dropout would change the user's state or add noise, so the call stops before that module runs
(`AttributionInputError`); any other such module runs as it is, with a warning that names it.
Building the twin costs about 10 microseconds per module (see benchmarks/README.md). At its first call
the twin of a module with BatchNorms has them folded into the convolutions before them (`folding`):
the same function in fewer passes, made in the twin's own dicts.
"""

from __future__ import annotations

import copy
import functools
import inspect
import threading
import types
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd
from torch.nn.modules.instancenorm import _InstanceNorm
from torch.nn.utils import prune
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.nn.utils.weight_norm import WeightNorm

from .errors import AttributionInputError
from .folding import fold_batch_norms
from .input_guard import call_with_copies

# How many wrappers deep (lambda -> partial -> bound method -> list ...) modules behind a callable are sought.
_WRAPPER_DEPTH = 4
# Containers held as plain attributes of a module that are searched for modules, up to this length.
_CONTAINER_LIMIT = 256
# Layers that change state or add noise in training mode; an unseen one in training mode is refused.
_TRAINING_SENSITIVE = (_BatchNorm, _InstanceNorm, _DropoutNd)


def modules_of(model: Callable) -> list[nn.Module]:
    """Every nn.Module behind `model` (a module, or a wrapper as `isolated_model` follows), each once."""
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
    """The objects a wrapper refers to, in the places `_rebind` rewrites."""
    if isinstance(obj, functools.partial):
        return [obj.func, *obj.args, *obj.keywords.values()]
    if isinstance(obj, types.MethodType):
        return [obj.__self__, obj.__func__]
    if isinstance(obj, types.FunctionType):
        cells = [cell.cell_contents for cell in (obj.__closure__ or ()) if _cell_filled(cell)]
        named = obj.__globals__
        return (
            cells
            + [named[name] for name in _global_names(obj.__code__) if name in named]
            + list(obj.__defaults__ or ())
        )
    if isinstance(obj, (list, tuple)):
        return list(obj)
    if isinstance(obj, dict):
        return list(obj.values())
    if _is_plain_object(obj):
        return list(vars(obj).values())
    return []


def _global_names(code: types.CodeType) -> list[str]:
    """Names a function looks up, its nested comprehensions and lambdas included."""
    names = list(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names += _global_names(constant)
    return names


def _is_plain_object(obj: object) -> bool:
    """An instance of a user's class (a callable wrapper, a holder of models): its attributes are followed."""
    return (
        hasattr(obj, "__dict__")
        and not isinstance(obj, (type, types.ModuleType, types.FunctionType))
        and type(obj).__module__ not in ("builtins", "torch")
        and not isinstance(obj, torch.Tensor)
    )


def _cell_filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - reading an empty cell raises ValueError
    except ValueError:
        return False
    return True


def model_device(model: Callable) -> torch.device | None:
    """Device of the model's first parameter or buffer, None for a parameter-free callable."""
    for tensor in tensors_of(model):
        return tensor.device
    return None


def model_dtype(model: Callable) -> torch.dtype | None:
    """Floating dtype of the model's first floating parameter, None when it has none."""
    for tensor in tensors_of(model):
        if tensor.dtype.is_floating_point:
            return tensor.dtype
    return None


def tensors_of(model: Callable) -> Iterator[torch.Tensor]:
    """Every parameter and buffer of every module behind `model` (a tensor shared by two modules twice)."""
    for module in modules_of(model):
        yield from module.parameters(recurse=False)
        yield from module.buffers(recurse=False)


class IsolatedModel:
    """An eval-mode stand-in for the user's model: call it as the model; `twin(module)` gives the
    stand-in of one of the user's modules (to hook the twin's embedding layer, say)."""

    def __init__(self, model: Callable):
        self._model = model
        self._twins: dict[int, Any] = {}
        self._twin_ids: set[int] = set()
        self._detached: dict[int, torch.Tensor] = {}
        self._keep_alive: list[Any] = []  # ids in the memo stay unique while the originals live
        self._callable = self._rebind(model, _WRAPPER_DEPTH)
        self._checked = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._checked:
            return call_with_copies(self._callable, args, kwargs)
        with _unseen_module_guard(self._is_twin):
            # At the first call: after the caller has put what it needs into the twin (a head, hooks).
            if isinstance(self._model, nn.Module) and isinstance(self._callable, nn.Module):
                fold_batch_norms(self._callable, self._model, lambda: call_with_copies(self._callable, args, kwargs))
            result = call_with_copies(self._callable, args, kwargs)
        self._checked = True
        return result

    @property
    def __signature__(self) -> inspect.Signature:
        """The model's own signature, so callers that pass arguments by name (text models) still can."""
        return inspect.signature(getattr(self._callable, "forward", self._callable))

    def twin(self, module: nn.Module) -> nn.Module:
        """The stand-in of `module`, one of the modules the model reaches."""
        twin = self._twins.get(id(module))
        if twin is None:
            raise AttributionInputError(
                f"embedding={type(module).__name__} is not a module the model uses; pass a submodule of the model"
            )
        return twin

    def _is_twin(self, module: nn.Module) -> bool:
        return id(module) in self._twin_ids

    # -- building the twin ---------------------------------------------------------------------
    def _rebind(self, obj: Any, depth: int) -> Any:
        """`obj` with every module it reaches replaced by its twin; `obj` itself when nothing changed."""
        key = id(obj)
        if key in self._twins:
            return self._twins[key]
        if isinstance(obj, nn.Module):
            return self._twin_module(obj)
        if depth < 0:
            return obj
        rebuilt = self._rebuild(obj, depth - 1)
        if rebuilt is not obj:
            self._twins[key] = rebuilt
            self._keep_alive.append(obj)
        return rebuilt

    def _rebuild(self, obj: Any, depth: int) -> Any:
        rebind = functools.partial(self._rebind, depth=depth)
        if isinstance(obj, functools.partial):
            func, args = rebind(obj.func), [rebind(a) for a in obj.args]
            keywords = {k: rebind(v) for k, v in obj.keywords.items()}
            if func is obj.func and _same(args, obj.args) and _same(keywords.values(), obj.keywords.values()):
                return obj
            return functools.partial(func, *args, **keywords)
        if isinstance(obj, types.MethodType):
            owner = rebind(obj.__self__)
            return obj if owner is obj.__self__ else types.MethodType(obj.__func__, owner)
        if isinstance(obj, types.FunctionType):
            return self._rebuild_function(obj, rebind)
        if type(obj) in (list, tuple):
            items = [rebind(item) for item in obj]
            return obj if _same(items, obj) else type(obj)(items)
        if type(obj) is dict:
            values = {k: rebind(v) for k, v in obj.items()}
            return obj if _same(values.values(), obj.values()) else values
        if _is_plain_object(obj):
            attributes = {k: rebind(v) for k, v in vars(obj).items()}
            if _same(attributes.values(), vars(obj).values()):
                return obj
            clone = copy.copy(obj)
            vars(clone).update(attributes)
            return clone
        return obj

    def _rebuild_function(self, function: types.FunctionType, rebind: Callable) -> Any:
        cells = function.__closure__ or ()
        contents = [rebind(cell.cell_contents) if _cell_filled(cell) else None for cell in cells]
        named = function.__globals__
        used = {name: rebind(named[name]) for name in _global_names(function.__code__) if name in named}
        defaults = tuple(rebind(d) for d in function.__defaults__ or ())
        same_cells = all(not _cell_filled(c) or new is c.cell_contents for c, new in zip(cells, contents))
        same_globals = all(value is named[name] for name, value in used.items())
        if same_cells and same_globals and _same(defaults, function.__defaults__ or ()):
            return function
        new_globals = named if same_globals else {**named, **used}
        closure = tuple(types.CellType(new) if _cell_filled(c) else c for c, new in zip(cells, contents)) or None
        rebuilt = types.FunctionType(function.__code__, new_globals, function.__name__, defaults or None, closure)
        rebuilt.__kwdefaults__ = function.__kwdefaults__
        rebuilt.__dict__.update(function.__dict__)
        return rebuilt

    def _twin_module(self, module: nn.Module) -> nn.Module:
        known = self._twins.get(id(module))
        if known is not None:
            return known
        twin = object.__new__(type(module))
        self._twins[id(module)] = twin  # before the children: a module that contains itself ends here
        self._twin_ids.add(id(twin))
        self._keep_alive.append(module)
        state = dict(module.__dict__)
        state["training"] = False
        state["_parameters"] = {name: None if p is None else self._detach(p) for name, p in module._parameters.items()}
        state["_buffers"] = dict(module._buffers)
        state["_modules"] = {name: None if m is None else self._twin_module(m) for name, m in module._modules.items()}
        for name, value in module.__dict__.items():
            if "hooks" in name and isinstance(value, dict):
                state[name] = type(value)((k, hook) for k, hook in value.items() if _defines_weight(hook))
            elif not name.startswith("_") and _may_hold_modules(value):
                state[name] = self._rebind(value, 2)  # modules a forward reaches through a list or a lambda
        state["_is_full_backward_hook"] = None
        twin.__dict__.update(state)
        if isinstance(module, nn.RNNBase):
            _recurrent_for_gradients(twin)
        if isinstance(module, _BatchNorm) and module.running_mean is None:
            twin.__dict__["forward"] = types.MethodType(_batch_norm_per_row, twin)
        return twin

    def _detach(self, parameter: torch.Tensor) -> torch.Tensor:
        """The parameter as a tensor that needs no gradient; one per parameter, so tied weights stay tied."""
        detached = self._detached.get(id(parameter))
        if detached is None:
            detached = self._detached[id(parameter)] = detached_alias(parameter)
        return detached


# id(parameter) -> (weak reference to it, its layout when aliased, the alias). Kept across calls: a
# widget explains the same model again at every control change, and one alias per parameter per call
# is an operator call per parameter (see benchmarks/op_counts.py).
_ALIASES: dict[int, tuple[weakref.ref, tuple, torch.Tensor]] = {}


def detached_alias(parameter: torch.Tensor) -> torch.Tensor:
    """`parameter.detach()`, made once per parameter and reused while the parameter keeps its storage.

    The alias shares the parameter's storage and version counter, so in-place updates (an optimizer
    step, `load_state_dict`) show through it, and autograd still refuses a backward pass through
    weights changed mid-walk. Anything that gives the parameter other memory (`p.data = t`, `.to()`
    of the module, a resize) changes its layout key and the alias is made again; an entry goes when
    its parameter is freed."""
    key = id(parameter)
    layout = (parameter.data_ptr(), parameter.storage_offset(), parameter.shape, parameter.stride(), parameter.dtype)
    known = _ALIASES.get(key)
    # The alias's own memory too: cuDNN's weight flattening re-points a tensor it is handed (`set_`).
    if known is not None and known[0]() is parameter and known[1] == layout and known[2].data_ptr() == layout[0]:
        return known[2]
    alias = parameter.detach()
    _ALIASES[key] = (weakref.ref(parameter, lambda _, key=key: _ALIASES.pop(key, None)), layout, alias)
    return alias


def _recurrent_for_gradients(twin: nn.RNNBase) -> None:
    """A recurrent layer's twin in training mode with dropout 0: the eval-mode function (an RNN's modes
    differ only in the dropout between its layers), in the mode cuDNN computes a backward pass in. In
    eval mode a GPU refuses input gradients through an LSTM, GRU or RNN ("cudnn RNN backward can only be
    called in training mode"; the usual workaround, `torch.backends.cudnn.enabled = False`, is global and
    would change the user's own training running beside the view).

    Its list of flat weights is made from the twin's own detached parameters: the user's list holds the
    user's parameters, and rebuilding it through `_init_flat_weights` would call `flatten_parameters`,
    which on a GPU copies the weights into a new buffer and re-points the twin's aliases at the copy,
    where the user's later updates would not reach them."""
    twin.__dict__["training"] = True
    twin.__dict__["dropout"] = 0.0
    weights = [getattr(twin, name, None) for name in twin._flat_weights_names]
    twin.__dict__["_flat_weights"] = weights
    twin.__dict__["_flat_weight_refs"] = [None if weight is None else weakref.ref(weight) for weight in weights]


def _batch_norm_per_row(self: _BatchNorm, values: torch.Tensor) -> torch.Tensor:
    """The twin's forward for a batch norm without running statistics (`track_running_stats=False`),
    which normalises with the statistics of the batch it is given, even in eval mode: each row with its
    own, as the model computes one input alone. Batched with the path's other points (or with x' in one
    pass), a point's score depended on its neighbours: F(x) printed 0.30 where the model gives 0.40, and
    changed with `batch_size`. One row's batch statistics are its instance-norm statistics (per channel,
    over the other dimensions, biased variance), so this is the model's own function of one input."""
    if values.ndim < 3:
        raise AttributionInputError(
            f"the model's {type(self).__name__} has no running statistics (track_running_stats=False) and sees "
            f"one value per channel (input shape {tuple(values.shape)}): its output for one input is not defined "
            "(torch refuses a batch of one there), so neither is an attribution of one input; give it running "
            "statistics (track_running_stats=True, then train it) or use nn.LayerNorm"
        )
    return nn.functional.instance_norm(values, weight=self.weight, bias=self.bias, eps=self.eps, use_input_stats=True)


def _may_hold_modules(value: Any) -> bool:
    """Plain attributes of a module that are followed: small containers and callables."""
    if type(value) in (list, tuple, dict):
        return len(value) <= _CONTAINER_LIMIT
    return isinstance(value, (types.FunctionType, types.MethodType, functools.partial))


def _same(new: Any, old: Any) -> bool:
    return all(a is b for a, b in zip(new, old))


def _defines_weight(hook: Any) -> bool:
    """Hooks through which torch itself computes a weight (a pruning mask, weight or spectral norm)."""
    return isinstance(hook, (prune.BasePruningMethod, prune.PruningContainer, WeightNorm, SpectralNorm))


def isolated_model(model: Callable) -> IsolatedModel:
    """An eval-mode stand-in for `model` that shares its weights and changes nothing of the user's."""
    return IsolatedModel(model)


@contextmanager
def _unseen_module_guard(is_twin: Callable[[nn.Module], bool]) -> Iterator[None]:
    """While it is open, modules this thread calls that are not twins are named (a warning) or, when
    running them in training mode would change state or add noise, stopped before they run."""
    thread = threading.get_ident()
    warned: set[int] = set()

    def check(module: nn.Module, args: Any) -> None:
        if threading.get_ident() != thread or is_twin(module) or id(module) in warned:
            return
        sensitive = [m for m in module.modules() if m.training and isinstance(m, _TRAINING_SENSITIVE)]
        if sensitive:
            raise AttributionInputError(
                f"the model reaches a {type(module).__name__} that ig_widget could not find behind the model "
                f"callable, and it is in training mode ({type(sensitive[0]).__name__} would update its statistics "
                "or add noise); hold it in an nn.Module, a list or a dict the callable refers to, or call .eval() "
                "on it first"
            )
        warned.add(id(module))
        if module.training or module._forward_hooks or module._forward_pre_hooks:
            warnings.warn(
                f"the model reaches a {type(module).__name__} that ig_widget could not find behind the model "
                "callable; it ran as it is (its own mode and hooks). Hold it in an nn.Module, a list or a dict "
                "the callable refers to",
                stacklevel=2,
            )

    handle = nn.modules.module.register_module_forward_pre_hook(check)
    try:
        yield
    finally:
        handle.remove()
