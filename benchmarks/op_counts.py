"""Operator calls and host synchronisations of one IG call against the bare forward+backward passes.

A device-independent proxy for GPU time (issue 15): at batch 1 a model on a GPU is launch-bound, so
its time follows the number of operators dispatched and of waits for the device, not the number of
path points. Both are counted on the CPU with a TorchDispatchMode, so the figures are the same on
every machine and a test (tests/test_op_counts.py) can hold them.

- "bare": one forward and one backward per chunk over the same path points and chunks as ours, the
  points made beforehand, the parameters frozen (ours runs a twin whose parameters are detached, so
  neither computes weight gradients): `model(points)[:, target].sum()` and `torch.autograd.grad`.
- "ours": `integrated_gradients` (or `text_integrated_gradients` for MiniLM) at 50 Gauss-Legendre
  steps in two chunks of 25, with the trace (the default) and without.
- "captum" (image models, for reference): Captum's IntegratedGradients over the same points and
  chunks, without and with `return_convergence_delta` (ours always computes the gap).
- syncs: `aten._local_scalar_dense` (`.item()`, `bool()`, `int()`, `float()` of a tensor), `nonzero`,
  `is_nonzero`, copies of a device tensor to the CPU, and on a CPU run the host reads that would be
  such copies on a GPU (`.tolist()`, `.numpy()`, `.cpu()` of a CPU tensor, which dispatch nothing).
- launches: the operator calls that do work on the device, i.e. all but those that only make a new view
  of a tensor (`view`, `slice`, `detach`, `expand`, ...: an operator whose result aliases its input
  without writing it, read from its schema). Views cost a dispatch on the host but launch no kernel, so
  on a launch-bound GPU this column is the closer proxy; both are reported.

Run: .venv/bin/python benchmarks/op_counts.py
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import image_model, text_model  # noqa: E402

import ig_widget as igw  # noqa: E402
from ig_widget.attribution.quadrature import path_points  # noqa: E402

CPU = torch.device("cpu")

STEPS, CHUNK = 50, 25  # two chunks: the per-chunk work shows against the per-walk work
SYNC_OPS = {
    torch.ops.aten._local_scalar_dense.default,
    torch.ops.aten.nonzero.default,
    torch.ops.aten.is_nonzero.default,
}


class Counts(NamedTuple):
    ops: int
    syncs: int
    launches: int


def _only_views(func) -> bool:
    """Whether an operator only makes a view: its first result aliases an input and nothing is written."""
    returns = func._schema.returns
    alias = returns[0].alias_info if returns else None
    return alias is not None and not alias.is_write


class OpCounter(TorchDispatchMode):
    """Counts every operator dispatched, those that do work on the device, and those that wait for it."""

    def __init__(self):
        super().__init__()
        self.ops = 0
        self.syncs = 0
        self.launches = 0

    # Reads of a tensor's values on the host that dispatch no operator on the CPU (`.tolist()`,
    # `.numpy()`, `.cpu()` of a CPU tensor) but wait for the device on a GPU: counted as syncs too.
    _HOST_READS = ("tolist", "numpy", "cpu")

    def __enter__(self):
        self._originals = {name: getattr(torch.Tensor, name) for name in self._HOST_READS}
        for name, original in self._originals.items():
            setattr(torch.Tensor, name, self._counting(original))
        return super().__enter__()

    def __exit__(self, *exc):
        for name, original in self._originals.items():
            setattr(torch.Tensor, name, original)
        return super().__exit__(*exc)

    def _counting(self, original):
        def read(tensor, *args, **kwargs):
            if tensor.device.type == "cpu":  # elsewhere the copy to the CPU is counted below
                self.syncs += 1
            return original(tensor, *args, **kwargs)

        return read

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops += 1
        if not _only_views(func):
            self.launches += 1
        if func in SYNC_OPS:
            self.syncs += 1
        elif func is torch.ops.aten._to_copy.default and kwargs and kwargs.get("device") is not None:
            source = args[0]
            if source.device.type != "cpu" and torch.device(kwargs["device"]).type == "cpu":
                self.syncs += 1
        return func(*args, **(kwargs or {}))


def count(fn: Callable[[], object]) -> Counts:
    """(operator calls, host synchronisations, launches) of `fn()`, after one uncounted warm-up call."""
    fn()
    with OpCounter() as counter:
        fn()
    return Counts(counter.ops, counter.syncs, counter.launches)


def _frozen(model: torch.nn.Module) -> torch.nn.Module:
    twin = copy.deepcopy(model)
    for parameter in twin.parameters():
        parameter.requires_grad_(False)
    return twin


def _path(x: torch.Tensor, baseline: torch.Tensor) -> torch.Tensor:
    alphas = torch.as_tensor(path_points("gausslegendre", STEPS)[0], dtype=x.dtype, device=x.device)
    return baseline + alphas.view(-1, *(1,) * (x.ndim - 1)) * (x - baseline)


def image_case(name: str, device: torch.device = CPU) -> dict[str, Callable[[], object]]:
    """The three callables counted for "cnn64" or "resnet18": bare, ours with and without the trace."""
    model, x = image_model(name, device)
    frozen, points = _frozen(model), _path(x, torch.zeros_like(x))

    def bare():
        for chunk in points.split(CHUNK):
            chunk = chunk.detach().requires_grad_(True)
            torch.autograd.grad(frozen(chunk)[:, 1].sum(), chunk)

    def ours(trace: bool):
        return lambda: igw.integrated_gradients(model, x, target=1, steps=STEPS, batch_size=CHUNK, trace=trace)

    return {"bare": bare, "ours": ours(True), "ours no trace": ours(False)}


def text_case(device: torch.device = CPU) -> dict[str, Callable[[], object]]:
    """The same for MiniLM over its embeddings (pad baseline, special tokens kept)."""
    model, pad, ids = text_model(device)
    layer, frozen = model.get_input_embeddings(), _frozen(model)
    special = (ids == 101) | (ids == 102) | (ids == pad)
    baseline_ids = torch.where(special, ids, torch.full_like(ids, pad))
    with torch.no_grad():
        points = _path(layer(ids), layer(baseline_ids))

    def bare():
        for chunk in points.split(CHUNK):
            chunk = chunk.detach().requires_grad_(True)
            torch.autograd.grad(frozen(inputs_embeds=chunk)[:, 1].sum(), chunk)

    def ours(trace: bool):
        return lambda: igw.text_integrated_gradients(
            model,
            ids,
            target=1,
            baseline=baseline_ids,
            steps=STEPS,
            batch_size=CHUNK,
            embedding=layer,
            keep_special=False,
            trace=trace,
        )

    return {"bare": bare, "ours": ours(True), "ours no trace": ours(False)}


def captum_case(name: str, device: torch.device = CPU) -> dict[str, Callable[[], object]]:
    """Captum's IntegratedGradients on the same model (frozen, as the bare passes), points and chunks,
    without and with its convergence delta (our calls always give the gap): for reference only."""
    from captum.attr import IntegratedGradients

    model, x = image_model(name, device)
    ig = IntegratedGradients(_frozen(model))

    def captum(delta: bool):
        return lambda: ig.attribute(
            x,
            target=1,
            n_steps=STEPS,
            method="gausslegendre",
            internal_batch_size=CHUNK,
            return_convergence_delta=delta,
        )

    return {"captum": captum(False), "captum with delta": captum(True)}


def cases() -> dict[str, Callable[[], dict]]:
    return {"cnn64": lambda: image_case("cnn64"), "resnet18": lambda: image_case("resnet18"), "minilm": text_case}


def main() -> None:
    print(
        f"operator calls / launches (host syncs) of one call, {STEPS} Gauss-Legendre steps in chunks of {CHUNK}; "
        "ratios to the bare passes"
    )
    for name, make in cases().items():
        counted = {label: count(fn) for label, fn in make().items()}
        bare = counted["bare"]
        line = [f"{name:9s} bare {bare.ops} / {bare.launches} ({bare.syncs})"]
        for label in ("ours", "ours no trace"):
            ours = counted[label]
            line.append(
                f"{label} {ours.ops} / {ours.launches} ({ours.syncs}) = "
                f"{ours.ops / bare.ops:.2f} / {ours.launches / bare.launches:.2f} x"
            )
        if name != "minilm":
            for label, fn in captum_case(name).items():
                theirs = count(fn)
                line.append(
                    f"{label} {theirs.ops} / {theirs.launches} ({theirs.syncs}) = {theirs.ops / bare.ops:.2f} x"
                )
        print(" | ".join(line), flush=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
