"""Token inputs for text attribution: strings, id tensors or tokenizer encodings, made into one batch.

A `TokenBatch` holds the token ids, the other tensors the model takes beside them (attention mask,
token type ids, position ids), and what is needed to show the tokens: their strings, their character
spans in the original text, which word each belongs to, and which are special tokens.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import torch
from torch import Tensor

from .errors import AttributionInputError

TextInput = Union[str, Sequence[str], Tensor, Mapping[str, Any], "TokenBatch"]

# Hugging Face tokenizers without a known limit report a huge model_max_length (int(1e30)).
MAX_LENGTH_SENTINEL = 1_000_000

# Keys a tokenizer returns that describe the tokens rather than feed the model.
DESCRIPTIVE_KEYS = ("offset_mapping", "special_tokens_mask", "overflow_to_sample_mapping", "length")


@dataclass(frozen=True)
class TokenBatch:
    input_ids: Tensor  # [batch, length] long
    extras: dict[str, Any]  # other model arguments; tensors with a leading batch dimension go per row
    tokens: list[list[str]]  # the tokenizer's token strings (the id as text without a tokenizer)
    special: Tensor  # [batch, length] bool: special tokens ([CLS], [SEP], BOS, EOS, padding)
    texts: list[str] | None = None  # the original strings, when the input was text
    spans: list[list[tuple[int, int]]] | None = None  # character span of each token in its text
    word_ids: list[list[int | None]] | None = None  # word index of each token (None for specials)

    @property
    def attention_mask(self) -> Tensor | None:
        mask = self.extras.get("attention_mask")
        return mask if isinstance(mask, Tensor) else None

    def per_point(self, rows: Tensor) -> dict[str, Any]:
        """The model arguments for path points whose input rows are `rows` (ids and extras repeated)."""
        batch = self.input_ids.shape[0]
        repeated = {"input_ids": self.input_ids[rows]}
        for name, value in self.extras.items():
            per_row = isinstance(value, Tensor) and value.ndim >= 1 and value.shape[0] == batch
            repeated[name] = value[rows] if per_row else value
        return repeated


def token_batch(inputs: TextInput, tokenizer: Any = None, device: torch.device | None = None) -> TokenBatch:
    """Normalise what the user gave into a TokenBatch on `device`."""
    if isinstance(inputs, TokenBatch):  # tokenized once already (the text widget's own): not again
        return inputs
    if isinstance(inputs, str) or _is_string_list(inputs):
        if tokenizer is None:
            raise AttributionInputError("inputs are strings, so a tokenizer is needed; pass tokenizer=")
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        empty = [i for i, text in enumerate(texts) if not text.strip()]
        if empty:
            raise AttributionInputError(
                f"inputs[{empty[0]}] is an empty text ({texts[empty[0]]!r}); every text needs at least one word"
            )
        return _from_encoding(_encode(tokenizer, texts), tokenizer, device, texts)
    if isinstance(inputs, Tensor):
        return _from_encoding({"input_ids": inputs}, tokenizer, device, None)
    if isinstance(inputs, Mapping):
        if "input_ids" not in inputs:
            raise AttributionInputError(
                f"inputs is a mapping with keys {sorted(inputs)}; it needs 'input_ids' (a tokenizer's output)"
            )
        return _from_encoding(inputs, tokenizer, device, None)
    raise AttributionInputError(
        f"inputs is a {type(inputs).__name__}; give a string, a list of strings (with tokenizer=), a "
        "LongTensor of token ids [batch, length] or a tokenizer's output with 'input_ids'"
    )


def _is_string_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(isinstance(v, str) for v in value)


def _encode(tokenizer: Any, texts: list[str]) -> Any:
    """Tokenize; a text longer than the tokenizer's maximum is cut to it, with a warning that says so."""
    options = {"return_tensors": "pt", "return_special_tokens_mask": True, "padding": True}
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and limit < MAX_LENGTH_SENTINEL:
        longest = max(len(ids) for ids in tokenizer(texts, verbose=False)["input_ids"])
        if longest > limit:
            warnings.warn(
                f"inputs has a text of {longest} tokens, more than the tokenizer's maximum of {limit} "
                f"(model_max_length); it is cut to its first {limit} tokens. Explain shorter passages to "
                "see every token",
                UserWarning,
                stacklevel=4,
            )
            options.update(truncation=True, max_length=limit)
    if getattr(tokenizer, "is_fast", False):
        options["return_offsets_mapping"] = True
    if getattr(tokenizer, "pad_token", None) is None and getattr(tokenizer, "pad_token_id", None) is None:
        # GPT-2's, Llama's: one text needs no padding; several are padded here, not by the tokenizer
        if len(texts) == 1:
            return tokenizer(texts, **{**options, "padding": False})
        return _padded_without_pad_token(tokenizer, texts, options)
    return tokenizer(texts, **options)


def _padded_without_pad_token(tokenizer: Any, texts: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """The encoding of a tokenizer without a pad token: each text alone, then padded on the right with
    the end-of-text token (id 0 without one), masked out by the attention mask and marked special, so
    it neither reaches the model's attention nor moves along the path."""
    options = {**options, "padding": False, "return_tensors": None}
    rows = [{name: values[0] for name, values in tokenizer([text], **options).items()} for text in texts]
    longest = max(len(row["input_ids"]) for row in rows)
    filler = getattr(tokenizer, "eos_token_id", None)
    filler = filler if isinstance(filler, int) else 0
    padded: dict[str, list] = {}
    for row in rows:
        missing = longest - len(row["input_ids"])
        for name, values in row.items():
            fill = {"input_ids": filler, "attention_mask": 0, "special_tokens_mask": 1, "offset_mapping": (0, 0)}.get(
                name, 0
            )
            padded.setdefault(name, []).append(list(values) + [fill] * missing)
    return {name: torch.as_tensor(values) for name, values in padded.items()}


def _from_encoding(encoding: Mapping[str, Any], tokenizer: Any, device, texts: list[str] | None) -> TokenBatch:
    ids = _check_ids(encoding["input_ids"])
    device = device or ids.device
    ids = ids.to(device)
    extras = {}
    for name, value in encoding.items():
        if name != "input_ids" and name not in DESCRIPTIVE_KEYS:
            value = _as_model_argument(value, ids)
            extras[name] = value.to(device) if isinstance(value, Tensor) else value
    special = _special_mask(encoding, ids, tokenizer).to(device)
    return TokenBatch(
        input_ids=ids,
        extras=extras,
        tokens=_token_strings(ids, tokenizer),
        special=special,
        texts=texts,
        spans=_spans(encoding, ids),
        word_ids=_word_ids(encoding, ids.shape[0]),
    )


def _as_model_argument(value: Any, ids: Tensor) -> Any:
    """Per-token lists (a tokenizer called without return_tensors) become tensors shaped like the
    ids, so they can be repeated for every path point; anything else is passed as it is."""
    if isinstance(value, (list, tuple)):
        try:
            tensor = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError):
            return value
        if tensor.shape == ids.shape:
            return tensor.to(torch.long) if not tensor.dtype.is_floating_point else tensor
    return value


def _check_ids(ids: Any) -> Tensor:
    if not isinstance(ids, Tensor):
        ids = torch.as_tensor(ids)
    if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
        raise AttributionInputError(
            f"input_ids has dtype {ids.dtype}; token ids must be integers (for float inputs use "
            "ig_widget.integrated_gradients)"
        )
    if ids.ndim != 2 or ids.shape[0] == 0 or ids.shape[1] == 0:
        raise AttributionInputError(
            f"input_ids has shape {tuple(ids.shape)}; it needs [batch, length], e.g. ids.unsqueeze(0)"
        )
    return ids.long()


def check_vocabulary(ids: Tensor, size: int | None, name: str) -> None:
    """Token ids within the embedding table (`size` None: unknown, only negatives are caught)."""
    if not ids.numel():
        return
    low, high = torch.aminmax(ids)
    outside = low < 0 if size is None else (low < 0) | (high >= size)
    if bool(outside):  # one read of the device for both ends
        needs = f"0 to {size - 1}" if size is not None else "0 or more"
        raise AttributionInputError(
            f"{name} has token ids from {int(ids.min())} to {int(ids.max())}; the embedding takes ids "
            f"{needs} (does the tokenizer belong to this model?)"
        )


def _special_mask(encoding: Mapping[str, Any], ids: Tensor, tokenizer: Any) -> Tensor:
    """Special tokens: from the tokenizer's own mask when it gave one, else from its special ids; the
    unknown token is content in both (see `special_token_ids`), so a text explains the same as its ids."""
    given = encoding.get("special_tokens_mask")
    if given is not None:
        special = torch.as_tensor(given).to(ids.device).bool()
        unknown = content_unknown_id(tokenizer)
        return special if unknown is None else special & (ids != unknown)
    special_ids = special_token_ids(tokenizer)
    if not special_ids:
        return torch.zeros_like(ids, dtype=torch.bool)
    return torch.isin(ids, torch.as_tensor(sorted(special_ids), device=ids.device))


def special_token_ids(tokenizer: Any) -> set[int]:
    """The tokenizer's special ids that are structure rather than content ([CLS], [SEP], BOS, EOS,
    padding, [MASK]): all of `all_special_ids` but the unknown token. [UNK] stands for a word of the
    text the vocabulary lacks, so it is attributed like any word (a tokenizer's own special-tokens
    mask does not mark it either); where the unknown token is also another role's token (GPT-2's
    `<|endoftext|>` is its BOS, EOS and UNK), it stays special."""
    special = set(getattr(tokenizer, "all_special_ids", None) or [])
    unknown = content_unknown_id(tokenizer)
    return special - {unknown} if unknown is not None else special


STRUCTURAL_ROLES = ("bos", "eos", "sep", "pad", "cls", "mask")


def content_unknown_id(tokenizer: Any) -> int | None:
    """The unknown token's id when it is only that (no other special role's token), else None."""
    unknown = getattr(tokenizer, "unk_token_id", None)
    if not isinstance(unknown, int):
        return None
    if any(getattr(tokenizer, f"{role}_token_id", None) == unknown for role in STRUCTURAL_ROLES):
        return None
    return unknown


def _token_strings(ids: Tensor, tokenizer: Any) -> list[list[str]]:
    convert: Callable | None = getattr(tokenizer, "convert_ids_to_tokens", None)
    rows = ids.tolist()
    if convert is None:
        return [[str(i) for i in row] for row in rows]
    return [[str(token) for token in convert(row)] for row in rows]


def _spans(encoding: Mapping[str, Any], ids: Tensor) -> list[list[tuple[int, int]]] | None:
    offsets = encoding.get("offset_mapping")
    if offsets is None:
        return None
    values = torch.as_tensor(offsets).tolist()
    return [[(int(start), int(stop)) for start, stop in row] for row in values]


def _word_ids(encoding: Any, batch: int) -> list[list[int | None]] | None:
    word_ids = getattr(encoding, "word_ids", None)
    if word_ids is None:
        return None
    try:
        return [list(word_ids(row)) for row in range(batch)]
    except ValueError:  # a slow tokenizer's encoding has no word ids
        return None


def with_real_positions(batch: TokenBatch, model: Callable) -> TokenBatch:
    """The batch with position ids that number each row's real tokens from 0, when it is left-padded.

    A model numbers positions from the start of the sequence, so a row padded on the left (decoder-only
    tokenizers pad there for generation) would put its text at later positions than the text alone and
    explain another computation. Hugging Face's `generate` passes `attention_mask.cumsum(-1) - 1` as
    position ids then; so do we, for a model that generates (a Hugging Face model whose `can_generate()`
    says so: a causal language model) whose forward takes `position_ids`, when none were given. Not for
    other models: an encoder numbers its positions its own way (RoBERTa from its padding index, around
    its pads), and position ids from 0 would give it another function. Right-padded and unpadded
    batches are left as they are (the model's own numbering is right there).
    """
    mask = batch.attention_mask
    if mask is None or mask.shape[1] < 2 or "position_ids" in batch.extras:
        return batch
    if "position_ids" not in _parameters(model) or not _generates(model):
        return batch
    real = mask != 0
    if not bool((real[:, 1:] & ~real[:, :-1]).any()):  # no pad before a real token: not left-padded
        return batch
    positions = (real.long().cumsum(dim=1) - 1).clamp(min=0)
    return dataclasses.replace(batch, extras={**batch.extras, "position_ids": positions})


def _generates(model: Callable) -> bool:
    """Whether `model` is a Hugging Face model that generates text (`can_generate()`)."""
    can_generate = getattr(model, "can_generate", None)
    return callable(can_generate) and bool(can_generate())


def call_with_tokens(model: Callable, arguments: dict[str, Any]) -> Any:
    """Call the model the way its forward is written.

    Token ids go in as `input_ids=` when the forward has a parameter of that name (Hugging Face
    models), else positionally; the extras (attention mask, token type ids, ...) go in by name when
    the forward has a parameter of that name or takes **kwargs, and are left out otherwise.
    """
    parameters = _parameters(model)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    accepted = {
        name: value for name, value in arguments.items() if name != "input_ids" and (takes_any or name in parameters)
    }
    if "input_ids" in parameters:
        return model(input_ids=arguments["input_ids"], **accepted)
    return model(arguments["input_ids"], **accepted)


def _parameters(model: Callable) -> Mapping[str, inspect.Parameter]:
    function = getattr(model, "forward", model)
    try:
        return inspect.signature(function).parameters
    except (TypeError, ValueError):  # a builtin without a signature: ids only, positionally
        return {}
