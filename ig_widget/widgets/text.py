"""TextExplainer: token attributions for a text classifier, a sentence-similarity model or a causal
language model, live in the notebook."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import traitlets
from torch import Tensor

from ..attribution.class_scores import check_output_on_scores, class_probabilities, score_name
from ..attribution.errors import AttributionInputError
from ..attribution.model_state import isolated_model, model_device
from ..attribution.targets import output_tensor
from ..attribution.text import find_embedding, text_integrated_gradients_multi
from ..attribution.text_baselines import TEXT_BASELINES, available_text_baselines
from ..attribution.text_inputs import call_with_tokens, check_vocabulary, token_batch
from ..attribution.text_result import TextAttribution
from ..attribution.text_targets import NextToken, token_positions
from ..schema import GRANULARITIES
from .explainer import ExplainerWidget, Request, check_explainer_arguments, index_of_label
from .model_watch import no_longer_fits
from .outputs import check_top_k, output_rows, resolve_score_kind
from .payload import completeness, floats, trace_payload
from .token_labels import TokenLabels

PROGRESS_UPDATES = 8  # path chunks per computation: enough for a moving progress bar


class TextExplainer(ExplainerWidget):
    """Explain which tokens of `text` made `model` give its output.

    `model` is a sequence classifier (class scores [1, classes], e.g. a Hugging Face
    `...ForSequenceClassification` or `ig_widget.text_examples.SentenceSimilarity`, whose classes
    are queries) or a causal language model (next-token logits [1, length, vocabulary]): then the
    outputs are the most likely next tokens after `position` and a target is a token id, or the token
    as the outputs list shows it (' jumps') or as the tokenizer spells it ('Ġjumps').
    `labels` names the classes. `score_kind`: "probability" lists the outputs as softmax percentages
    (class logits; next tokens always have probabilities), "score" as raw values; by default the
    model's own `score_kind` attribute (`SentenceSimilarity` lists cosine similarities as they are),
    else "score" for a single output and "probability" for several. `baseline`: one of the names this
    tokenizer can make ("pad", "mask", "unk" where it has that token, and "zero"; the menu offers
    these), by default the first of them ("pad" where there is a pad token). Changing `target`,
    `baseline`, `rule` or `steps` recomputes in the background; `wait()` blocks until the newest
    result is ready.
    """

    baseline_names = TEXT_BASELINES
    index_word = "an index"  # a class, or for a language model a token id
    granularity = traitlets.Enum(GRANULARITIES, "tokens").tag(sync=True)  # view only: subwords or words

    def __init__(
        self,
        model: Callable,
        tokenizer: Any,
        text: str,
        labels: Sequence[str] | None = None,
        *,
        target: int | str | None = None,
        baseline: str | None = None,
        steps: int = 50,
        rule: str = "gausslegendre",
        output: str = "logit",
        top_k: int = 5,
        position: int = -1,
        embedding: Any = None,
        score_kind: str | None = None,
        **kwargs: Any,
    ):
        check_explainer_arguments(model, output, score_kind)
        check_top_k(top_k)
        if not isinstance(text, str) or not text.strip():
            raise AttributionInputError(f"text must be a non-empty string; got {text!r}")
        self._model, self._tokenizer = model, tokenizer
        self._output, self._top_k, self._embedding = output, top_k, embedding
        self._tokens = token_batch(text, tokenizer, model_device(model))
        layer = find_embedding(model, embedding)  # before any model call: a missing or wrong one is named
        # the menu offers only the baselines this tokenizer can make (GPT-2's has no pad or mask token)
        self.baseline_names = available_text_baselines(tokenizer, model, getattr(layer, "padding_idx", None))
        vocabulary = getattr(layer, "num_embeddings", None)
        check_vocabulary(self._tokens.input_ids, vocabulary if isinstance(vocabulary, int) else None, "text")
        self._position = position
        self._scores, self._next_token = self._predict()
        if not self._next_token:
            check_output_on_scores(output, self._scores)
        self._labels = self._output_labels(labels)
        self._token_labels = TokenLabels(tokenizer, self._labels) if self._next_token else None
        next_token_default = "probability" if self._next_token and score_kind is None else score_kind
        self._score_kind = resolve_score_kind(next_token_default, model, len(self._scores))
        top = int(self._scores.argmax())
        target = self._index_of_label(target) if isinstance(target, str) else target
        super().__init__(
            _view="text",
            target=top if target is None else target,
            baseline=self.baseline_names[0] if baseline is None else baseline,
            steps=steps,
            rule=rule,
            **kwargs,
        )
        self.choices = {**self.choices, "granularity": list(GRANULARITIES)}
        self.outputs = self._top_outputs()
        self._start()

    # -- what the model says about the text ---------------------------------------------------
    def _predict(self) -> tuple[Tensor, bool]:
        """Scores of every output at the text: class scores, or next-token logits after `position`."""
        with torch.no_grad():
            raw = call_with_tokens(
                isolated_model(self._model), self._tokens.per_point(torch.zeros(1, dtype=torch.long))
            )
        try:
            scores = output_tensor(raw)
        except AttributionInputError:
            raise AttributionInputError(
                f"the model returned a {type(raw).__name__} without scores; TextExplainer needs class scores "
                "[1, classes] or next-token logits (for a sentence encoder, explain similarities with "
                "ig_widget.text_examples.SentenceSimilarity(encoder, tokenizer, queries))"
            ) from None
        if scores.ndim == 2 and scores.shape[0] == 1:
            return scores[0].detach().cpu().float(), False
        if scores.ndim == 3 and scores.shape[0] == 1:
            index = token_positions(self._position, scores.shape[1], self._tokens.attention_mask, 1)[0]
            return scores[0, index].detach().cpu().float().log_softmax(dim=0), True
        raise AttributionInputError(
            f"the model gave scores of shape {tuple(scores.shape)}; TextExplainer needs class scores [1, classes] "
            "or next-token logits [1, length, vocabulary] (for a sentence encoder, wrap it: "
            "ig_widget.text_examples.SentenceSimilarity)"
        )

    def _output_labels(self, labels: Sequence[str] | None) -> list[str]:
        count = len(self._scores)
        if self._next_token:
            if labels is not None:
                raise AttributionInputError(
                    "labels are for classifiers; a language model's outputs are named by its tokenizer"
                )
            return [str(token) for token in self._tokenizer.convert_ids_to_tokens(list(range(count)))]
        if labels is None:
            return [str(i) for i in range(count)]
        names = [str(label) for label in labels]
        if len(names) != count:
            raise AttributionInputError(
                f"labels has {len(names)} names but the model gives {count} class scores; give one per class"
            )
        return names

    def _label_names(self) -> list[str]:
        return self._labels

    @traitlets.validate("baseline")
    def _check_baseline(self, proposal: dict) -> str:
        value = proposal["value"]
        if value in TEXT_BASELINES and value not in self.baseline_names:
            raise traitlets.TraitError(
                f"baseline={value!r} needs a {value} token, which this tokenizer lacks; use one of "
                f"{', '.join(self.baseline_names)}"
            )
        return super()._check_baseline(proposal)

    @traitlets.observe("target")
    def _on_target(self, change: dict) -> None:
        self.outputs = self._top_outputs()

    def _model_changed(self) -> None:
        scores, next_token = self._predict()
        if (len(scores), next_token) != (len(self._scores), self._next_token):
            raise no_longer_fits(len(scores), len(self._scores), "scores")
        self._scores = scores
        self.outputs = self._top_outputs()

    def _top_outputs(self) -> list[dict]:
        name = "log-probability" if self._next_token else score_name(self._scores)
        return output_rows(
            self._scores,
            class_probabilities(self._scores, name=name),
            self._score_kind,
            self._top_k,
            self.target,
            self._label,
            score_name=name,
        )

    def _label(self, index: int) -> str:
        if self._token_labels is not None:  # as the token decodes; a piece of a character by its own form
            return self._token_labels.label(index)
        return self._labels[index]

    def _index_of_label(self, label: str) -> int:
        """The output a target given as text names: a class label, or for a language model a next token as
        the outputs list shows it (' jumps') or as the tokenizer spells it ('Ġjumps')."""
        if self._token_labels is None:
            return index_of_label(label, self._labels, self.index_word)
        listed = [
            self._label(index) for index in self._scores.topk(min(self._top_k, len(self._scores))).indices.tolist()
        ]
        return self._token_labels.index_of(label, listed)

    @traitlets.validate("target")
    def _check_target(self, proposal: dict) -> int:
        if isinstance(proposal["value"], str) and self._token_labels is not None:
            try:
                return self._index_of_label(proposal["value"])
            except AttributionInputError as exc:
                raise traitlets.TraitError(str(exc)) from None
        return super()._check_target(proposal)

    # -- computing and encoding ---------------------------------------------------------------------
    def _compute(self, request: Request, progress: Callable[[int, int], None]) -> tuple[TextAttribution, dict]:
        return self._compute_many([request], progress)[0]

    def _compute_many(
        self, requests: list[Request], progress: Callable[[int, int], None]
    ) -> list[tuple[TextAttribution, dict]]:
        first = requests[0]
        results = text_integrated_gradients_multi(
            self._model,
            self._tokens,
            targets=[self._engine_target(request.target) for request in requests],
            baseline=first.baseline,
            steps=first.steps,
            rule=first.rule,
            batch_size=math.ceil(first.steps / PROGRESS_UPDATES),
            tokenizer=self._tokenizer,
            embedding=self._embedding,
            output=self._output,  # a next token's log-probability, or with "probability" its probability
            progress=progress,
        )
        return [(result, self._encode(result, request)) for result, request in zip(results, requests)]

    def _explained_position(self) -> int:
        """The index of the token after which a language model's next token is explained."""
        ids = self._tokens.input_ids
        return int(token_positions(self._position, ids.shape[1], self._tokens.attention_mask, 1)[0])

    def _explained_output(self) -> str:
        """What the explained score is: a next token's log-probability (its probability with
        output="probability"), or the classifier's `output`."""
        if self._next_token and self._output != "probability":
            return "log_probability"
        return self._output

    def _engine_target(self, index: int) -> int | NextToken:
        return NextToken(index, self._position) if self._next_token else index

    def _encode(self, result: TextAttribution, request: Request) -> dict:
        words = result.words()
        return {
            "kind": "text",
            "target": request.target,
            "target_label": self._label(request.target),
            "task": "next_token" if self._next_token else "classifier",
            "position": self._explained_position() if self._next_token else None,  # token index the LM predicts after
            "baseline": request.baseline,
            "rule": request.rule,
            "steps": request.steps,
            "output": self._explained_output(),
            "tokens": result.token_strings(),
            "special": [bool(s) for s in result.tokens.special[0].tolist()],
            "space_before": space_before(result),
            "words": [[word.tokens.start, word.tokens.stop] for word in words],
            "word_texts": [word.text for word in words],
            "attributions": floats(result.token_scores[0]),
            "completeness": completeness(result.result),
            "trace": trace_payload(result.trace),
        }


def space_before(result: TextAttribution, row: int = 0) -> list[bool]:
    """Whether the original text has whitespace right before each token (so the view can lay the
    tokens out as the text reads); special tokens stand apart."""
    batch = result.tokens
    count = batch.input_ids.shape[1]
    if batch.texts is None or batch.spans is None:
        return [index > 0 for index in range(count)]
    text, spans, special = batch.texts[row], batch.spans[row], batch.special[row].tolist()
    flags, previous_end = [], None
    for index, (start, stop) in enumerate(spans):
        if special[index] or start == stop:
            flags.append(index > 0)
            continue
        follows_text = previous_end is not None and not special[index - 1]
        flags.append(index > 0 and (not follows_text or text[previous_end:start] != ""))
        previous_end = stop
    return flags
