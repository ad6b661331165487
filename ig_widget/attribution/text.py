"""Integrated Gradients for token sequences, through the model's embedding layer.

Token ids are not differentiable, so the path runs in embedding space: from baseline embeddings to
the input's embeddings. A forward hook on the embedding module replaces its output with the path
point, and everything else (attention masks, token type ids, position embeddings, the rest of the
network) runs unchanged. Works for any nn.Module with an nn.Embedding, and for Hugging Face models
through `get_input_embeddings()`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .batching import Forward
from .errors import AttributionInputError
from .model_state import isolated_model, model_device, modules_of
from .options import AUTO_MAX_STEPS, DEFAULT_TOL, PathOptions, Steps
from .orchestrate import integrate_path
from .progress import ProgressSpec
from .targets import TargetSpec, check_target_spec
from .text_baselines import TextBaselineSpec, check_text_baseline, text_baseline
from .text_inputs import (
    TextInput,
    TokenBatch,
    call_with_tokens,
    check_vocabulary,
    token_batch,
    with_real_positions,
)
from .text_result import TextAttribution
from .text_targets import NextToken, scored_under, with_inputs
from .trace_reduce import Reducer, embedding_trace_reducer
from .validation import check_model

TOKEN_REDUCTIONS = ("sum", "l2")


def text_integrated_gradients(
    model: Callable,
    inputs: TextInput,
    *,
    target: TargetSpec = None,
    baseline: TextBaselineSpec = "pad",
    steps: Steps = 50,
    rule: str = "gausslegendre",
    batch_size: int | None = None,
    trace: bool = True,
    tokenizer: Any = None,
    embedding: nn.Module | str | None = None,
    keep_special: bool = True,
    token_reduce: str = "sum",
    output: str = "logit",
    trace_reduce: str | Reducer = "embedding",
    progress: ProgressSpec = None,
    tol: float = DEFAULT_TOL,
    max_steps: int = AUTO_MAX_STEPS,
    autocast: torch.dtype | None = None,
) -> TextAttribution:
    """Attribute the target score of each sequence to its tokens.

    The path runs in embedding space, from the baseline's embeddings to the input's, substituted for
    the output of the model's embedding layer; the model itself is never changed.

    Parameters
    ----------
    model : an nn.Module (a Hugging Face model, or any module with an nn.Embedding) or a callable
        wrapping one, taking token ids (and, by name, the tokenizer's other outputs).
    inputs : a string or list of strings (tokenized with `tokenizer`), a LongTensor of token ids
        [batch, length], or a tokenizer's output (its attention mask, token type ids and position ids
        are passed to the model, repeated for every path point). A left-padded batch of a causal
        language model gets position ids that number each row's real tokens from 0, as Hugging Face's
        `generate` gives it, when the model takes `position_ids` and none were given: each row is then
        explained as its text alone. Other models keep their own numbering.
    target : default None (each row's top class). A class index (classifiers), a callable
        `target(output)` or `target(output, inputs)` giving one score per row (a sentence similarity,
        say; it returns its own score, so `output` must stay "logit"), or `NextToken(token, position)`
        for a causal language model (its log-probability; with output="probability", its probability).
    baseline : default "pad". "pad", "mask", "unk", "zero" (the zero embedding), a token id, token ids
        [batch, length], or baseline embeddings.
    tokenizer : default None. Needed for string inputs and for named baseline tokens.
    embedding : default None (found by itself for Hugging Face models and models with one nn.Embedding).
        The module, or its dotted name, whose output is the token embeddings.
    keep_special : default True. Special tokens ([CLS], [SEP], ...) keep their own embedding in the baseline.
    token_reduce : default "sum". How a token's per-dimension attributions become one number: "sum"
        (they add up to F(x) - F(x')) or "l2" (their norm).
    trace_reduce : default "embedding". How the trace shrinks each point: summed over the embedding
        dimension, "none", or a callable.
    steps, rule, batch_size, trace, output, progress, tol, max_steps, autocast : as for
        `integrated_gradients`.
    """
    return text_integrated_gradients_multi(
        model,
        inputs,
        targets=[target],
        baseline=baseline,
        steps=steps,
        rule=rule,
        batch_size=batch_size,
        trace=trace,
        tokenizer=tokenizer,
        embedding=embedding,
        keep_special=keep_special,
        token_reduce=token_reduce,
        output=output,
        trace_reduce=trace_reduce,
        progress=progress,
        tol=tol,
        max_steps=max_steps,
        autocast=autocast,
    )[0]


def text_integrated_gradients_multi(
    model: Callable,
    inputs: TextInput,
    *,
    targets: Sequence[TargetSpec],
    baseline: TextBaselineSpec = "pad",
    steps: Steps = 50,
    rule: str = "gausslegendre",
    batch_size: int | None = None,
    trace: bool = True,
    tokenizer: Any = None,
    embedding: nn.Module | str | None = None,
    keep_special: bool = True,
    token_reduce: str = "sum",
    output: str = "logit",
    trace_reduce: str | Reducer = "embedding",
    progress: ProgressSpec = None,
    tol: float = DEFAULT_TOL,
    max_steps: int = AUTO_MAX_STEPS,
    autocast: torch.dtype | None = None,
) -> list[TextAttribution]:
    """`text_integrated_gradients` for several targets in one walk along the path (one forward pass
    per chunk of points, one backward pass per target), one result per target, each equal to the
    single-target call; the text widget precomputes its listed outputs this way.

    Parameters
    ----------
    targets : a non-empty list of targets, each as `text_integrated_gradients` takes one.
    Every other parameter is as for `text_integrated_gradients`.
    """
    check_model(model)
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence) or not targets:
        raise AttributionInputError(f"targets must be a non-empty list of targets (e.g. [0, 1]); got {targets!r}")
    for target in targets:  # a NextToken applies `output` itself (scored_under); other callables cannot
        check_target_spec(target, "logit" if isinstance(target, NextToken) else output)
    options = PathOptions.checked(
        steps=steps,
        rule=rule,
        batch_size=batch_size,
        output=output,
        reducer=embedding_trace_reducer(trace_reduce) if trace else None,
        progress=progress,
        tol=tol,
        max_steps=max_steps,
        description="integrated gradients (text)",
        autocast=autocast,
    )
    check_text_baseline(baseline)
    if token_reduce not in TOKEN_REDUCTIONS:
        raise AttributionInputError(
            f"token_reduce={token_reduce!r} is unknown; use one of {', '.join(TOKEN_REDUCTIONS)}"
        )
    layer = find_embedding(model, embedding)
    batch = with_real_positions(token_batch(inputs, tokenizer, model_device(model) or model_device(layer)), model)
    vocabulary = layer.num_embeddings if isinstance(layer, nn.Embedding) else None
    check_vocabulary(batch.input_ids, vocabulary, "inputs")
    isolated = isolated_model(model)
    layer = isolated.twin(layer)
    with torch.no_grad():
        embedded = layer(batch.input_ids).detach()
    base, name = text_baseline(
        baseline,
        batch,
        layer,
        embedded,
        tokenizer=tokenizer,
        model=model,
        keep_special=keep_special,
        vocabulary=vocabulary,
    )
    current: dict[str, Any] = {}
    results = integrate_path(
        substituting_forward(isolated, layer, batch, current),
        embedded,
        base,
        [with_inputs(scored_under(target, output), current) if callable(target) else target for target in targets],
        options,
        baseline_label=name,
    )
    return [
        TextAttribution(result, _token_scores(result.attributions, token_reduce), batch, token_reduce)
        for result in results
    ]


def _token_scores(attributions: Tensor, token_reduce: str) -> Tensor:
    return attributions.sum(dim=-1) if token_reduce == "sum" else attributions.norm(dim=-1)


def find_embedding(model: Callable, embedding: nn.Module | str | None) -> nn.Module:
    """The module whose output is the token embeddings."""
    if isinstance(embedding, nn.Module):
        return embedding
    owner = model if isinstance(model, nn.Module) else getattr(model, "__self__", None)
    if isinstance(embedding, str):
        if not isinstance(owner, nn.Module):
            raise AttributionInputError(f"embedding={embedding!r} names a submodule, but the model is not an nn.Module")
        try:
            return owner.get_submodule(embedding)
        except AttributeError:
            raise AttributionInputError(f"embedding={embedding!r} is not a submodule of the model") from None
    if embedding is not None:
        raise AttributionInputError(f"embedding must be an nn.Module, a submodule name or None; got {embedding!r}")
    modules = modules_of(model)
    declared = _distinct(
        getter() for module in modules if callable(getter := getattr(module, "get_input_embeddings", None))
    )
    declared = [layer for layer in declared if isinstance(layer, nn.Module)]
    found = declared or [module for module in modules if isinstance(module, nn.Embedding)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise AttributionInputError(
            "found no nn.Embedding in the model; pass embedding= the module that turns token ids into vectors"
        )
    names = {id(module): name for owner_module in modules[:1] for name, module in owner_module.named_modules()}
    listed = ", ".join(names.get(id(module), type(module).__name__) for module in found)
    kind = "input embeddings (get_input_embeddings)" if declared else "nn.Embedding modules"
    raise AttributionInputError(f"the model has several {kind} ({listed}); pass embedding= the one for token ids")


def _distinct(modules) -> list:
    unique: dict[int, Any] = {}
    for module in modules:
        unique.setdefault(id(module), module)
    return list(unique.values())


def substituting_forward(model: Callable, layer: nn.Module, batch: TokenBatch, current: dict[str, Any]) -> Forward:
    """forward(points, rows): run the model on the rows' tokens with `points` as the embedding output.

    `current["inputs"]` is set to the model arguments of the points, for targets that read them.
    """

    def forward(points: Tensor, rows: Tensor) -> Any:
        arguments = batch.per_point(rows)
        current["inputs"] = arguments
        ids = arguments["input_ids"]
        substituted = []

        def substitute(module: nn.Module, args: Any, produced: Tensor) -> Tensor | None:
            received = args[0] if args else None
            if not (isinstance(received, Tensor) and received.shape == ids.shape and torch.equal(received, ids)):
                return None  # another use of the same table (GPT-2 embeds token type ids with it)
            substituted.append(produced.shape)
            if produced.shape != points.shape:
                raise AttributionInputError(
                    f"the embedding module gave shape {tuple(produced.shape)} where the path points are "
                    f"{tuple(points.shape)}; pass embedding= the module that embeds input_ids"
                )
            return points

        handle = layer.register_forward_hook(substitute)
        try:
            raw = call_with_tokens(model, arguments)
        finally:
            handle.remove()
        if len(substituted) != 1:
            raise AttributionInputError(
                f"the embedding module embedded the token ids {len(substituted)} times in one forward pass; "
                "it must embed them exactly once (pass embedding= the module that turns input_ids into vectors)"
            )
        return raw

    return forward
