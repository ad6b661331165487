"""attribute_dataset: Integrated Gradients for every example of a data set, into a resumable store.

The work is cut into units of `unit` consecutive examples. A unit is one call of the engine's
`integrate_path` on all its inputs at once: each forward pass carries many inputs x path points
(chunked to the memory budget, or `batch_size` points per pass), and the unit is written to its own
chunk of every array of the store, then marked done. A run that stops (Ctrl-C, a crash, a killed
process) resumes from the units not marked done: a unit is computed and written whole or not counted,
so nothing is lost and nothing is written twice. Under `torchrun`, unit u belongs to rank u % world;
each rank writes its units, the leader (rank 0) creates the store and writes its index (the summary
and the completion mark) once every rank is through.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..attribution.baselines import BaselineSpec, baseline_name, make_baseline
from ..attribution.errors import AttributionInputError
from ..attribution.model_state import isolated_model, model_device
from ..attribution.options import PathOptions
from ..attribution.orchestrate import integrate_path
from ..attribution.probes import plain_forward
from ..attribution.targets import output_tensor
from ..attribution.validation import check_model, check_positive_count
from .distributed import Ranks, current_ranks
from .source import Examples
from .store import (
    AttributionStore,
    class_summary,
    concentration,
    create_store,
    done_units,
    existing_config,
    mark_complete,
    quantise,
    write_unit,
)

TARGETS = ("label", "prediction")
DETERMINISTIC_BASELINES = ("black", "zero", "blur", "max_distance")
DEFAULT_UNIT = 64


def attribute_dataset(
    model: Callable,
    data: Any,
    *,
    out: str | pathlib.Path,
    target: str | int | Callable = "label",
    baseline: BaselineSpec = "black",
    steps: int = 32,
    rule: str = "gausslegendre",
    method: str = "integrated_gradients",
    idgi: bool = False,
    batch_size: int | None = None,
    unit: int | None = None,
    top_k: int = 3,
    labels: Sequence[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> AttributionStore:
    """Attribute every example of `data` and store the results at `out`; returns the store.

    Parameters
    ----------
    model : the nn.Module (or callable) mapping [batch, ...] to class scores [batch, classes]. Never changed.
    data : a tensor [N, ...], a pair (inputs, labels), a map-style dataset of `x` or `(x, label)`, or a
        DataLoader over one (read by index; its batch size is the default `unit`).
    out : the store's directory. If a store with the same settings is there, the run resumes it.
    target : default "label" (each example's label). "prediction" (the model's top class), a class
        index, or a callable mapping the model's output to one score per row.
    baseline : default "black". A name whose baseline depends on each input alone ("black", "zero",
        "blur", "max_distance") or a number: the store rebuilds it for `store[i]`.
    steps, rule : the quadrature, as for `integrated_gradients` (default 32 Gauss-Legendre points).
    method : "integrated_gradients" (the straight path); `idgi=True` applies IDGI on it.
    batch_size : default None (memory budget). Path points per forward pass; each pass carries that
        many points for every input of the unit.
    unit : default the DataLoader's batch size, else 64. Examples computed together and written as one
        chunk (the granularity of resuming and of splitting across ranks).
    top_k : default 3. How many top classes (and probabilities) the table keeps.
    labels : class names for the table and the gallery.
    overwrite : default False. Start afresh when `out` holds a store made with other settings.
    progress : default True. A tqdm bar on the leader.
    """
    check_model(model)
    examples = Examples(data)
    options = _checked_options(steps, rule, batch_size, idgi, method)
    _check_target(target, examples)
    _check_baseline(baseline)
    unit = unit or examples.loader_batch_size or DEFAULT_UNIT
    check_positive_count("unit", unit)
    check_positive_count("top_k", top_k)
    out = pathlib.Path(out)
    twin = isolated_model(model)
    device = model_device(model) or torch.device("cpu")
    ranks = current_ranks(device)
    try:
        return _run(
            twin,
            examples,
            out,
            options,
            ranks,
            device,
            target=target,
            baseline=baseline,
            method=method,
            unit=unit,
            top_k=top_k,
            labels=labels,
            overwrite=overwrite,
            progress=progress,
        )
    finally:
        ranks.close()


def _run(
    twin: Callable,
    examples: Examples,
    out: pathlib.Path,
    options: PathOptions,
    ranks: Ranks,
    device: torch.device,
    *,
    target,
    baseline,
    method,
    unit,
    top_k,
    labels,
    overwrite,
    progress,
) -> AttributionStore:
    count = len(examples)
    with torch.no_grad():
        first = output_tensor(twin(examples.batch(0, 1)[0].to(device)))
    classes = int(first.shape[-1]) if first.ndim == 2 else 1
    if top_k > classes:
        raise AttributionInputError(f"top_k={top_k} is more than the model's {classes} outputs")
    if labels is not None and len(labels) != classes:
        raise AttributionInputError(f"labels has {len(labels)} names but the model has {classes} outputs")
    config = {
        "count": count,
        "shape": list(examples.example_shape),
        "unit": unit,
        "classes": classes,
        "target": _target_name(target),
        "baseline": baseline if isinstance(baseline, str) else float(baseline),
        "baseline_name": baseline_name(baseline),
        "steps": options.steps,
        "rule": options.rule,
        "output": options.output,
        "method": "idgi" if options.idgi else method,
        "top_k": top_k,
        "labels": list(labels) if labels else None,
    }
    config = json.loads(json.dumps(config))  # as the store's JSON will give it back
    problem = None
    if ranks.leader:
        problem = _prepare(out, config, overwrite, top_k)
    problem = ranks.from_leader(problem)
    if problem:
        raise AttributionInputError(problem)
    ranks.barrier()
    pending = [index for index, finished in enumerate(done_units(out)) if not finished]
    mine = [index for index in pending if index % ranks.world == ranks.rank]
    bar = _bar(progress and ranks.leader, total=count, done=count - sum(min(unit, count - u * unit) for u in pending))
    try:
        for index in mine:
            start, stop = index * unit, min((index + 1) * unit, count)
            write_unit(
                out, index, start, _compute_unit(twin, examples, start, stop, options, device, target, baseline, top_k)
            )
            if bar is not None:
                bar.update((stop - start) * ranks.world)
    finally:
        if bar is not None:
            bar.close()
    ranks.barrier()
    store = AttributionStore(out)
    if ranks.leader:
        mark_complete(out, class_summary(store))
    ranks.barrier()
    return store


def _prepare(out: pathlib.Path, config: dict, overwrite: bool, top_k: int) -> str | None:
    """Create the store, or check that the one there was made with the same settings. Returns a
    message when it cannot be used (raised on every rank)."""
    found = existing_config(out)
    if found is not None and found != config and not overwrite:
        differ = sorted(key for key in set(found) | set(config) if found.get(key) != config.get(key))
        details = "; ".join(f"{key}: {found.get(key)!r} there, {config.get(key)!r} here" for key in differ)
        return (
            f"out={str(out)!r} holds a run with other settings ({details}); pass overwrite=True to start "
            "afresh or give another out"
        )
    if found is None or found != config:
        create_store(out, config, tuple(config["shape"]), top_k)
    return None


def _compute_unit(
    twin, examples: Examples, start: int, stop: int, options: PathOptions, device, target, baseline, top_k: int
) -> dict[str, np.ndarray]:
    x, labels = examples.batch(start, stop)
    x = x.to(device).detach()
    with torch.no_grad():
        logits = output_tensor(twin(x)).float()
    probabilities = logits.softmax(dim=1)
    predictions = probabilities.argmax(dim=1)
    if target == "label":
        spec, targets = labels.to(device), labels
    elif target == "prediction" or target is None:
        spec, targets = predictions, predictions
    elif isinstance(target, int):
        spec, targets = target, torch.full((len(x),), target)
    else:
        spec, targets = target, None
    base = make_baseline(baseline, x)
    result = integrate_path(
        plain_forward(twin),
        x,
        base,
        [spec],
        options,
        method="idgi" if options.idgi else "integrated_gradients",
        baseline_label=baseline_name(baseline),
    )[0]
    attributions = result.attributions.detach().float().cpu().numpy()
    stored, scale = quantise(attributions)
    top = probabilities.topk(top_k, dim=1)
    return {
        "attributions": stored,
        "scale": scale,
        "inputs": x.detach().cpu().float().numpy().astype(np.float16),
        "label": (labels if labels is not None else torch.full((len(x),), -1)).cpu().numpy().astype(np.int64),
        "prediction": predictions.cpu().numpy().astype(np.int64),
        "target": (targets if targets is not None else torch.full((len(x),), -1)).cpu().numpy().astype(np.int64),
        "score": result.score.detach().float().cpu().numpy(),
        "baseline_score": result.baseline_score.detach().float().cpu().numpy(),
        "gap": result.gap.detach().float().cpu().numpy(),
        "confidence": probabilities.max(dim=1).values.cpu().numpy(),
        "concentration": concentration(attributions),
        "top_classes": top.indices.cpu().numpy().astype(np.int64),
        "top_probabilities": top.values.cpu().numpy().astype(np.float32),
    }


def _checked_options(steps, rule, batch_size, idgi, method) -> PathOptions:
    if method != "integrated_gradients":
        raise AttributionInputError(
            f"method={method!r} is not available for data-set runs; use 'integrated_gradients' (idgi=True for IDGI)"
        )
    if steps == "auto":
        raise AttributionInputError(
            "steps='auto' is not available for data-set runs (every example walks the same "
            "points, so they batch together); give steps as an int"
        )
    return PathOptions.checked(
        steps=steps,
        rule=rule,
        batch_size=batch_size,
        output="logit",
        reducer=None,
        progress=None,
        tol=0.01,
        max_steps=255,
        description="attribute_dataset",
        idgi=idgi,
    )


def _check_target(target, examples: Examples) -> None:
    if target == "label" and not examples.has_labels:
        raise AttributionInputError(
            "target='label' but data has no labels; give data as (inputs, labels) or a dataset of (x, label), "
            "or use target='prediction'"
        )
    if isinstance(target, str) and target not in TARGETS:
        raise AttributionInputError(
            f"target={target!r} is not one of {', '.join(TARGETS)}; or give a class index or callable"
        )
    if isinstance(target, bool) or not (target is None or isinstance(target, (str, int)) or callable(target)):
        raise AttributionInputError(f"target={target!r}: give 'label', 'prediction', a class index or a callable")
    if isinstance(target, int) and target < 0:
        raise AttributionInputError(f"target={target!r} is negative; class indices start at 0")


def _check_baseline(baseline) -> None:
    if isinstance(baseline, bool) or not (isinstance(baseline, (int, float)) or baseline in DETERMINISTIC_BASELINES):
        raise AttributionInputError(
            f"baseline={baseline!r}: a data-set run takes a baseline that depends on each input alone "
            f"({', '.join(DETERMINISTIC_BASELINES)} or a number), so the store can rebuild it for store[i]"
        )


def _target_name(target) -> str:
    if callable(target) and not isinstance(target, (str, int)):
        return f"callable {getattr(target, '__name__', type(target).__name__)}"
    return str("prediction" if target is None else target)


def _bar(enabled: bool, total: int, done: int):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=done, desc="attribute_dataset", unit="example")
