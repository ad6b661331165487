"""Targets that need to see the model's inputs beside its output (masks, positions).

A callable text target is `target(output)` or `target(output, inputs)`, where `inputs` holds the
model arguments of the same path points (input_ids, attention_mask, ...), e.g. to mean-pool a
sentence embedding over the real tokens only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .errors import AttributionInputError
from .targets import output_tensor


@dataclass(frozen=True)
class NextToken:
    """Log-probability that a causal language model gives `token` right after sequence position
    `position`: the logits at `position` predict the token that follows it. Positions count each row's
    real tokens only (the ones of the attention mask), whichever side the padding is on: 0 is the
    first real token, and a negative position counts back from the last one, so -1 is the next token
    after the text. Only tokens up to `position` can receive attribution.

    The attribution functions' `output="probability"` explains the token's probability instead;
    `output="logit"` (the default) and `"log_probability"` both explain its log-probability, the score
    NextToken defines (a next-token logit alone has no fixed scale across contexts)."""

    token: int
    position: int = -1

    def __post_init__(self) -> None:
        if isinstance(self.token, bool) or not isinstance(self.token, int) or self.token < 0:
            raise AttributionInputError(f"NextToken token must be a token id (an int >= 0); got {self.token!r}")
        if isinstance(self.position, bool) or not isinstance(self.position, int):
            raise AttributionInputError(f"NextToken position must be an int; got {self.position!r}")

    def __call__(self, output: Any, inputs: dict[str, Any]) -> Tensor:
        logits = output_tensor(output)
        if logits.ndim != 3:
            raise AttributionInputError(
                f"NextToken needs next-token logits [batch, length, vocabulary]; the model gave {tuple(logits.shape)}"
            )
        if self.token >= logits.shape[-1]:
            raise AttributionInputError(
                f"NextToken token={self.token} is out of range; the vocabulary has {logits.shape[-1]} tokens"
            )
        positions = token_positions(self.position, logits.shape[1], inputs.get("attention_mask"), logits.shape[0])
        picked = logits[torch.arange(logits.shape[0], device=logits.device), positions.to(logits.device)]
        return picked.log_softmax(dim=-1)[:, self.token]


def scored_under(target: Any, output: str) -> Any:
    """`target` as the path engine should call it under `output`: a NextToken gives its probability for
    output="probability" and its log-probability otherwise; any other target is returned unchanged."""
    if isinstance(target, NextToken) and output == "probability":
        return _Probability(target)
    return target


@dataclass(frozen=True)
class _Probability:
    """A NextToken's probability: the exp of its log-probability (the token's softmax entry)."""

    next_token: NextToken

    def __call__(self, output: Any, inputs: dict[str, Any]) -> Tensor:
        return self.next_token(output, inputs).exp()


def token_positions(position: int, length: int, attention_mask: Tensor | None, rows: int) -> Tensor:
    """One sequence index per row: the row's real token number `position` (counted back from its last
    real token when negative).

    Real tokens are the ones of the attention mask, so a left-padded row (decoder-only tokenizers pad
    there for generation) reads the same token as a right-padded one or the text alone; without a mask
    every token is real. A row without that many real tokens is refused, as reading a pad position
    would explain a score the text never produced.
    """
    if not -length <= position < length:
        raise AttributionInputError(f"position={position} is outside a sequence of {length} tokens")
    if attention_mask is None:
        return torch.full((rows,), position % length, dtype=torch.long)
    real_mask = attention_mask.detach().cpu() != 0
    counted = real_mask.long().cumsum(dim=1)  # at each real token: its number, from 1
    real = counted[:, -1]
    wanted = real + position if position < 0 else torch.full_like(real, position)
    missing = (wanted < 0) | (wanted >= real)
    if missing.any():
        row = int(missing.nonzero()[0, 0])
        where = "before the first" if position < 0 else "after the last"
        raise AttributionInputError(
            f"position={position} is {where} real token of row {row}, which has {int(real[row])} "
            f"(attention mask ones); give a position within every row's real tokens"
        )
    hit = real_mask & (counted == (wanted + 1).unsqueeze(1))
    return hit.long().argmax(dim=1)


def with_inputs(target: Callable, current: dict[str, Any]) -> Callable[[Any], Tensor]:
    """A one-argument target for the path engine; two-argument targets also get the current inputs."""
    if _positional_count(target) >= 2:
        return lambda output: target(output, current["inputs"])
    return target


def _positional_count(function: Callable) -> int:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)
