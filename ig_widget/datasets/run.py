"""attribute_dataset: attributions for every example of a data set, into a resumable store.

The work is cut into units of `unit` consecutive examples. A unit is one call of the engine on all its
inputs at once (for Integrated Gradients `integrate_path`: each forward pass carries many inputs x path
points, chunked to the memory budget, or `batch_size` points per pass). The next unit's examples are
read in a loader thread meanwhile (source.py), and each unit's results are handed to a writer thread
(writer.py) that writes them to the unit's own chunk of every array of the store and
then marks the unit done, while this thread computes the next unit. A run that stops (Ctrl-C, a crash,
a killed process) resumes from the units not marked done: a unit is computed and written whole or not
counted, so nothing is lost and nothing is written twice. Under `torchrun`, unit u belongs to rank
u % world; each rank writes its units, the leader (rank 0) creates the store and writes its index (the
summary and the completion mark) once every rank is through. A store remembers the model (identity.py)
and the method's settings, and a run is resumed only with the same ones.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from ..attribution.baselines import BaselineSpec
from ..attribution.class_scores import class_probabilities, score_name
from ..attribution.errors import AttributionError, AttributionInputError
from ..attribution.model_state import isolated_model, model_device
from ..attribution.targets import output_tensor
from ..attribution.validation import check_model, check_positive_count
from .distributed import Ranks, current_ranks
from .identity import data_identity, describe, model_identity
from .methods import RunMethod, checked_method
from .source import Examples, prefetched
from .store import (
    AttributionStore,
    ClassSums,
    class_summary,
    concentration,
    create_store,
    done_units,
    existing_config,
    mark_complete,
    quantise,
)
from .writer import UnitWriter

TARGETS = ("label", "prediction")
DEFAULT_UNIT = 64


def attribute_dataset(
    model: Callable,
    data: Any,
    *,
    out: str | pathlib.Path,
    target: str | int | Callable = "label",
    method: str = "integrated_gradients",
    baseline: BaselineSpec | None = None,
    steps: int = 32,
    rule: str = "gausslegendre",
    idgi: bool = False,
    samples: int | None = None,
    noise_level: float = 0.15,
    seed: int = 0,
    baseline_data: Tensor | None = None,
    autocast: torch.dtype | None = None,
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
    out : the store's directory. If a store made with the same model, data and settings is there, the run
        resumes it; one made with another model, other data or other settings is refused (see `overwrite`).
    target : default "label" (each example's label). "prediction" (the model's top class), a class
        index, or a callable mapping the model's output to one score per row.
    method : default "integrated_gradients" (the straight path; `idgi=True` applies IDGI on it).
        Also "saliency", "gradient_x_input", "smoothgrad" (of saliency) and "expected_gradients"
        (baselines drawn from `baseline_data`), each as the engine's function of that name computes it
        on a unit's examples at once. Methods without a baseline store NaN as F(x') and gap.
    baseline : for integrated_gradients only, default "black". A name whose baseline depends on each
        input alone ("black", "zero", "blur", "max_distance") or a number: the store rebuilds it for
        `store[i]`.
    steps, rule : for integrated_gradients, the quadrature (default 32 Gauss-Legendre points).
    idgi : default False. IDGI on the straight path (integrated_gradients only).
    samples : for smoothgrad (default 25 noisy copies) and expected_gradients (default 64 draws).
    noise_level : default 0.15. SmoothGrad's noise, as a fraction of each input's value range.
    seed : default 0. Fixes smoothgrad's and expected_gradients' draws; unit u draws with seed + u, so
        a store is reproducible for a given `unit`.
    baseline_data : for expected_gradients, the baselines to draw from, [M, ...] shaped as the inputs.
    autocast : default None. For integrated_gradients, torch.bfloat16 (CPU or GPU) or torch.float16 (GPU):
        the path's forward and backward passes run under `torch.autocast` at that precision; F(x), F(x')
        (and the table's probabilities) come from a pass at the input's precision and the sums stay in it,
        so the stored gap, computed in float32, shows what the lower precision cost. Recorded in the store.
    batch_size : default None (memory budget). Points per forward pass (path points, noisy copies or
        draws), for every input of the unit.
    unit : default the DataLoader's batch size, else 64. Examples computed together and written as one
        chunk (the granularity of resuming and of splitting across ranks).
    top_k : default 3. How many top classes (and probabilities) the table keeps.
    labels : class names for the table and the gallery.
    overwrite : default False. Start afresh when `out` holds a store made with another model or other
        settings.
    progress : default True. A tqdm bar on the leader.
    """
    check_model(model)
    examples = Examples(data)
    run_method = checked_method(
        method,
        steps=steps,
        rule=rule,
        batch_size=batch_size,
        idgi=idgi,
        baseline=baseline,
        samples=samples,
        noise_level=noise_level,
        seed=seed,
        baseline_data=baseline_data,
        example_shape=examples.example_shape,
        autocast=autocast,
    )
    _check_target(target, examples)
    unit = unit or examples.loader_batch_size or DEFAULT_UNIT
    check_positive_count("unit", unit)
    check_positive_count("top_k", top_k)
    out = pathlib.Path(out)
    device = model_device(model) or torch.device("cpu")
    ranks = current_ranks(device)
    try:
        return _run(
            model,
            examples,
            out,
            run_method,
            ranks,
            device,
            target=target,
            unit=unit,
            top_k=top_k,
            labels=labels,
            overwrite=overwrite,
            progress=progress,
        )
    finally:
        ranks.close()


def _run(
    model: Callable,
    examples: Examples,
    out: pathlib.Path,
    method: RunMethod,
    ranks: Ranks,
    device: torch.device,
    *,
    target,
    unit,
    top_k,
    labels,
    overwrite,
    progress,
) -> AttributionStore:
    count = len(examples)
    twin = isolated_model(model)
    with torch.no_grad():
        first_example = examples.batch(0, 1)  # read once: the output's size here, the data's identity below
        first = output_tensor(twin(first_example[0].to(device)))
    classes = int(first.shape[-1]) if first.ndim == 2 else 1
    # what the outputs are (a softmax inside the model: probabilities), read once, from the first example
    outputs_are = score_name(first, dim=1) if first.ndim == 2 else "logit"
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
        **method.settings(),
        "top_k": top_k,
        "labels": list(labels) if labels else None,
    }
    problem = pending = None
    if ranks.leader:
        config["model"] = model_identity(model)  # once per run, by the leader, who checks the store
        config["data"] = data_identity(examples, first_example)
        config = json.loads(json.dumps(config))  # as the store's JSON will give it back
        problem = _prepare(out, config, overwrite, top_k, device.type)
        if problem is None:
            pending = [index for index, finished in enumerate(done_units(out)) if not finished]
    # The units left, as the leader read them before any rank started: a rank reading the done marks
    # itself could see units another rank had finished since, and disagree on what this run computes.
    problem, pending = ranks.from_leader((problem, pending))
    if problem:
        raise AttributionInputError(problem)
    mine = [index for index in pending if index % ranks.world == ranks.rank]
    bar = _bar(progress and ranks.leader, total=count, done=count - sum(min(unit, count - u * unit) for u in pending))
    spans = [(index * unit, min((index + 1) * unit, count)) for index in mine]
    # A run that computes every unit adds the per-class summary up as it writes, each rank its own units,
    # and the leader adds the ranks' sums up (no read of the store at the end: 0.17 s for 4096 digits, a
    # wait of every rank); a resumed run reads it back.
    every_unit = len(pending) == -(-count // unit)
    sums = ClassSums(classes, examples.example_shape) if every_unit else None
    writer, batches = UnitWriter(out, sums=sums), prefetched(examples, spans, device)
    try:
        for index, (start, stop), (x, example_labels) in zip(mine, spans, batches):
            try:
                tensors = _unit_tensors(
                    method, model, twin, x, example_labels, target, top_k, index, outputs_are=outputs_are
                )
            except AttributionError as error:  # the same refusal, saying which examples it is about
                raise type(error)(_in_examples(start, stop, target, x) + str(error)) from error
            writer.put(index, tensors)
            if bar is not None:
                bar.update((stop - start) * ranks.world)
    finally:
        batches.close()  # the loader thread ends
        writer.close()  # what is queued is written, after an error or Ctrl-C too
        if bar is not None:
            bar.close()
    summary = sums.summary(ranks.sum_to_leader) if sums is not None else None  # every rank takes part
    ranks.barrier()
    store = AttributionStore(out)
    if ranks.leader:
        mark_complete(out, summary if summary is not None else class_summary(store))
    ranks.barrier()
    return store


def _prepare(out: pathlib.Path, config: dict, overwrite: bool, top_k: int, device: str) -> str | None:
    """Create the store, or check that the one there was made with the same model, data and settings.
    Returns a message when it cannot be used (raised on every rank)."""
    found = existing_config(out, for_run=True)
    compared = config
    if found is not None and "data" not in found:  # a store from before the data was recorded
        compared = {key: value for key, value in config.items() if key != "data"}
    if found is not None and found != compared and not overwrite:
        if "format" in found:
            return (
                f"out={str(out)!r} holds a store of an older format ({found['format']!r}); pass overwrite=True "
                "to replace it or give another out"
            )
        if found.get("model") != config["model"]:
            return (
                f"out={str(out)!r} holds a run made with another model ({describe(found.get('model'))} there, "
                f"{describe(config['model'])} here); resuming would mix two models' attributions in one store. "
                "Pass the model that run was made with, overwrite=True to start afresh, or another out"
            )
        if found.get("data") != compared.get("data") and found.get("count") == config["count"]:
            return (
                f"out={str(out)!r} holds a run made on other data: its first or last example (input or label) "
                "differs from the one given here (changed preprocessing, another split or order?); resuming "
                "would hand back attributions of the other data. Pass the data that run was made on, "
                "overwrite=True to start afresh, or another out (a dataset that draws random transforms at "
                "every read gives other examples each time: fix them to resume)"
            )
        differ = sorted(key for key in set(found) | set(compared) if found.get(key) != compared.get(key))
        differ = [key for key in differ if key != "data"] or differ  # other settings say more than digests
        details = "; ".join(f"{key}: {found.get(key)!r} there, {compared.get(key)!r} here" for key in differ)
        return (
            f"out={str(out)!r} holds a run with other settings ({details}); pass overwrite=True to start "
            "afresh or give another out"
        )
    if found is None or found != compared:
        create_store(out, config, tuple(config["shape"]), top_k, device)
    return None


def _unit_tensors(
    method: RunMethod,
    model,
    twin,
    x: Tensor,
    labels: Tensor | None,
    target,
    top_k: int,
    unit_index: int,
    *,
    outputs_are: str = "logit",
) -> dict[str, Tensor]:
    """One unit's results as tensors on the model's device: the arrays the writer writes (store.ROWS).
    No host synchronisation here beyond the engine's own (the writer copies them to the host).
    `outputs_are`: what the model's outputs are (`class_scores.score_name`): probabilities a softmax
    inside the model made are listed as they are rather than through a second softmax.

    The table's probabilities, prediction and top k come from the model's output at x that the walk
    hands back (`AttributionResult.model_output`, from its own pass: no forward pass of ours), and
    target="prediction" is the walk's own top class (target None). Only where the method gives no
    output (saliency, SmoothGrad, ...: their target must be known before they run) or the model
    returned something else than a score tensor does the run pass x through the model itself."""
    x = x.detach()
    none = torch.full((len(x),), -1, dtype=torch.long, device=x.device)
    if labels is not None:
        labels = labels.to(x.device)
    early = None  # the output at x, where the method needs the top class before it runs
    if target == "label":
        spec = labels
    elif target == "prediction" or target is None:
        if not method.walks_a_path:
            early = _output_at(twin, x)
        spec = None if early is None else early.argmax(dim=1)
    else:
        spec = target
    result = method.attribute(model, twin, x, spec, unit_index)
    output = early if early is not None else result.model_output
    if output is None:
        output = _output_at(twin, x)
    probabilities = class_probabilities(output.float(), dim=1, name=outputs_are)
    predictions = output.argmax(dim=1)  # the walk's top class, which target=None explains
    confidence = probabilities.gather(1, predictions[:, None])[:, 0]
    if target == "label":
        targets = labels
    elif spec is None or isinstance(spec, Tensor):
        targets = predictions
    elif isinstance(target, int):
        targets = torch.full_like(none, target)
    else:
        targets = none
    attributions = result.attributions.detach()
    stored, scale = quantise(attributions)
    missing = torch.full((len(x),), float("nan"), device=x.device)
    score = result.score.detach().float()
    baseline_score = missing if result.baseline_score is None else result.baseline_score.detach().float()
    gap = missing if result.baseline_score is None else result.gap.detach().float()
    top = probabilities.topk(top_k, dim=1)
    numbers = [scale, score, baseline_score, gap, confidence, concentration(attributions)]  # store.NUMBERS
    codes = [none if labels is None else labels, predictions, targets]  # store.CODES
    return {
        "attributions": stored,
        "inputs": x.half(),
        "numbers": torch.cat([torch.stack(numbers, dim=1), top.values], dim=1),
        "codes": torch.cat([torch.stack(codes, dim=1), top.indices], dim=1),
    }


def _in_examples(start: int, stop: int, target, x: Tensor) -> str:
    """Where a unit's refusal comes from, for its message: the examples, an input among them that holds
    NaN or inf (read only here, on the way to the error), and, explaining labels, that the labels are
    the classes explained."""
    where = f"examples {start} to {stop - 1} of data"
    finite = torch.isfinite(x.reshape(len(x), -1)).all(dim=1)
    if not bool(finite.all()):
        where += f" (example {start + int((~finite).nonzero()[0, 0])} holds NaN or inf in its input)"
    elif target == "label":
        where += " (target='label': their labels are the classes explained)"
    return where + ": "


def _output_at(twin, x: Tensor) -> Tensor:
    """The model's score tensor at x, from a gradient-free pass of its own."""
    with torch.no_grad():
        return output_tensor(twin(x)).detach()


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
