"""Baselines for text: the embeddings the path starts from.

A token baseline puts one token (pad, mask, unk, or any id) at every position; "zero" is the zero
embedding. Special tokens ([CLS], [SEP], BOS, EOS, padding) keep their own embedding by default, so
the path only changes the words and the model still sees a well-formed sequence all along it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from .errors import AttributionInputError
from .text_inputs import TokenBatch, check_vocabulary

TextBaselineSpec = str | int | Tensor
TOKEN_BASELINES = ("pad", "mask", "unk")
TEXT_BASELINES = (*TOKEN_BASELINES, "zero")


def check_text_baseline(spec: TextBaselineSpec) -> None:
    """Validate the kind of baseline before any model call."""
    if isinstance(spec, str) and spec not in TEXT_BASELINES:
        raise AttributionInputError(
            f"baseline={spec!r} is unknown for text; use one of {', '.join(TEXT_BASELINES)}, a token id, "
            "a LongTensor of token ids or a float tensor of embeddings"
        )
    if isinstance(spec, bool) or not isinstance(spec, (str, int, Tensor)):
        raise AttributionInputError(
            f"baseline={spec!r} is not a text baseline; use one of {', '.join(TEXT_BASELINES)}, a token id or a tensor"
        )


def text_baseline(
    spec: TextBaselineSpec,
    batch: TokenBatch,
    embed: Callable[[Tensor], Tensor],
    embedded: Tensor,
    *,
    tokenizer: Any,
    model: Any,
    keep_special: bool,
    vocabulary: int | None,
) -> tuple[Tensor, str]:
    """Baseline embeddings shaped like `embedded` [batch, length, dim], and a name for display."""
    if isinstance(spec, Tensor) and spec.dtype.is_floating_point:
        if spec.shape != embedded.shape[1:] and spec.shape != embedded.shape:
            raise AttributionInputError(
                f"baseline embeddings have shape {tuple(spec.shape)}; they need {tuple(embedded.shape)} "
                f"or {tuple(embedded.shape[1:])}"
            )
        return spec.to(embedded).expand_as(embedded).clone(), "custom embeddings"
    if spec == "zero":
        base, name = torch.zeros_like(embedded), "zero embedding"
    else:
        ids, name = _baseline_ids(spec, batch, tokenizer, model, getattr(embed, "padding_idx", None))
        check_vocabulary(ids, vocabulary, "baseline")
        with torch.no_grad():
            base = embed(ids).to(embedded)
    if keep_special:
        keep = batch.special
        if batch.attention_mask is not None:
            keep = keep | (batch.attention_mask == 0)
        base = torch.where(keep[..., None], embedded, base)
    return base, name


def _baseline_ids(
    spec: TextBaselineSpec, batch: TokenBatch, tokenizer: Any, model: Any, padding_idx: int | None
) -> tuple[Tensor, str]:
    ids = batch.input_ids
    if isinstance(spec, Tensor):
        if spec.shape != ids.shape and spec.shape != ids.shape[1:]:
            raise AttributionInputError(
                f"baseline token ids have shape {tuple(spec.shape)}; they need {tuple(ids.shape)} or "
                f"{tuple(ids.shape[1:])}"
            )
        return spec.to(ids).expand_as(ids), "custom tokens"
    if isinstance(spec, int):
        return torch.full_like(ids, spec), f"token {spec}"
    token_id = _named_token_id(spec, tokenizer, model, padding_idx)
    return torch.full_like(ids, token_id), f"{spec} token"


def available_text_baselines(tokenizer: Any, model: Any = None, padding_idx: int | None = None) -> tuple[str, ...]:
    """The named baselines this tokenizer (or the model's config, or an embedding's `padding_idx`) can
    make, in TEXT_BASELINES order: a view offers only these, and starts from the first.

    GPT-2's tokenizer has no pad or mask token, so a menu of every name would offer two that fail.
    """
    named = [name for name in TOKEN_BASELINES if _token_id(name, tokenizer, model, padding_idx) is not None]
    return (*named, "zero")


def _token_id(name: str, tokenizer: Any, model: Any, padding_idx: int | None) -> int | None:
    """The id of the pad / mask / unk token, from the tokenizer or else the model's config; for pad, then
    the embedding layer's own `padding_idx` (a model of one's own, `nn.Embedding(..., padding_idx=0)`,
    with no tokenizer or config to ask). None when none of them has it."""
    attribute = f"{name}_token_id"
    for source in (tokenizer, getattr(model, "config", None)):
        value = getattr(source, attribute, None)
        if isinstance(value, int):
            return value
    if name == "pad" and tokenizer is None and isinstance(padding_idx, int):
        return padding_idx
    return None


def _named_token_id(name: str, tokenizer: Any, model: Any, padding_idx: int | None) -> int:
    """`_token_id`, or an error that names the baselines that would work."""
    token_id = _token_id(name, tokenizer, model, padding_idx)
    if token_id is not None:
        return token_id
    others = ", ".join(repr(other) for other in available_text_baselines(tokenizer, model, padding_idx))
    if tokenizer is not None:  # GPT-2's and Llama's tokenizers have no pad token
        eos = getattr(tokenizer, "eos_token_id", None)
        hint = f" (its end-of-text token: baseline={eos})" if isinstance(eos, int) else ""
        raise AttributionInputError(
            f"baseline={name!r} needs a {name} token, but the tokenizer has none; pass one it can make "
            f"({others}) or a token id{hint}"
        )
    raise AttributionInputError(
        f"baseline={name!r} needs a {name} token, but no tokenizer was given and the model config has none"
        + (" (nor the embedding layer a padding_idx)" if name == "pad" else "")
        + "; pass tokenizer=, a token id (baseline=<int>) or baseline='zero'"
    )
