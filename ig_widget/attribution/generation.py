"""Explaining what a causal language model writes: every generated token attributed to its context.

A causal LM's score at position t depends only on the tokens up to t. So one walk along the path in
embedding space, from the baseline's embeddings to the whole sequence's (prompt then generated tokens),
serves every generated token: each chunk of path points takes one forward pass over the whole sequence,
and each generated token (a row) takes one backward pass from its own score, the logit of token t + 1
read at position t. Row i is exactly what a separate Integrated Gradients call on the prefix that ends
before generated token i gives (tests/test_generation.py checks it against Captum), and is zero at and
after the token's own position.

Where the model is a Hugging Face causal LM, the walk reads only the logits the rows explain instead of
the whole vocabulary at every position (see `generation_head.py`): the output head is most of a small
model's work, and none of it is needed for one logit per row.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .errors import AttributionInputError
from .generation_head import HEAD_TOLERANCE, SelectiveHead, output_head
from .model_state import IsolatedModel, isolated_model, model_device
from .options import AUTO_MAX_STEPS, DEFAULT_TOL, PathOptions, Steps
from .orchestrate import integrate_path
from .progress import ProgressSpec
from .targets import output_tensor
from .text import find_embedding, substituting_forward
from .text_baselines import check_text_baseline, text_baseline
from .text_inputs import TokenBatch, call_with_tokens, check_vocabulary, special_token_ids, token_batch
from .text_result import TextAttribution
from .trace_reduce import embedding_trace_reducer
from .validation import check_model

TARGET_KINDS = ("logit", "log_probability", "contrast")
ATTRIBUTE_TO = ("context", "prompt")
NAMED_BASELINE_TOKENS = ("eos", "bos", "unk", "pad")
TOP_ALTERNATIVES = 5  # the most likely tokens kept per generated position (the view's alternatives)

REPLACEMENT = "\ufffd"  # what a decoder gives for the bytes of a character whose end it has not seen
UTF8_MOST_BYTES = 4  # a character's pieces are at most its UTF-8 bytes


@dataclass(frozen=True)
class Alternative:
    """One candidate next token at a generated position, from the model at the input."""

    token: int
    text: str
    probability: float
    logit: float


@dataclass(frozen=True)
class Generation:
    """A prompt and what followed it, ready to explain.

    token_ids [length]: prompt then generated tokens. tokens: each token as text (the tokenizer's
    decoding of that one id). generated: how many of the tokens were generated (the last ones).
    alternatives[i]: the model's most likely tokens at generated token i's position, generated token
    first when it is not among them. log_probabilities[i]: the model's log-probability of generated token i.
    """

    token_ids: Tensor
    tokens: list[str]
    generated: int
    alternatives: list[list[Alternative]]
    log_probabilities: list[float]
    special: list[bool]

    @property
    def prompt_length(self) -> int:
        return len(self.tokens) - self.generated

    def position(self, row: int) -> int:
        """Sequence index of generated token `row` (its score is read at the position before it)."""
        return self.prompt_length + row


@dataclass(frozen=True)
class GenerationAttribution:
    """Every explained generated token's attribution to the tokens before it.

    tokens: the context as strings (prompt tokens, then generated tokens). generated: how many of them
    were generated. rows[i]: the full result of explained row i (a `TextAttribution`: attributions per
    token and embedding dimension, score, baseline score, gap, relative gap, trace). row_indices[i]: which
    generated token rows[i] explains (all of them, in order, unless fewer were asked for). target: what
    each row's score is ("logit", "log_probability" or "contrast": the generated token's logit minus the
    alternative's); contrasts[i] the alternative token id of row i (None unless a contrast).
    """

    generation: Generation
    rows: list[TextAttribution]
    row_indices: list[int]
    target: str
    contrasts: list[int | None]
    baseline_name: str
    attribute_to: str

    @property
    def tokens(self) -> list[str]:
        return self.generation.tokens

    @property
    def generated(self) -> int:
        return self.generation.generated

    @property
    def token_ids(self) -> Tensor:
        return self.generation.token_ids

    @property
    def matrix(self) -> Tensor:
        """[rows, len(tokens)]: row i is the attribution of generated token row_indices[i] to every token,
        summed over the embedding dimension; zero at and after the token's own position."""
        return torch.stack([row.token_scores[0] for row in self.rows])

    @property
    def scores(self) -> Tensor:
        """F(x) of each row."""
        return torch.cat([row.score for row in self.rows])

    @property
    def gaps(self) -> Tensor:
        """Completeness gap of each row."""
        return torch.cat([row.gap for row in self.rows])

    @property
    def relative_gaps(self) -> Tensor:
        return torch.cat([row.relative_gap for row in self.rows])

    def word_groups(self) -> list[range]:
        """Consecutive tokens as words: a token that begins with whitespace, or a special token, starts one."""
        return word_groups(self.tokens, self.generation.special)

    def word_matrix(self) -> Tensor:
        """`matrix` with each word's tokens summed: [rows, words]."""
        groups = self.word_groups()
        matrix = self.matrix
        return torch.stack([matrix[:, group.start : group.stop].sum(dim=1) for group in groups], dim=1)


def word_groups(tokens: Sequence[str], special: Sequence[bool]) -> list[range]:
    """Token ranges of words: a token starting with whitespace (or after/at a special token) starts a word.
    An empty token is a piece of a character that a later token completes (`_token_texts`): it goes with
    that character, and the word starts (or not) at the character's first piece."""
    starts = []
    for i in range(len(tokens)):
        if i > 0 and tokens[i - 1] == "" and not special[i - 1] and not special[i]:
            continue  # inside one character's pieces
        whole = next((text for text in tokens[i:] if text != ""), "")  # the text this token begins
        if i == 0 or special[i] or special[i - 1] or whole[:1].isspace():
            starts.append(i)
    return [range(start, stop) for start, stop in zip(starts, starts[1:] + [len(tokens)])]


def explain_generation(
    model: Callable,
    tokenizer: Any,
    prompt: str | Tensor | Sequence[int],
    *,
    max_new_tokens: int = 16,
    continuation: str | Tensor | Sequence[int] | None = None,
    sample: bool = False,
    seed: int | None = None,
    temperature: float = 1.0,
    target: str = "logit",
    alternative: int | Sequence[int] | None = None,
    baseline: str | int | Tensor = "zero",
    attribute_to: str = "context",
    steps: Steps = 32,
    rule: str = "gausslegendre",
    batch_size: int | None = None,
    trace: bool = True,
    embedding: nn.Module | str | None = None,
    keep_special: bool = True,
    progress: ProgressSpec = None,
    tol: float = DEFAULT_TOL,
    max_steps: int = AUTO_MAX_STEPS,
) -> GenerationAttribution:
    """Generate (or take) a continuation of `prompt` and attribute every generated token to its context.

    Every parameter of the generation functions is described here once (`prepare_generation`,
    `attribute_generation` and `GenerationSettings` refer to this list).

    Parameters
    ----------
    model : a causal language model: a Hugging Face `AutoModelForCausalLM`, or any nn.Module with an
        embedding layer that returns next-token logits [batch, length, vocabulary] (as a tensor or `.logits`).
        Encoder-decoder models (T5, BART) are refused.
    tokenizer : the model's tokenizer (a pad token is not needed); None when `prompt` and `continuation`
        are token ids.
    prompt : a string, or token ids (a 1-D sequence or a LongTensor [1, length]).
    max_new_tokens : default 16. How many tokens to generate when no `continuation` is given; generation
        stops early after the tokenizer's end-of-sequence token.
    continuation : default None. A given answer (string or token ids), teacher forced instead of generated.
    sample : default False (greedy). Sample each token from softmax(logits / temperature) instead.
    seed : default None. Seeds the sampling (the same seed gives the same text); None draws a fresh seed.
        Either way the sampling has a generator of its own: the global torch RNG is left as it was.
    temperature : default 1.0. Only with `sample`; a number > 0.
    target : default "logit". Each row's score: the generated token's "logit", its "log_probability",
        or "contrast": its logit minus the logit of `alternative` ("why this token and not that one").
    alternative : default None. With target="contrast", a token id for every row, or one per generated token.
    baseline : default "zero" (the zero embedding). A token id, "eos", "bos", "unk" or "pad" (that token at
        every position), token ids [1, length], or embeddings [1, length, dim].
    attribute_to : default "context": every token before a generated token (prompt and earlier generated
        tokens) moves along the path. "prompt": only the prompt does; earlier generated tokens keep
        their embedding (as Captum's `LLMGradientAttribution` does) and get zero attribution.
    steps : default 32. Points on the path (an int >= 1), or "auto": refine until every row's relative
        completeness gap is at most `tol`, with at most `max_steps` points.
    rule : default "gausslegendre". The quadrature (`riemann_left`, `riemann_right`, `riemann_middle`,
        `riemann_trapezoid`, `gausslegendre`, `fejer`).
    batch_size : default None (from the walk's memory budget). Path points per forward pass over the
        whole sequence.
    trace : default True. Record each row's path trace (scores and gradients summed over the embedding
        dimension per point) for the alpha slider; False saves its memory and time.
    embedding : default None (found by itself). The module, or its dotted name, that turns token ids into
        vectors.
    keep_special : default True. Special tokens keep their own embedding in a token baseline.
    progress : default None. True for a progress bar, or a callable progress(done, total) called after
        each chunk of path points.
    tol : default 0.01. With steps="auto", the largest relative completeness gap accepted.
    max_steps : default 255. With steps="auto", the most path points tried.

    Returns
    -------
    GenerationAttribution: `.tokens`, `.generated`, `.matrix` [generated, len(tokens)], `.rows[i]`.
    """
    settings = GenerationSettings(
        target=target,
        alternative=alternative,
        baseline=baseline,
        attribute_to=attribute_to,
        steps=steps,
        rule=rule,
        batch_size=batch_size,
        trace=trace,
        embedding=embedding,
        keep_special=keep_special,
        progress=progress,
        tol=tol,
        max_steps=max_steps,
    )
    generation = prepare_generation(
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
    return _attribute(model, generation, None, tokenizer, settings)


@dataclass(frozen=True)
class GenerationSettings:
    """How a generation's rows are attributed, checked once when made, before any model call; the fields
    are `explain_generation`'s parameters of the same names. `path` is the walk's own settings
    (steps, rule, batch size, trace, progress, tol, max_steps) as one `PathOptions`."""

    target: str = "logit"
    alternative: int | Sequence[int] | None = None
    baseline: str | int | Tensor = "zero"
    attribute_to: str = "context"
    steps: Steps = 32
    rule: str = "gausslegendre"
    batch_size: int | None = None
    trace: bool = True
    embedding: nn.Module | str | None = None
    keep_special: bool = True
    progress: ProgressSpec = None
    tol: float = DEFAULT_TOL
    max_steps: int = AUTO_MAX_STEPS
    path: PathOptions = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_generation_arguments(
            target=self.target, alternative=self.alternative, attribute_to=self.attribute_to, baseline=self.baseline
        )
        options = PathOptions.checked(
            steps=self.steps,
            rule=self.rule,
            batch_size=self.batch_size,
            output="logit",
            reducer=embedding_trace_reducer("embedding") if self.trace else None,
            progress=self.progress,
            tol=self.tol,
            max_steps=self.max_steps,
            description="integrated gradients (generation)",
        )
        object.__setattr__(self, "path", options)


def check_generation_arguments(*, target: str, alternative: Any, attribute_to: str, baseline: Any) -> None:
    """What can be refused before the model is called (`explain_generation` describes the arguments)."""
    if target not in TARGET_KINDS:
        raise AttributionInputError(f"target={target!r} is unknown; use one of {', '.join(TARGET_KINDS)}")
    if target == "contrast" and alternative is None:
        raise AttributionInputError(
            "target='contrast' needs alternative= the token id to contrast with (one id, or one per generated token)"
        )
    if target != "contrast" and alternative is not None:
        raise AttributionInputError(
            f"alternative={alternative!r} is only used with target='contrast'; got target={target!r}"
        )
    if attribute_to not in ATTRIBUTE_TO:
        raise AttributionInputError(f"attribute_to={attribute_to!r} is unknown; use one of {', '.join(ATTRIBUTE_TO)}")
    if not (isinstance(baseline, str) and baseline in NAMED_BASELINE_TOKENS):
        check_text_baseline(baseline)


# -- the text ------------------------------------------------------------------------------------------
def prepare_generation(
    model: Callable,
    tokenizer: Any,
    prompt: str | Tensor | Sequence[int],
    *,
    max_new_tokens: int = 16,
    continuation: str | Tensor | Sequence[int] | None = None,
    sample: bool = False,
    seed: int | None = None,
    temperature: float = 1.0,
    embedding: nn.Module | str | None = None,
    top_k: int = TOP_ALTERNATIVES,
) -> Generation:
    """The prompt and its continuation (generated, or the one given), with the model's top alternatives
    at each generated position; see `explain_generation` for the parameters."""
    check_model(model)
    _check_causal(model)
    if continuation is None and (
        isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1
    ):
        raise AttributionInputError(f"max_new_tokens={max_new_tokens!r} must be an int >= 1")
    if not isinstance(temperature, (int, float)) or not temperature > 0:
        raise AttributionInputError(f"temperature={temperature!r} must be a number > 0")
    layer = find_embedding(model, embedding)
    vocabulary = layer.num_embeddings if isinstance(layer, nn.Embedding) else None
    device = model_device(model) or model_device(layer)
    ids = _ids(prompt, tokenizer, "prompt", special=True).to(device or "cpu")
    check_vocabulary(ids[None], vocabulary, "prompt")
    isolated = isolated_model(model)
    call = _caller(isolated, model)
    if continuation is not None:
        added = _ids(continuation, tokenizer, "continuation", special=False).to(ids.device)
        check_vocabulary(added[None], vocabulary, "continuation")
        full = torch.cat([ids, added])
    else:
        full = _generate(call, ids, max_new_tokens, sample, seed, temperature, _eos(tokenizer, model))
    generated = len(full) - len(ids)
    with torch.no_grad():
        logits = _logits(call(full[None]), len(full))[0]
    at = logits[len(ids) - 1 : len(full) - 1].float()  # [generated, vocabulary]: position before each token
    log_probabilities = at.log_softmax(dim=-1)
    chosen = full[len(ids) :]
    alternatives = [
        _alternatives(at[i], log_probabilities[i], int(chosen[i]), top_k, tokenizer) for i in range(generated)
    ]
    return Generation(
        token_ids=full.detach(),
        tokens=_token_texts(full.tolist(), tokenizer),
        generated=generated,
        alternatives=alternatives,
        log_probabilities=[float(log_probabilities[i, chosen[i]]) for i in range(generated)],
        special=_special(full, tokenizer),
    )


def _check_causal(model: Callable) -> None:
    config = getattr(model, "config", None)
    if getattr(config, "is_encoder_decoder", False):
        raise AttributionInputError(
            f"the model is an encoder-decoder ({type(model).__name__}); explain_generation supports decoder-only "
            "causal language models (GPT-2, Llama, ... or any module returning next-token logits [batch, length, "
            "vocabulary]). For an encoder-decoder, explain one target token at a time with "
            "text_integrated_gradients and a callable target"
        )


def _ids(value: Any, tokenizer: Any, name: str, special: bool) -> Tensor:
    if isinstance(value, str):
        if not value:
            raise AttributionInputError(f"{name} is an empty string; give at least one token's worth of text")
        if tokenizer is None:
            raise AttributionInputError(f"{name} is a string, so a tokenizer is needed; pass the model's tokenizer")
        ids = tokenizer(value, add_special_tokens=special)["input_ids"]
        tensor = torch.as_tensor(ids, dtype=torch.long)
    elif isinstance(value, Tensor):
        if value.dtype.is_floating_point or value.dtype == torch.bool:
            raise AttributionInputError(f"{name} has dtype {value.dtype}; token ids must be integers")
        if value.ndim == 2 and value.shape[0] == 1:
            value = value[0]
        if value.ndim != 1:
            raise AttributionInputError(
                f"{name} has shape {tuple(value.shape)}; give token ids [length] or [1, length]"
            )
        tensor = value.long()
    elif isinstance(value, Sequence) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        tensor = torch.as_tensor(list(value), dtype=torch.long)
    else:
        raise AttributionInputError(f"{name} is a {type(value).__name__}; give a string or token ids")
    if tensor.ndim != 1 or tensor.numel() == 0:
        raise AttributionInputError(f"{name} has no tokens; give at least one")
    return tensor


def _caller(isolated: IsolatedModel, model: Callable) -> Callable[[Tensor], Any]:
    """Call the twin on ids [batch, length], without a key-value cache where the model takes use_cache."""
    extras = {"use_cache": False} if _takes(model, "use_cache") else {}
    return lambda ids: call_with_tokens(isolated, {"input_ids": ids, **extras})


def _takes(model: Callable, name: str) -> bool:
    try:
        return name in inspect.signature(getattr(model, "forward", model)).parameters
    except (TypeError, ValueError):
        return False


def _logits(raw: Any, length: int) -> Tensor:
    logits = output_tensor(raw)
    if logits.ndim != 3 or logits.shape[1] != length:
        raise AttributionInputError(
            f"the model gave scores of shape {tuple(logits.shape)} for {length} tokens; explain_generation needs "
            "next-token logits [batch, length, vocabulary] from a causal language model"
        )
    return logits


def _generate(
    call: Callable, ids: Tensor, count: int, sample: bool, seed: int | None, temperature: float, eos: int | None
) -> Tensor:
    generator = None
    if sample:  # a generator of our own: the user's global torch RNG is neither drawn from nor reseeded
        generator = torch.Generator(device=ids.device)
        if seed is None:
            generator.seed()  # a fresh, non-deterministic seed for this generator alone
        else:
            generator.manual_seed(seed)
    sequence = ids
    with torch.no_grad():
        for _ in range(count):
            last = _logits(call(sequence[None]), len(sequence))[0, -1].float()
            if sample:
                token = torch.multinomial(torch.softmax(last / temperature, dim=-1), 1, generator=generator)
            else:
                token = last.argmax().view(1)
            sequence = torch.cat([sequence, token.to(sequence)])
            if eos is not None and int(token) == eos:
                break
    return sequence


def _eos(tokenizer: Any, model: Any) -> int | None:
    for source in (tokenizer, getattr(model, "config", None)):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            return value
    return None


def _alternatives(
    logits: Tensor, log_probabilities: Tensor, chosen: int, top_k: int, tokenizer: Any
) -> list[Alternative]:
    order = torch.topk(log_probabilities, min(top_k, len(log_probabilities))).indices.tolist()
    if chosen not in order:
        order.insert(0, chosen)
    return [
        Alternative(token, _text(tokenizer, token), float(log_probabilities[token].exp()), float(logits[token]))
        for token in order
    ]


def _text(tokenizer: Any, token: int) -> str:
    decode = getattr(tokenizer, "decode", None)
    return str(decode([token])) if callable(decode) else str(token)


def _token_texts(ids: list[int], tokenizer: Any) -> list[str]:
    """Each token as the text reads: what decoding it after its predecessor adds, so a word-level
    tokenizer's spaces between words stay (decoding one token alone drops them). A byte-level
    tokenizer's pieces of one character decode to U+FFFD until the last of them arrives: those pieces are
    empty and the piece that completes the character shows it, as a decoder streams text (each piece
    showed "�" or nothing, and the strip read "I love ���� caf��")."""
    decode = getattr(tokenizer, "decode", None)
    if not callable(decode):
        return [str(token) for token in ids]

    def added(start: int, stop: int) -> str:  # what tokens start..stop-1 add after the token before them
        context = ids[start - 1 : start]
        before = str(decode(context)) if context else ""
        both = str(decode(context + ids[start:stop]))
        return both[len(before) :] if both.startswith(before) else str(decode(ids[start:stop]))

    texts: list[str] = []
    start = 0
    while start < len(ids):
        stop = start + 1
        text = added(start, stop)
        while text.endswith(REPLACEMENT) and stop < min(len(ids), start + UTF8_MOST_BYTES):
            stop += 1  # the character may go on in the next piece
            text = added(start, stop)
        if REPLACEMENT in text and stop > start + 1:  # the pieces never made a character: each as it is
            stop = start + 1
            text = added(start, stop)
        texts += [""] * (stop - start - 1) + [text]
        start = stop
    return texts


def _special(ids: Tensor, tokenizer: Any) -> list[bool]:
    special = special_token_ids(tokenizer)
    return [int(token) in special for token in ids]


# -- the attributions ----------------------------------------------------------------------------------
def attribute_generation(
    model: Callable,
    generation: Generation,
    *,
    rows: Sequence[int] | None = None,
    tokenizer: Any = None,
    target: str = "logit",
    alternative: int | Sequence[int] | None = None,
    baseline: str | int | Tensor = "zero",
    attribute_to: str = "context",
    steps: Steps = 32,
    rule: str = "gausslegendre",
    batch_size: int | None = None,
    trace: bool = True,
    embedding: nn.Module | str | None = None,
    keep_special: bool = True,
    progress: ProgressSpec = None,
    tol: float = DEFAULT_TOL,
    max_steps: int = AUTO_MAX_STEPS,
) -> GenerationAttribution:
    """The rows of `generation` (from `prepare_generation`) in one shared walk.

    rows : default None (every generated token). The generated-token indices to explain, in the order
        wanted. Every other parameter is `explain_generation`'s of the same name.
    """
    settings = GenerationSettings(
        target=target,
        alternative=alternative,
        baseline=baseline,
        attribute_to=attribute_to,
        steps=steps,
        rule=rule,
        batch_size=batch_size,
        trace=trace,
        embedding=embedding,
        keep_special=keep_special,
        progress=progress,
        tol=tol,
        max_steps=max_steps,
    )
    check_model(model)
    return _attribute(model, generation, rows, tokenizer, settings)


def _attribute(
    model: Callable, generation: Generation, rows: Sequence[int] | None, tokenizer: Any, settings: GenerationSettings
) -> GenerationAttribution:
    """One walk along the path for the wanted rows: one forward pass per chunk of path points over the
    whole sequence, then one backward pass per row."""
    wanted = _rows(rows, generation.generated)
    contrast = settings.target == "contrast"
    contrasts = _contrasts(settings.alternative, generation.generated, wanted) if contrast else [None] * len(wanted)
    layer = find_embedding(model, settings.embedding)
    vocabulary = layer.num_embeddings if isinstance(layer, nn.Embedding) else None
    for token in contrasts:
        if token is not None and vocabulary is not None and not 0 <= token < vocabulary:
            raise AttributionInputError(
                f"alternative={token} is out of range; the embedding takes ids 0 to {vocabulary - 1}"
            )
    device = model_device(model) or model_device(layer)
    ids = generation.token_ids.to(device or generation.token_ids.device)
    extras = {"use_cache": False} if _takes(model, "use_cache") else {}
    batch = dataclasses.replace(token_batch(ids[None], tokenizer, ids.device), extras=extras)
    isolated = isolated_model(model)
    twin = isolated.twin(layer)
    with torch.no_grad():
        embedded = twin(batch.input_ids).detach()
    base, name = text_baseline(
        _baseline_spec(settings.baseline, tokenizer, model),
        batch,
        twin,
        embedded,
        tokenizer=tokenizer,
        model=model,
        keep_special=settings.keep_special,
        vocabulary=vocabulary,
    )
    if settings.attribute_to == "prompt":
        base = base.clone()
        base[:, generation.prompt_length :] = embedded[:, generation.prompt_length :]
    positions = torch.tensor([generation.position(row) - 1 for row in wanted], device=ids.device)
    tokens = ids[positions + 1]
    others = torch.tensor([c if c is not None else 0 for c in contrasts], device=ids.device)
    head = _selective_head(
        isolated,
        model,
        layer,
        batch,
        positions,
        tokens,
        others if contrast else None,
        settings.target == "log_probability",
    )
    current: dict[str, Any] = {}
    forward = substituting_forward(isolated, twin, batch, current)
    reader = _Reader(head is not None, positions, tokens, others, settings.target)
    targets = [reader.row(index) for index in range(len(wanted))]
    results = integrate_path(forward, embedded, base, targets, settings.path, baseline_label=name)
    attributions = []
    for row, result in zip(wanted, results):
        kept = torch.arange(len(ids), device=result.attributions.device) < generation.position(row)
        result = dataclasses.replace(result, attributions=result.attributions * kept[None, :, None])
        attributions.append(TextAttribution(result, result.attributions.sum(dim=-1), batch, "sum"))
    return GenerationAttribution(
        generation, attributions, wanted, settings.target, contrasts, name, settings.attribute_to
    )


def _rows(rows: Sequence[int] | None, generated: int) -> list[int]:
    if rows is None:
        return list(range(generated))
    wanted = list(rows)
    if not wanted or any(isinstance(r, bool) or not isinstance(r, int) or not 0 <= r < generated for r in wanted):
        raise AttributionInputError(f"rows={rows!r} must list generated-token indices in 0..{generated - 1}")
    return wanted


def _contrasts(alternative: int | Sequence[int], generated: int, wanted: list[int]) -> list[int]:
    if isinstance(alternative, int) and not isinstance(alternative, bool):
        return [alternative] * len(wanted)
    values = list(alternative)
    if len(values) != generated or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise AttributionInputError(
            f"alternative has {len(values)} entries; give one token id, or one per generated token ({generated})"
        )
    return [values[row] for row in wanted]


def _baseline_spec(baseline: Any, tokenizer: Any, model: Any) -> Any:
    """eos / bos (not among the text baselines) as their token ids; pad / unk as text.py names them."""
    if not (isinstance(baseline, str) and baseline in ("eos", "bos")):
        return baseline
    attribute = f"{baseline}_token_id"
    for source in (tokenizer, getattr(model, "config", None)):
        value = getattr(source, attribute, None)
        if isinstance(value, int):
            return value
    raise AttributionInputError(
        f"baseline={baseline!r} needs a {baseline} token, but neither the tokenizer nor the model config has one; "
        "pass a token id (baseline=<int>) or baseline='zero'"
    )


def _selective_head(
    isolated: IsolatedModel,
    model: Callable,
    layer: nn.Module,
    batch: TokenBatch,
    positions: Tensor,
    tokens: Tensor,
    others: Tensor | None,
    with_lse: bool,
) -> SelectiveHead | None:
    """Put a `SelectiveHead` in the twin where the model's head allows it and gives the same numbers at
    the input; None (the twin keeps the model's own head) otherwise."""
    if not isinstance(model, nn.Module):
        return None
    vocabulary = getattr(getattr(model, "config", None), "vocab_size", None)
    found = output_head(model, vocabulary) if isinstance(vocabulary, int) else None
    if found is None:
        return None
    parent, name, head = found
    twin_parent = isolated.twin(parent)
    selective = SelectiveHead(isolated.twin(head), positions, tokens, others, with_lse)
    twin_parent._modules[name] = selective
    arguments = batch.per_point(torch.zeros(1, dtype=torch.long, device=batch.input_ids.device))
    with torch.no_grad():
        full = output_tensor(call_with_tokens(isolated, arguments))
        selective.selective = True
        try:
            picked = output_tensor(call_with_tokens(isolated, arguments))
        except Exception:  # noqa: BLE001 - the model does more with its logits than read them: keep its head
            picked = None
    if picked is None or not _agrees(full, picked, positions, tokens, others, with_lse):
        twin_parent._modules[name] = isolated.twin(head)
        return None
    return selective


def _agrees(
    full: Tensor, picked: Tensor, positions: Tensor, tokens: Tensor, others: Tensor | None, with_lse: bool
) -> bool:
    if full.ndim != 3 or picked.shape != (full.shape[0], len(positions), 3):
        return False
    at = full[0, positions].float()
    expected = [at.gather(1, tokens[:, None])[:, 0]]
    expected.append(at.logsumexp(dim=-1) if with_lse else torch.zeros_like(expected[0]))
    expected.append(at.gather(1, others[:, None])[:, 0] if others is not None else torch.zeros_like(expected[0]))
    expected = torch.stack(expected, dim=-1)
    scale = expected.abs().max().clamp_min(1.0)
    return bool(((picked[0].float() - expected).abs() <= HEAD_TOLERANCE * scale).all())


class _Reader:
    """Turns the model's output into each row's score, from the selective head's columns or the full logits."""

    def __init__(self, selective: bool, positions: Tensor, tokens: Tensor, others: Tensor, target: str):
        self.selective, self.positions, self.tokens, self.others = selective, positions, tokens, others
        self.target = target

    def row(self, index: int) -> Callable[[Any], Tensor]:
        return lambda raw: self.score(output_tensor(raw), index)

    def score(self, output: Tensor, index: int) -> Tensor:
        if self.selective:
            columns = output[:, index]
            if self.target == "log_probability":
                return columns[:, 0] - columns[:, 1]
            if self.target == "contrast":
                return columns[:, 0] - columns[:, 2]
            return columns[:, 0]
        at = output[:, int(self.positions[index])]
        logit = at[:, int(self.tokens[index])]
        if self.target == "log_probability":
            return logit - at.logsumexp(dim=-1)
        if self.target == "contrast":
            return logit - at[:, int(self.others[index])]
        return logit
