"""Names of a language model's next tokens, as the text view shows them and as a target may give them.

The view shows a token as it decodes (' jumps'), the tokenizer spells it its own way ('Ġjumps'); a
target given as text may be either. A byte-level tokenizer's pieces of one character each decode to
U+FFFD alone, so those are shown by their own form, which tells them apart.
"""

from __future__ import annotations

from typing import Any

from ..attribution.errors import AttributionInputError
from ..attribution.generation import REPLACEMENT


def token_label(tokenizer: Any, index: int, own_form: str) -> str:
    """What the view shows for token `index`: its decoded text, or `own_form` (the tokenizer's spelling)
    where decoding gives U+FFFD (a piece of a character) or fails."""
    try:
        text = str(tokenizer.decode([index]))
    except Exception:  # an id past the tokenizer's vocabulary (a model with a padded embedding table)
        return own_form
    return own_form if REPLACEMENT in text else text


class TokenLabels:
    """Finds the token a target names: by the tokenizer's own spelling (unique), else by the label the
    view shows when exactly one token shows it. The shown labels are decoded once, when first needed."""

    def __init__(self, tokenizer: Any, own_forms: list[str]):
        self._tokenizer = tokenizer
        self._own = {form: index for index, form in reversed(list(enumerate(own_forms)))}
        self._own_forms = own_forms
        self._shown: dict[str, list[int]] | None = None

    def label(self, index: int) -> str:
        return token_label(self._tokenizer, index, self._own_forms[index])

    def index_of(self, name: str, listed: list[str]) -> int:
        """The token `name` names; an error that shows `listed` (the outputs the view lists) otherwise."""
        if name in self._own:
            return self._own[name]
        found = self._shown_labels().get(name, [])
        if len(found) == 1:
            return found[0]
        if found:
            forms = ", ".join(repr(self._own_forms[index]) for index in found[:5])
            raise AttributionInputError(
                f"target={name!r} is shown by {len(found)} tokens (ids {', '.join(map(str, found[:5]))}); "
                f"give one of their token ids or tokenizer forms ({forms})"
            )
        raise AttributionInputError(
            f"target={name!r} is neither a token as the outputs list shows it ({', '.join(map(repr, listed))}, "
            "...) nor one as the tokenizer spells it; give one of those, or a token id"
        )

    def _shown_labels(self) -> dict[str, list[int]]:
        if self._shown is None:
            shown: dict[str, list[int]] = {}
            for index in range(len(self._own_forms)):
                shown.setdefault(self.label(index), []).append(index)
            self._shown = shown
        return self._shown
