"""GenerationExplainer: what a causal language model wrote, every generated token attributed to its
context, live in the notebook.

The text is generated (or taken) once, when the widget opens. A request is the row kind (logit or
log-probability), baseline, rule and steps: the selected row is computed first, on its own, and shown;
then every other row in one shared walk (see `attribution/generation.py`), shown as it lands. Clicking
an alternative at the selected position explains the contrast "generated token, not that one" for that
row alone. A newer request replaces an older one at the engine's next chunk.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import anywidget
import traitlets

from ..attribution import RULES
from ..attribution.errors import AttributionInputError
from ..attribution.generation import (
    TARGET_KINDS,
    Generation,
    GenerationAttribution,
    attribute_generation,
    check_generation_arguments,
    prepare_generation,
)
from ..attribution.validation import check_model
from ..schema import GRANULARITIES, SIGN_MODES, limits, palette
from ..schema import MATRIX_SCALES as SCALES
from .explainer import BUNDLE, Superseded
from .path_controls import PathControls
from .payload import completeness, floats, signed_maps

PROGRESS_UPDATES = 8  # path chunks per walk: enough for a moving progress bar
FIRST_ROW_SHARE = 0.25  # of the progress bar, for the selected row computed alone before the others
CACHE_SIZE = 8


class Request(NamedTuple):
    """Everything one shown explanation depends on that the view can change."""

    kind: str  # "logit" or "log_probability" for the matrix; "contrast" for one row
    baseline: str | int
    rule: str
    steps: int
    row: int | None = None  # contrast only: the generated token explained
    alternative: int | None = None  # contrast only: the token it is contrasted with


def generation_payload(
    generation: Generation,
    matrix: GenerationAttribution | None,
    contrast: GenerationAttribution | None,
    request: Request,
    computing: bool,
) -> dict:
    """The `result` trait of a GenerationExplainer: everything the view draws, hovers and selects from.

    kind: "generation". tokens [length] (text, each token's own decoding), special [length] (bool),
    prompt_length, generated (the last `generated` tokens were generated). words [[start, stop]] and
    word_texts: tokens grouped into words (a token starting with whitespace starts one).
    alternatives[i]: the model's top next tokens at generated token i's position, [{index (token id),
    label (text), probability, score (logit), kind: "probability", score_name: "logit"}] (the outputs
    list's row form), the generated token first when it is not among the top ones.
    chosen_tokens[i], chosen_log_probabilities[i]: generated token i's id, and the model's log-probability of it.
    matrix_kind: "logit" or "log_probability" (what each matrix row explains); rows: the generated
    token indices computed so far, in matrix row order (rows appear as they are computed; `complete`
    says whether all are); matrix: float32 [len(rows), length], exact; row_completeness[r]: completeness
    of matrix row r (F(x), F(x'), sum, gap, relative gap, diagnosis).
    alphas, weights: float32 [steps], the path points (at their true alpha). trace_scores: float32
    [len(rows), steps], each row's score along the path; trace_cumulative: [len(rows), steps, length]
    attributions accumulated up to each point (float32 while small, else int8 with a scale per row).
    contrast: null, or {row, alternative, alternative_label, attributions: float32 [length],
    completeness, trace_scores [steps], trace_cumulative [steps, length], alphas, weights}.
    baseline, rule, steps: the settings behind the matrix. target_kinds, scales, granularities: the
    choices the view offers (sent here, not written into the view). computing: more rows are on the way.
    """
    words = word_spans(generation)
    payload: dict[str, Any] = {
        "kind": "generation",
        "tokens": list(generation.tokens),
        "special": list(generation.special),
        "prompt_length": generation.prompt_length,
        "generated": generation.generated,
        "words": [[group.start, group.stop] for group in words],
        "word_texts": ["".join(generation.tokens[group.start : group.stop]) for group in words],
        "alternatives": [[_alternative_row(alt) for alt in alts] for alts in generation.alternatives],
        "chosen_tokens": generation.token_ids[generation.prompt_length :].tolist(),
        "chosen_log_probabilities": list(generation.log_probabilities),
        "matrix_kind": request.kind if request.kind != "contrast" else "logit",
        "baseline": request.baseline,
        "rule": request.rule,
        "steps": request.steps,
        "target_kinds": list(TARGET_KINDS),
        "scales": list(SCALES),
        "granularities": list(GRANULARITIES),
        "computing": computing,
        "rows": [],
        "complete": False,
        "contrast": None,
    }
    if matrix is not None:
        payload.update(_rows_payload(matrix))
        payload["complete"] = len(matrix.row_indices) == generation.generated
    if contrast is not None:
        row = contrast.rows[0]
        payload["contrast"] = {
            "row": contrast.row_indices[0],
            "alternative": contrast.contrasts[0],
            "alternative_label": _label_of(generation, contrast.row_indices[0], contrast.contrasts[0]),
            "attributions": floats(row.token_scores[0]),
            "completeness": completeness(row.result),
            "alphas": floats(row.trace.alphas),
            "weights": floats(row.trace.weights),
            "trace_scores": floats(row.trace.scores[:, 0]),
            "trace_cumulative": signed_maps(row.trace.cumulative[:, 0].float()),
        }
    return payload


def word_spans(generation: Generation) -> list[range]:
    from ..attribution.generation import word_groups

    return word_groups(generation.tokens, generation.special)


def _rows_payload(matrix: GenerationAttribution) -> dict:
    traces = [row.trace for row in matrix.rows]
    return {
        "rows": list(matrix.row_indices),
        "matrix": floats(matrix.matrix.float()),
        "row_completeness": [completeness(row.result) for row in matrix.rows],
        "alphas": floats(traces[0].alphas),
        "weights": floats(traces[0].weights),
        "trace_scores": floats(_stack([trace.scores[:, 0] for trace in traces])),
        "trace_cumulative": signed_maps(_stack([trace.cumulative[:, 0] for trace in traces])),
    }


def _stack(tensors: list) -> Any:
    import torch

    return torch.stack([t.detach().cpu().float() for t in tensors])


def _alternative_row(alternative: Any) -> dict:
    return {
        "index": alternative.token,
        "label": alternative.text,
        "probability": alternative.probability,
        "score": alternative.logit,
        "kind": "probability",
        "score_name": "logit",
    }


def _label_of(generation: Generation, row: int, token: int | None) -> str:
    for alternative in generation.alternatives[row]:
        if alternative.token == token:
            return alternative.text
    return str(token)


class GenerationExplainer(PathControls, anywidget.AnyWidget):
    """Explain what `model` writes after `prompt`: each generated token attributed to its context.

    `model` is a causal language model (a Hugging Face `AutoModelForCausalLM`, or any nn.Module with an
    embedding layer returning next-token logits); `tokenizer` its tokenizer (no pad token needed). The
    text is generated greedily (`max_new_tokens`), sampled (`sample=True, seed=`), or given
    (`continuation=`). `selected` is the generated token shown (0 = the first generated one);
    `target_kind` "logit", "log_probability" or "contrast" (with `alternative`, a token id: the
    selected token's logit minus the alternative's). `explanation` is the result behind the view.
    `wait()` blocks until every row is computed.
    """

    _esm = BUNDLE.read_text(encoding="utf-8")
    _view = traitlets.Unicode("generation").tag(sync=True)

    selected = traitlets.Int(0).tag(sync=True)  # generated-token index shown in the strip, badge and path
    target_kind = traitlets.Enum(TARGET_KINDS, "logit").tag(sync=True)
    alternative = traitlets.Int(None, allow_none=True).tag(sync=True)  # contrast token id
    baseline = traitlets.Any("zero").tag(sync=True)  # "zero", a named token ("eos", ...) or a token id
    rule = traitlets.Unicode("gausslegendre").tag(sync=True)
    steps = traitlets.Int(32).tag(sync=True)
    sign = traitlets.Enum(SIGN_MODES, "both").tag(sync=True)  # view only
    clip = traitlets.Float(99.0).tag(sync=True)  # view only: percentile of attribution mass at full colour
    granularity = traitlets.Enum(GRANULARITIES, "tokens").tag(sync=True)  # view only
    scale = traitlets.Enum(SCALES, "shared").tag(sync=True)  # view only: matrix colours across rows or per row

    choices = traitlets.Dict().tag(sync=True)  # {"baseline": [...], "rule": [...], "target_kind": [...]}
    limits = traitlets.Dict().tag(sync=True)  # {"steps": {"min", "max"}, "clip": {"min", "max"}}
    palette = traitlets.Dict().tag(sync=True)  # schema.palette(): the colours the view draws with
    result = traitlets.Dict().tag(sync=True)  # generation_payload(...)
    status = traitlets.Enum(("idle", "computing", "done", "error"), "idle").tag(sync=True)
    progress = traitlets.Float(0.0).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        model: Callable,
        tokenizer: Any,
        prompt: Any,
        *,
        max_new_tokens: int = 16,
        continuation: Any = None,
        sample: bool = False,
        seed: int | None = None,
        temperature: float = 1.0,
        target_kind: str = "logit",
        alternative: int | None = None,
        baseline: str | int = "zero",
        steps: int = 32,
        rule: str = "gausslegendre",
        embedding: Any = None,
        **kwargs: Any,
    ):
        check_model(model)
        check_generation_arguments(
            target=target_kind, alternative=alternative, attribute_to="context", baseline=baseline
        )
        self._model, self._tokenizer, self._embedding = model, tokenizer, embedding
        self._generation = prepare_generation(
            model,
            tokenizer,
            prompt,
            max_new_tokens=max_new_tokens,
            continuation=continuation,
            sample=sample,
            seed=seed,
            temperature=temperature,
            embedding=embedding,
        )
        if self._generation.generated == 0:
            raise AttributionInputError("the continuation has no tokens; give at least one to explain")
        self._lock = threading.Lock()
        self._compute_lock = threading.Lock()
        self._matrices: OrderedDict[Request, GenerationAttribution] = OrderedDict()
        self._contrasts: OrderedDict[Request, GenerationAttribution] = OrderedDict()
        self._partial: dict[Request, GenerationAttribution] = {}
        self._wanted: Request | None = None
        self._worker: threading.Thread | None = None
        self._started = False
        self.last_exception: BaseException | None = None
        super().__init__(
            choices={
                "baseline": self._baselines(),
                "rule": list(RULES),
                "target_kind": list(TARGET_KINDS),
                "sign": list(SIGN_MODES),
            },
            limits=limits(),
            palette=palette(),
            target_kind=target_kind,
            alternative=alternative,
            baseline=baseline,
            steps=steps,
            rule=rule,
            **kwargs,
        )
        self._started = True
        self.request()

    @property
    def generation(self) -> Generation:
        """The text explained: tokens, how many were generated, the top alternatives at each."""
        return self._generation

    def _baselines(self) -> list[str]:
        named = [
            name
            for name in ("eos", "bos", "unk", "pad")
            if isinstance(getattr(self._tokenizer, f"{name}_token_id", None), int)
        ]
        return ["zero", *named]

    # -- validation -------------------------------------------------------------------------------
    @traitlets.validate("selected")
    def _check_selected(self, proposal: dict) -> int:
        value, count = proposal["value"], self._generation.generated
        if not 0 <= value < count:
            raise traitlets.TraitError(f"selected={value!r} is not a generated token; use 0..{count - 1}")
        return value

    @traitlets.validate("baseline")
    def _check_baseline(self, proposal: dict) -> Any:
        value = proposal["value"]
        if value in self._baselines() or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            return value
        raise traitlets.TraitError(
            f"baseline={value!r} is not offered; use one of {', '.join(self._baselines())} or a token id"
        )

    # -- requests ---------------------------------------------------------------------------------
    @traitlets.observe("selected")
    def _on_selected(self, change: dict) -> None:
        if self.target_kind == "contrast":  # a contrast belongs to one position: another row shows its logit
            with self.hold_trait_notifications():
                self.alternative = None
                self.target_kind = "logit"

    @traitlets.observe("target_kind", "alternative", "baseline", "rule", "steps")
    def _on_request_change(self, change: dict) -> None:
        if self._started:
            self.request()

    def _current(self) -> Request:
        if self.target_kind == "contrast":
            return Request("contrast", self.baseline, self.rule, self.steps, self.selected, self.alternative)
        return Request(self.target_kind, self.baseline, self.rule, self.steps)

    def _matrix_request(self, request: Request) -> Request:
        """The matrix shown beside a request: its own, or for a contrast the logit matrix at its settings."""
        return (
            request if request.kind != "contrast" else Request("logit", request.baseline, request.rule, request.steps)
        )

    def request(self) -> None:
        """Show the current request: from the cache, or computed in the background (a newer one replaces it)."""
        request = self._current()
        if request.kind == "contrast" and request.alternative is None:
            return  # waits for the alternative
        with self._lock:
            self._wanted = request
            done = self._done(request)
            if not done:
                self.status, self.progress = "computing", 0.0
        self._publish()
        if done:
            return
        self._worker = threading.Thread(target=self._work, args=(request,), daemon=True)
        self._worker.start()

    def _done(self, request: Request) -> bool:
        matrix_done = self._matrix_request(request) in self._matrices
        return matrix_done and (request.kind != "contrast" or request in self._contrasts)

    def wait(self, timeout: float | None = 60.0) -> None:
        """Block until the newest request is computed (for scripts and tests; the view never waits)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            if worker.is_alive():
                raise TimeoutError(f"the attribution did not finish within {timeout} s")

    @property
    def explanation(self) -> GenerationAttribution | None:
        """The result behind the view: the contrast row when a contrast is shown, else the matrix (the rows
        computed so far); None before the first row."""
        request = self._current()
        if request.kind == "contrast":
            return self._contrasts.get(request)
        key = self._matrix_request(request)
        return self._matrices.get(key) or self._partial.get(key)

    def _work(self, request: Request) -> None:
        with self._compute_lock:
            if self._wanted != request:
                return
            try:
                if request.kind == "contrast" and request not in self._contrasts:
                    self._contrasts[request] = self._attribute(request, [request.row], 0.0, FIRST_ROW_SHARE)
                    self._trim(self._contrasts)
                    self._publish()
                self._compute_matrix(request)
            except Superseded:
                return
            except Exception as exc:  # shown in the view: the user's model can raise anything
                with self._lock:
                    if self._wanted == request:
                        self.last_exception = exc
                        self.error = f"{type(exc).__name__}: {exc}"
                        self.status = "error"
                return
        with self._lock:
            if self._wanted == request:
                self.progress, self.status, self.error = 1.0, "done", ""
        self._publish()

    def _compute_matrix(self, request: Request) -> None:
        """The selected row alone (shown at once), then every other row in one shared walk."""
        key = self._matrix_request(request)
        if key in self._matrices:
            return
        count = self._generation.generated
        first = self.selected if request.kind != "contrast" else request.row
        start = 0.0 if request.kind != "contrast" else FIRST_ROW_SHARE
        partial = self._partial.get(key)
        if partial is None:
            partial = self._attribute(key, [first], start, start + (1 - start) * FIRST_ROW_SHARE, request)
            self._partial[key] = partial
            self._publish()
        others = [row for row in range(count) if row not in partial.row_indices]
        if others:
            rest = self._attribute(key, others, start + (1 - start) * FIRST_ROW_SHARE, 1.0, request)
            by_row = dict(zip(partial.row_indices, partial.rows)) | dict(zip(rest.row_indices, rest.rows))
            partial = GenerationAttribution(
                self._generation,
                [by_row[row] for row in range(count)],
                list(range(count)),
                key.kind,
                [None] * count,
                partial.baseline_name,
                partial.attribute_to,
            )
        self._matrices[key] = partial
        self._partial.pop(key, None)
        self._trim(self._matrices)

    def _attribute(
        self, key: Request, rows: list[int], low: float, high: float, wanted: Request | None = None
    ) -> GenerationAttribution:
        wanted = wanted or key

        def progress(done: int, total: int) -> None:
            if self._wanted != wanted:
                raise Superseded()
            self.progress = low + (high - low) * done / max(1, total)

        return attribute_generation(
            self._model,
            self._generation,
            rows=rows,
            tokenizer=self._tokenizer,
            target=key.kind,
            alternative=key.alternative,
            baseline=key.baseline,
            steps=key.steps,
            rule=key.rule,
            batch_size=math.ceil(key.steps / PROGRESS_UPDATES),
            embedding=self._embedding,
            progress=progress,
        )

    def _trim(self, cache: OrderedDict) -> None:
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)

    def _publish(self) -> None:
        """Send what is known for the current request (rows computed so far, the contrast when ready)."""
        request = self._current()
        key = self._matrix_request(request)
        matrix = self._matrices.get(key) or self._partial.get(key)
        contrast = self._contrasts.get(request) if request.kind == "contrast" else None
        computing = not self._done(request)
        self.result = generation_payload(self._generation, matrix, contrast, request, computing)
