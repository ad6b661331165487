"""Convolutions with their BatchNorm folded in: the same function in fewer passes.

In eval mode a BatchNorm after a convolution is an affine map per channel,
y = (conv(x) - mean) * s + beta with s = gamma / sqrt(var + eps), which folds into the convolution's
own weight and bias: W' = W * s, b' = (b - mean) * s + beta. A path walk runs the model forward and
backward at every point, and each BatchNorm reads and writes a whole feature map both ways; folding
removes those passes (ResNet-50 at 224 x 224, a batch of 8, 2 CPU threads: forward + backward in about
0.76 x the time; see benchmarks/README.md).

How, without touching the user's model or rewriting their code: the fold changes only the eval-mode
twin (`model_state`), whose dicts are its own. The twin's convolution computes with the folded weight
and bias, and its BatchNorm passes its input through; the user's forward code runs exactly as written,
every module called as before (hooks put on the twin still fire). Which pairs may fold is read off one
run of that code (`_Dataflow`): a convolution called once whose output tensor goes, untouched by any
other operation, to one BatchNorm called once, and is not part of the model's output, and whose weight
and bias nothing reads outside the convolution's own call (a tied decoder reading `conv.weight`, a
forward that divides by the weight's norm: the fold would hand them the folded weight). Replacing
BatchNorm(conv(x)) by conv'(x) and the BatchNorm by the identity is then exact up to rounding (float32:
about 1e-6 relative). That run happens once per model structure (the identity and class of every
module the model holds) and is kept; it is a gradient-free forward pass over the first call's input.
The folded twin then runs once more on the same input, and the plan is kept only when its output
matches that run's (`_matches`); otherwise nothing folds: a model whose code the dataflow misreads is
explained slower, never wrongly.

The folded weights are new tensors made at every call, for all pairs at once (`torch._foreach_*`: a few
operator calls, not a few per layer), so a weight changed between calls, even in place through `.data`
(which no version counter sees), is always what the walk uses. Not folded: a BatchNorm without
running statistics (it normalises by the batch even in eval mode), a pair whose dtypes or devices
differ, a model with hooks on any module of its twin (the caller's, on an embedding layer, which the
run that finds the pairs would fire; or torch's weight computations, pruning and weight
normalisation, which a fold would bypass), and models that are wrappers rather than modules.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

# Exact classes only: a subclass may compute otherwise (a weight-standardised convolution, say).
_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)

# id(user's root module) -> its plan: a weak reference to it, its structure, the (conv, norm) names that fold.
_PLANS: dict[int, _Plan] = {}
_LOCK = threading.Lock()


def fold_batch_norms(twin: nn.Module, original: nn.Module, run: Callable[[], Any]) -> bool:
    """Fold, in `twin` (the eval-mode twin of the user's module `original`), every BatchNorm into the
    convolution whose output only it reads. `run()` calls the twin once on the first call's input; it is
    used (at most twice per model structure) to see which pairs those are and that folding them keeps the
    output. True when something folded."""
    modules = list(twin.modules())
    # Hooks on the twin are the caller's (an embedding hook that replaces a layer's output) or torch's
    # own weight computations: the run that finds the pairs would fire the first, a fold bypass the second.
    if not any(isinstance(module, _BatchNorm) for module in modules) or any(map(_has_hooks, modules)):
        return False
    plan = _plan(twin, original, run)
    with plan.lock:  # a plan is verified once, before any twin folds by it
        if not plan.pairs:
            return False
        convolutions = [twin.get_submodule(conv) for conv, _ in plan.pairs]
        norms = [twin.get_submodule(norm) for _, norm in plan.pairs]
        kept = [conv._parameters for conv in convolutions]
        for conv, norm, weight, bias in zip(convolutions, norms, *_folded_weights(convolutions, norms)):
            conv._parameters = {"weight": weight, "bias": bias}
            norm.forward = _passthrough
        if plan.unfolded is not None:
            with torch.no_grad():
                folded = run()
            matches, plan.unfolded = _matches(folded, plan.unfolded), None
            if not matches:
                plan.pairs = []
                for conv, norm, parameters in zip(convolutions, norms, kept):
                    conv._parameters = parameters
                    del norm.forward  # the class's own forward again
                return False
    return True


def _passthrough(input: torch.Tensor) -> torch.Tensor:
    """A folded BatchNorm's forward: its convolution has already applied it."""
    return input


def _structure(model: nn.Module) -> tuple:
    return tuple((name, id(module), type(module)) for name, module in model.named_modules(remove_duplicate=False))


class _Plan:
    """What the run found for one model structure: the (conv, norm) names that fold, and until the first
    fold is verified, the unfolded run's output to compare it with."""

    def __init__(self, model: weakref.ref, structure: tuple, pairs: list[tuple[str, str]], unfolded: Any):
        self.model, self.structure, self.pairs = model, structure, pairs
        self.unfolded = unfolded if pairs else None
        self.lock = threading.Lock()


def _plan(twin: nn.Module, original: nn.Module, run: Callable[[], Any]) -> _Plan:
    """The plan kept for `original`'s structure, or a new one read off a run of the twin."""
    key, structure = id(original), _structure(original)
    with _LOCK:
        known = _PLANS.get(key)
    if known is not None and known.model() is original and known.structure == structure:
        return known
    pairs, output = _foldable_pairs(twin, run)
    plan = _Plan(weakref.ref(original, lambda _, key=key: _PLANS.pop(key, None)), structure, pairs, output)
    with _LOCK:
        _PLANS[key] = plan
    return plan


def _matches(folded: Any, unfolded: Any) -> bool:
    """Whether two outputs of the model agree to rounding: every floating tensor within
    min(1000 eps, 1e-2) of its largest magnitude in the unfolded run (float32: 1.2e-4 of it)."""
    found, expected = tree_leaves(folded), tree_leaves(unfolded)
    if len(found) != len(expected):
        return False
    for a, b in zip(found, expected):
        if not isinstance(b, torch.Tensor) or not b.is_floating_point():
            continue
        if not isinstance(a, torch.Tensor) or a.shape != b.shape:
            return False
        tolerance = min(1000 * torch.finfo(b.dtype).eps, 1e-2) * float(b.abs().max()) if b.numel() else 0.0
        if not bool(((a - b).abs() <= tolerance).all()):  # NaN in either: no match
            return False
    return True


def _foldable_pairs(twin: nn.Module, run: Callable[[], Any]) -> tuple[list[tuple[str, str]], Any]:
    """(conv, norm) names whose pair may fold, read off one gradient-free run of the twin, and that
    run's output."""
    candidates = {
        name: module
        for name, module in twin.named_modules()
        if isinstance(module, _CONVOLUTIONS) or isinstance(module, _BatchNorm)
    }
    dataflow = _Dataflow(candidates)
    try:
        with torch.no_grad(), dataflow:
            output = run()
    finally:
        dataflow.remove_hooks()
    dataflow.count_uses(tree_leaves(output))
    return dataflow.pairs(), output


class _Dataflow(TorchFunctionMode):
    """Records, during one run, what each convolution returned, what each BatchNorm received, every
    other operation that read a convolution's output (outside the BatchNorm that consumes it), and every
    operation outside a convolution's own call that read its weight or bias (any tensor sharing their
    memory: `.data`, a view, a tied module's parameter)."""

    def __init__(self, modules: dict[str, nn.Module]):
        super().__init__()
        self.modules = modules
        self.returned: dict[str, list[torch.Tensor]] = {}  # conv name -> outputs (kept: their ids stay unique)
        self.received: dict[str, list[Any]] = {}  # norm name -> inputs
        self.uses: dict[int, int] = {}  # id(conv output) -> reads outside a BatchNorm
        self.norms_running = 0
        self.convolutions_running = 0
        self.owners: dict[int, set[str]] = {}  # memory address of a conv's weight or bias -> conv names
        self.parameters_read: set[str] = set()  # convs whose weight or bias was read outside their call
        self.handles = []
        for name, module in modules.items():
            if isinstance(module, _BatchNorm):
                self.handles.append(module.register_forward_pre_hook(self._norm_starts(name)))
                self.handles.append(module.register_forward_hook(self._norm_ends))
            else:
                self.handles.append(module.register_forward_pre_hook(self._conv_starts))
                self.handles.append(module.register_forward_hook(self._conv_returned(name)))
                for parameter in (module.weight, module.bias):
                    if isinstance(parameter, torch.Tensor) and _address(parameter):
                        self.owners.setdefault(_address(parameter), set()).add(name)

    def _norm_starts(self, name: str):
        def hook(module, args):
            self.received.setdefault(name, []).append(args[0] if len(args) == 1 else None)
            self.norms_running += 1

        return hook

    def _norm_ends(self, module, args, output):
        self.norms_running -= 1

    def _conv_starts(self, module, args):
        self.convolutions_running += 1

    def _conv_returned(self, name: str):
        def hook(module, args, output):
            self.convolutions_running -= 1
            self.returned.setdefault(name, []).append(output)
            self.uses.setdefault(id(output), 0)

        return hook

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        leaves = tree_leaves((args, kwargs))
        if not self.norms_running:
            self.count_uses(leaves)
        if not self.convolutions_running:
            self.note_parameter_reads(leaves)
        return func(*args, **kwargs)

    def note_parameter_reads(self, values: list) -> None:
        if not self.owners:
            return
        for value in values:
            if isinstance(value, torch.Tensor):
                owners = self.owners.get(_address(value))
                if owners:
                    self.parameters_read |= owners

    def count_uses(self, values: list) -> None:
        for value in values:
            if isinstance(value, torch.Tensor) and id(value) in self.uses:
                self.uses[id(value)] += 1

    def remove_hooks(self) -> None:
        for handle in self.handles:
            handle.remove()

    def pairs(self) -> list[tuple[str, str]]:
        producer = {id(outputs[0]): name for name, outputs in self.returned.items() if len(outputs) == 1}
        receipts: dict[int, int] = {}  # id(tensor) -> BatchNorm calls that received it
        for inputs in self.received.values():
            for value in inputs:
                receipts[id(value)] = receipts.get(id(value), 0) + 1
        found = []
        for norm_name, inputs in self.received.items():
            if len(inputs) != 1 or not isinstance(inputs[0], torch.Tensor):
                continue
            conv_name = producer.get(id(inputs[0]))
            if conv_name is None or self.uses[id(inputs[0])] != 0 or receipts[id(inputs[0])] != 1:
                continue
            if conv_name in self.parameters_read:
                continue
            if _foldable(self.modules[conv_name], self.modules[norm_name]):
                found.append((conv_name, norm_name))
        return found


def _address(tensor: torch.Tensor) -> int:
    """The start of the memory `tensor` lives in (shared by its views, `.data` and `.detach()`); 0 for
    tensors without one of their own."""
    try:
        return tensor.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):  # sparse, nested, functional wrappers
        return 0


def _foldable(conv: nn.Module, norm: nn.Module) -> bool:
    return (
        type(conv) in _CONVOLUTIONS
        and type(norm) in _NORMS
        and norm.track_running_stats
        and norm.running_mean is not None
        and norm.running_var is not None
        and norm.num_features == conv.out_channels
        and norm.running_var.dtype == conv.weight.dtype
        and norm.running_var.device == conv.weight.device
    )


def _has_hooks(module: nn.Module) -> bool:
    return any(value for name, value in vars(module).items() if "hooks" in name and isinstance(value, dict))


@torch.no_grad()
def _folded_weights(convolutions: list[nn.Module], norms: list[nn.Module]) -> tuple[list, list]:
    """W * s and (b - mean) * s + beta for every pair, s = gamma / sqrt(var + eps), in a few foreach calls."""
    scales = torch._foreach_rsqrt(torch._foreach_add([norm.running_var for norm in norms], [n.eps for n in norms]))
    gammas = [norm.weight for norm in norms if norm.weight is not None]
    if len(gammas) == len(norms):
        torch._foreach_mul_(scales, gammas)
    elif gammas:  # affine on some norms only
        scales = [scale * norm.weight if norm.weight is not None else scale for scale, norm in zip(scales, norms)]
    shifts = [norm.bias if norm.bias is not None else torch.zeros_like(norm.running_mean) for norm in norms]
    means = [
        norm.running_mean - conv.bias if conv.bias is not None else norm.running_mean
        for conv, norm in zip(convolutions, norms)
    ]
    biases = torch._foreach_addcmul(shifts, means, scales, value=-1)  # beta - (mean - b) * s
    shaped = [scale.view(-1, *(1,) * (conv.weight.ndim - 1)) for scale, conv in zip(scales, convolutions)]
    weights = torch._foreach_mul([conv.weight for conv in convolutions], shaped)
    return [_in_walk_layout(weight) for weight in weights], biases


def _in_walk_layout(weight: torch.Tensor) -> torch.Tensor:
    """A 2-d convolution's new weight in channels-last on the CPU, the layout the walk runs image batches
    in there (`batching.preferred_layout`): oneDNN otherwise reorders a contiguous weight at every pass
    (ResNet-18, forward + backward, 1 thread: 0.88 - 0.93 x the CPU time with channels-last weights)."""
    if weight.device.type == "cpu" and weight.ndim == 4:
        return weight.contiguous(memory_format=torch.channels_last)
    return weight
