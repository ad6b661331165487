"""The result of a text attribution: IG in embedding space, per-token scores, and the tokens to show."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .result import AttributionResult, PathTrace
from .text_inputs import TokenBatch


@dataclass(frozen=True)
class Word:
    """Consecutive tokens shown as one word; `score` is the sum of their token scores."""

    text: str
    score: float
    tokens: range  # token positions in the row
    special: bool = False


@dataclass(frozen=True)
class TextAttribution:
    """Attributions for token sequences.

    `result` is the engine's result in embedding space (attributions [batch, length, dim], the
    baseline embeddings, scores, gap and the trace with its maps summed over the embedding dimension).
    `token_scores` [batch, length] is the sum over the embedding dimension (signed; sums to the
    score change) or its L2 norm, as `token_reduce` says.
    """

    result: AttributionResult
    token_scores: Tensor
    tokens: TokenBatch
    token_reduce: str = "sum"

    @property
    def input_ids(self) -> Tensor:
        return self.tokens.input_ids

    @property
    def score(self) -> Tensor:
        return self.result.score

    @property
    def baseline_score(self) -> Tensor | None:
        return self.result.baseline_score

    @property
    def target(self) -> Tensor | None:
        return self.result.target

    @property
    def gap(self) -> Tensor | None:
        return self.result.gap

    @property
    def relative_gap(self) -> Tensor | None:
        return self.result.relative_gap

    @property
    def gap_rounding(self) -> Tensor | None:
        return self.result.gap_rounding

    @property
    def gap_within_rounding(self) -> Tensor | None:
        return self.result.gap_within_rounding

    @property
    def trace(self) -> PathTrace | None:
        return self.result.trace

    def token_strings(self, row: int = 0) -> list[str]:
        """What each token looks like: its span of the original text, or the tokenizer's string for
        special tokens and when no text or offsets are known.

        A byte-level tokenizer splits one character into several tokens (an emoji into four), each with
        the whole character's span: the text is shown once, by the last of them (the one that completes
        the character, as a decoder streams it), and the others are empty strings, so the strip reads
        "😀" and not "😀😀😀😀" while each piece keeps its own score."""
        batch = self.tokens
        tokens = batch.tokens[row]
        if batch.texts is None or batch.spans is None:
            return list(tokens)
        text, spans, special = batch.texts[row], batch.spans[row], batch.special[row].tolist()
        strings = []
        for i, (token, (start, stop)) in enumerate(zip(tokens, spans)):
            if special[i] or start == stop:
                strings.append(token)
            elif i + 1 < len(spans) and not special[i + 1] and tuple(spans[i + 1]) == (start, stop):
                strings.append("")  # a piece of a character that the next token goes on with
            else:
                strings.append(text[start:stop])
        return strings

    def words(self, row: int = 0) -> list[Word]:
        """Tokens merged into words (scores summed), using the tokenizer's word ids, else its offsets
        (a token that starts where the previous one stopped continues that word). Without either, one
        word per token."""
        groups = self._word_groups(row)
        scores = self.token_scores[row].tolist()
        strings = self.token_strings(row)
        special = self.tokens.special[row].tolist()
        words = []
        for group in groups:
            text = self._group_text(row, group, strings)
            words.append(Word(text, sum(scores[i] for i in group), group, special[group.start]))
        return words

    def _word_groups(self, row: int) -> list[range]:
        batch = self.tokens
        length = batch.input_ids.shape[1]
        special = batch.special[row].tolist()
        if batch.word_ids is not None:
            keys = batch.word_ids[row]
            joins = [i > 0 and keys[i] is not None and keys[i] == keys[i - 1] for i in range(length)]
        elif batch.spans is not None:
            spans = batch.spans[row]
            joins = [
                i > 0
                and not special[i]
                and not special[i - 1]
                and spans[i][0] < spans[i][1]
                and spans[i][0] == spans[i - 1][1]
                for i in range(length)
            ]
        else:
            joins = [False] * length
        starts = [i for i in range(length) if not joins[i]]
        return [range(start, stop) for start, stop in zip(starts, starts[1:] + [length])]

    def _group_text(self, row: int, group: range, strings: list[str]) -> str:
        batch = self.tokens
        if batch.texts is not None and batch.spans is not None and not batch.special[row, group.start]:
            spans = batch.spans[row]
            return batch.texts[row][spans[group.start][0] : spans[group.stop - 1][1]]
        return "".join(strings[i] for i in group)
