"""explain_generation: every generated token attributed to its context in one shared walk.

Each row is checked against an independent computation (Captum's IntegratedGradients over inputs_embeds
per prefix, Captum's LLMGradientAttribution, our own single-target text IG per prefix), the shared walk
against the model's own logits head, and the matrix's meaning against a model trained to copy.
"""

import pytest
import torch

import ig_widget as igw
from ig_widget.attribution.errors import AttributionInputError
from ig_widget.attribution.generation import attribute_generation, prepare_generation

transformers = pytest.importorskip("transformers")
pytest.importorskip("tokenizers")
from ig_widget.generation_examples import byte_level_tokenizer, copy_prompt, copy_task_model, random_gpt2  # noqa: E402

PROMPT = "The quick brown fox jumps"


@pytest.fixture(scope="module")
def gpt2():
    tokenizer = byte_level_tokenizer()
    return random_gpt2(len(tokenizer), layers=2, hidden=32, heads=2, seed=1), tokenizer


def _relative(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def test_contract_shapes_and_zero_at_and_after_each_generated_token(gpt2):
    model, tokenizer = gpt2
    gen = igw.explain_generation(model, tokenizer, PROMPT, max_new_tokens=5, baseline="zero", steps=8)
    prompt_length = len(tokenizer(PROMPT)["input_ids"])
    assert gen.generated == 5 and len(gen.tokens) == prompt_length + 5
    assert gen.matrix.shape == (5, len(gen.tokens)) and len(gen.rows) == 5
    for i in range(5):
        assert torch.equal(gen.matrix[i, prompt_length + i :], torch.zeros(len(gen.tokens) - prompt_length - i))
        assert gen.matrix[i, : prompt_length + i].abs().sum() > 0
        row = gen.rows[i]
        assert row.trace is not None and row.gap is not None and row.relative_gap is not None
        assert torch.allclose(row.token_scores[0], gen.matrix[i])
    # the generated tokens are greedy: each is the model's top next token
    ids = gen.token_ids[None]
    logits = model(input_ids=ids).logits[0]
    assert torch.equal(logits[prompt_length - 1 : -1].argmax(dim=-1), gen.token_ids[prompt_length:])
    assert gen.tokens[:prompt_length] == [tokenizer.decode([t]) for t in ids[0, :prompt_length].tolist()]


def test_each_row_equals_captum_integrated_gradients_over_inputs_embeds(gpt2):
    """The contract: with baseline="zero", row i is Captum's IG over inputs_embeds (zero baseline, the
    same steps and rule) of generated token i's logit given everything before it, summed over dims."""
    captum_attr = pytest.importorskip("captum.attr")
    model, tokenizer = gpt2
    steps, rule = 16, "gausslegendre"
    gen = igw.explain_generation(model, tokenizer, PROMPT, max_new_tokens=4, baseline="zero", steps=steps, rule=rule)
    start = len(gen.tokens) - gen.generated
    for i in range(gen.generated):
        prefix = gen.token_ids[: start + i][None]
        token = int(gen.token_ids[start + i])
        embeds = model.get_input_embeddings()(prefix).detach()

        def forward(inputs_embeds, token=token):
            return model(inputs_embeds=inputs_embeds).logits[:, -1, token]

        theirs = (
            captum_attr.IntegratedGradients(forward)
            .attribute(embeds, baselines=torch.zeros_like(embeds), n_steps=steps, method=rule)
            .sum(dim=-1)[0]
        )
        ours = gen.matrix[i, : start + i]
        assert _relative(ours, theirs) < 1e-4, i
        assert float(gen.rows[i].score) == pytest.approx(float(forward(embeds).detach()), rel=1e-5)


def test_matrix_equals_captum_llm_gradient_attribution(gpt2):
    """Captum's LLMGradientAttribution (LayerIntegratedGradients on the embedding, token 0 as the
    baseline of the prompt, earlier generated tokens held fixed, log-probability): same matrix."""
    captum_attr = pytest.importorskip("captum.attr")
    model, tokenizer = gpt2
    steps = 12
    gen = igw.explain_generation(
        model,
        tokenizer,
        PROMPT,
        max_new_tokens=4,
        baseline=0,
        attribute_to="prompt",
        target="log_probability",
        keep_special=False,
        steps=steps,
    )
    start = len(gen.tokens) - gen.generated
    llm = captum_attr.LLMGradientAttribution(
        captum_attr.LayerIntegratedGradients(model, model.transformer.wte), tokenizer
    )
    result = llm.attribute(
        captum_attr.TextTokenInput(PROMPT, tokenizer),
        target=gen.token_ids[start:],
        n_steps=steps,
        method="gausslegendre",
    )
    ours = gen.matrix[:, :start]
    assert _relative(ours, result.token_attr) < 1e-4
    assert torch.equal(gen.matrix[:, start:], torch.zeros(gen.generated, gen.generated))


def _prefix_score(target, token, alternative):
    """The score of `token` after the last position of a prefix, as explain_generation's `target` reads it."""

    def score(output):
        logits = output.logits[:, -1]
        if target == "log_probability":
            return logits.log_softmax(dim=-1)[:, token]
        return logits[:, token] - (logits[:, alternative] if target == "contrast" else 0)

    return score


@pytest.mark.parametrize("target", ["logit", "log_probability", "contrast"])
def test_rows_equal_separate_calls_on_each_prefix(gpt2, target):
    """The shared walk changes nothing: each row equals one text IG call on its own prefix."""
    model, tokenizer = gpt2
    alternative = 7 if target == "contrast" else None
    gen = igw.explain_generation(
        model, tokenizer, PROMPT, max_new_tokens=3, baseline="zero", steps=8, target=target, alternative=alternative
    )
    start = len(gen.tokens) - gen.generated
    for i in range(gen.generated):
        prefix = gen.token_ids[: start + i][None]
        token = int(gen.token_ids[start + i])

        alone = igw.text_integrated_gradients(
            model, prefix, target=_prefix_score(target, token, alternative), baseline="zero", steps=8
        )
        assert _relative(gen.matrix[i, : start + i], alone.token_scores[0]) < 1e-4
        assert float(gen.rows[i].score) == pytest.approx(float(alone.score), rel=1e-5, abs=1e-6)
        assert float(gen.rows[i].baseline_score) == pytest.approx(float(alone.baseline_score), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("target", ["logit", "log_probability", "contrast"])
def test_selective_head_gives_what_the_full_logits_give(gpt2, target):
    """The walk reads only the explained logits from a HF model's head; a wrapper (a plain callable,
    whose head the walk cannot see) gets the model's full logits: the same rows."""
    model, tokenizer = gpt2
    alternative = 3 if target == "contrast" else None
    generation = prepare_generation(model, tokenizer, PROMPT, max_new_tokens=3)
    kwargs = dict(
        tokenizer=tokenizer,
        target=target,
        alternative=alternative,
        baseline="zero",
        steps=6,
        embedding=model.transformer.wte,
    )
    fast = attribute_generation(model, generation, **kwargs)
    full = attribute_generation(lambda input_ids: model(input_ids=input_ids).logits, generation, **kwargs)
    assert _relative(fast.matrix, full.matrix) < 1e-5
    torch.testing.assert_close(fast.scores, full.scores, rtol=1e-5, atol=1e-6)


def test_completeness_per_row(gpt2):
    model, tokenizer = gpt2
    gen = igw.explain_generation(model, tokenizer, PROMPT, max_new_tokens=4, baseline="zero", steps=64)
    change = torch.cat([row.score - row.baseline_score for row in gen.rows])
    torch.testing.assert_close(gen.matrix.sum(dim=1), change, rtol=2e-3, atol=1e-4)
    assert gen.relative_gaps.abs().max() < 2e-3


def test_subset_of_rows_and_chunking_give_the_same_rows(gpt2):
    """Rows asked for alone, and a walk in chunks of 3 points (as a 1,024-token context would be cut by
    the memory budget), equal the all-rows walk in one chunk."""
    model, tokenizer = gpt2
    generation = prepare_generation(model, tokenizer, PROMPT, max_new_tokens=4)
    whole = attribute_generation(model, generation, tokenizer=tokenizer, steps=8)
    some = attribute_generation(model, generation, tokenizer=tokenizer, steps=8, rows=[2, 0], batch_size=3)
    assert some.row_indices == [2, 0]
    torch.testing.assert_close(some.matrix, whole.matrix[[2, 0]], rtol=1e-5, atol=1e-6)


def test_continuation_is_teacher_forced_and_sampling_follows_the_seed(gpt2):
    model, tokenizer = gpt2
    gen = igw.explain_generation(model, tokenizer, PROMPT, continuation=" over the lazy dog", steps=4)
    given = tokenizer(" over the lazy dog", add_special_tokens=False)["input_ids"]
    assert gen.generated == len(given) and gen.token_ids[-len(given) :].tolist() == given
    one = prepare_generation(model, tokenizer, PROMPT, max_new_tokens=6, sample=True, seed=3)
    two = prepare_generation(model, tokenizer, PROMPT, max_new_tokens=6, sample=True, seed=3)
    assert torch.equal(one.token_ids, two.token_ids)
    assert len(one.alternatives) == one.generated and all(len(a) >= 5 for a in one.alternatives)
    chosen = one.token_ids[one.prompt_length :].tolist()
    assert all(any(alt.token == token for alt in alts) for token, alts in zip(chosen, one.alternatives))
    probabilities = [alt.probability for alt in one.alternatives[0]]
    assert all(0 <= p <= 1 for p in probabilities)


@pytest.mark.parametrize("seed", [None, 3])
def test_sampling_leaves_the_global_rng_as_it_was(gpt2, seed):
    """Sampling draws from a generator of its own: without a seed it used to reseed the user's global
    torch RNG (torch.seed()), so their next torch.rand gave other numbers than their own seed promised."""
    model, tokenizer = gpt2
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    igw.explain_generation(model, tokenizer, PROMPT, max_new_tokens=2, steps=2, sample=True, seed=seed)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_model_is_left_as_it_was(gpt2):
    model, tokenizer = gpt2
    model.train()
    try:
        flags = [p.requires_grad for p in model.parameters()]
        igw.explain_generation(model, tokenizer, PROMPT, max_new_tokens=2, steps=4)
        assert model.training and all(m.training for m in model.modules())
        assert [p.requires_grad for p in model.parameters()] == flags
        assert all(p.grad is None for p in model.parameters())
        assert model.lm_head.__class__.__name__ == "Linear"
    finally:
        model.eval()


# ---------------------------------------------------------------- tokenizers without a pad token


def test_pad_less_tokenizer_works_everywhere_strings_are_accepted(gpt2):
    model, tokenizer = gpt2
    assert tokenizer.pad_token is None
    one = igw.text_integrated_gradients(
        model, PROMPT, tokenizer=tokenizer, target=igw.NextToken(5), baseline="zero", steps=4
    )
    two = igw.text_integrated_gradients(
        model, [PROMPT, "A cat"], tokenizer=tokenizer, target=igw.NextToken(5), baseline="zero", steps=4
    )
    torch.testing.assert_close(two.token_scores[0], one.token_scores[0], rtol=1e-5, atol=1e-6)
    assert two.tokens.attention_mask[1].tolist()[-1] == 0 and bool(two.tokens.special[1, -1])
    alone = igw.text_integrated_gradients(
        model, "A cat", tokenizer=tokenizer, target=igw.NextToken(5), baseline="zero", steps=4
    )
    length = alone.token_scores.shape[1]
    torch.testing.assert_close(two.token_scores[1, :length], alone.token_scores[0], rtol=1e-4, atol=1e-6)
    eos = igw.explain_generation(model, tokenizer, PROMPT, max_new_tokens=2, baseline="eos", steps=4)
    assert eos.rows[0].result.baseline_name == f"token {tokenizer.eos_token_id}"


def test_pad_baseline_without_pad_token_names_the_fix(gpt2):
    model, tokenizer = gpt2
    # the names offered are ones the tokenizer makes (a TextExplainer takes them), then a token id
    fix = r"pass one it can make \('unk', 'zero'\) or a token id \(its end-of-text token: baseline=0\)"
    with pytest.raises(AttributionInputError, match=fix):
        igw.text_integrated_gradients(model, PROMPT, tokenizer=tokenizer, target=igw.NextToken(5))
    with pytest.raises(AttributionInputError, match=fix):
        igw.explain_generation(model, tokenizer, PROMPT, max_new_tokens=2, baseline="pad")


def test_text_explainer_with_a_pad_less_tokenizer(gpt2):
    pytest.importorskip("anywidget")
    model, tokenizer = gpt2
    widget = igw.TextExplainer(model, tokenizer, PROMPT, baseline="zero", steps=4)
    widget.wait()
    assert widget.status == "done", widget.error
    assert len(widget.result["tokens"]) == len(tokenizer(PROMPT)["input_ids"])


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "probability"}, "target='probability' is unknown"),
        ({"target": "contrast"}, "needs alternative="),
        ({"alternative": 3}, "only used with target='contrast'"),
        ({"max_new_tokens": 0}, "max_new_tokens=0"),
        ({"attribute_to": "everything"}, "attribute_to='everything'"),
        ({"baseline": "blur"}, "baseline='blur' is unknown"),
        ({"temperature": 0}, "temperature=0"),
    ],
)
def test_bad_arguments_are_refused_before_any_model_call(gpt2, kwargs, message):
    model, tokenizer = gpt2
    calls = []
    handle = model.register_forward_pre_hook(lambda *args: calls.append(1))
    try:
        with pytest.raises(AttributionInputError, match=message):
            igw.explain_generation(model, tokenizer, PROMPT, **kwargs)
    finally:
        handle.remove()
    assert not calls


def test_encoder_decoder_is_refused_with_what_is_supported():
    config = transformers.T5Config(vocab_size=32, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    model = transformers.T5ForConditionalGeneration(config).eval()
    with pytest.raises(AttributionInputError, match="encoder-decoder.*decoder-only"):
        igw.explain_generation(model, None, [1, 2, 3], max_new_tokens=2)


def test_a_classifier_is_refused():
    model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Flatten(), torch.nn.Linear(12, 3))
    with pytest.raises(AttributionInputError, match=r"next-token logits \[batch, length, vocabulary\]"):
        igw.explain_generation(model, None, [1, 2, 3], max_new_tokens=2)


# ---------------------------------------------------------------- meaning


def test_copied_token_peaks_on_its_source():
    """A model trained to repeat letters after a marker: generated token i copies prompt token i, and
    its attribution (prompt and earlier copies) peaks there, on every prompt tried."""
    model, tokenizer = copy_task_model()
    for letters in ["cafdb", "lkjih", "gecak", "bdfhj"]:
        gen = igw.explain_generation(model, tokenizer, copy_prompt(letters), max_new_tokens=5, steps=16)
        assert "".join(gen.tokens[6:]).replace(" ", "") == letters
        assert gen.matrix.argmax(dim=1).tolist() == [0, 1, 2, 3, 4], letters
        # the source outweighs every other context token together
        source = gen.matrix[torch.arange(5), torch.arange(5)]
        assert (source > gen.matrix.abs().sum(dim=1) - source).all()


def test_a_long_context_is_walked_in_chunks_within_the_memory_budget(gpt2, monkeypatch):
    """The mechanism that keeps 1,024-token contexts inside the CPU budget, at a size CI affords: with
    the budget shrunk so that only a few path points fit per forward pass, the walk runs in many chunks
    and gives the rows of the walk in one chunk."""
    from ig_widget.attribution import batching

    model, tokenizer = gpt2
    generation = prepare_generation(model, tokenizer, PROMPT * 3, max_new_tokens=3)
    whole = attribute_generation(model, generation, tokenizer=tokenizer, steps=8, batch_size=8)
    length, dim = len(generation.tokens), model.config.n_embd
    per_point = length * dim * 4 * batching.ACTIVATION_FACTOR
    monkeypatch.setattr(batching, "CPU_BUDGET_BYTES", 2 * per_point)
    chunks = []
    small = attribute_generation(
        model, generation, tokenizer=tokenizer, steps=8, progress=lambda done, total: chunks.append(done)
    )
    assert len(chunks) >= 4, chunks  # at most 2 of the 8 points per pass
    torch.testing.assert_close(small.matrix, whole.matrix, rtol=1e-5, atol=1e-6)


def test_word_granularity_sums_the_tokens_of_each_word(gpt2):
    model, tokenizer = gpt2
    gen = igw.explain_generation(model, tokenizer, PROMPT, max_new_tokens=2, steps=4)
    groups = gen.word_groups()
    assert [g.start for g in groups][0] == 0 and groups[-1].stop == len(gen.tokens)
    assert all(
        "".join(gen.tokens[g.start : g.stop])[:1] in (" ", "T") or g.start >= len(gen.tokens) - gen.generated
        for g in groups
    )
    words = "".join(gen.tokens[: len(gen.tokens) - gen.generated]).split()
    assert len([g for g in groups if g.stop <= len(gen.tokens) - gen.generated]) == len(words)
    torch.testing.assert_close(gen.word_matrix().sum(dim=1), gen.matrix.sum(dim=1))


# ---------------------------------------------------------------- settings


def test_settings_are_checked_once_and_carry_the_walk_options():
    from ig_widget.attribution.generation import GenerationSettings

    settings = GenerationSettings(steps=8, rule="riemann_middle", trace=False)
    assert settings.path.steps == 8 and settings.path.rule == "riemann_middle" and settings.path.reducer is None
    with pytest.raises(AttributeError):
        settings.steps = 4  # frozen
    with pytest.raises(AttributionInputError, match="steps"):
        GenerationSettings(steps=0)


def test_a_character_split_into_byte_tokens_reads_as_the_text():
    """The defect: each byte piece of a character decoded alone to "�" or nothing, so the strip read
    "I love ���� caf�� ok", and an empty piece started a word, splitting the emoji in two. Now the piece
    that completes a character shows it, the pieces before it are empty, and a character's pieces stay
    in one word."""
    from ig_widget.generation_examples import byte_level_tokenizer, random_gpt2

    tokenizer = byte_level_tokenizer()
    model = random_gpt2(len(tokenizer), layers=1, hidden=16, heads=2, seed=1)
    prompt = "I love 😀 café"
    generation = igw.explain_generation(model, tokenizer, prompt, continuation=" ok", steps=2)
    assert "".join(generation.tokens) == prompt + " ok"
    assert "\ufffd" not in "".join(generation.tokens)
    assert generation.tokens.count("") == 4  # three pieces before the emoji's last, one before "é"'s
    words = ["".join(generation.tokens[group.start : group.stop]) for group in generation.word_groups()]
    assert words == ["I", " love", " 😀", " café", " ok"]


def test_bytes_that_never_make_a_character_show_each_its_own_replacement():
    """A piece held back waits for the piece that completes its character; bytes that never do (what a
    random model generates) each show "�" on their own token, not all of them on the last."""
    from ig_widget.attribution.generation import _token_texts
    from ig_widget.generation_examples import byte_level_tokenizer

    tokenizer = byte_level_tokenizer()
    lead = tokenizer("é")["input_ids"][:1]  # the first of its two bytes, never followed by the second
    ids = lead + lead + tokenizer("x")["input_ids"]
    assert _token_texts(ids, tokenizer) == ["\ufffd", "\ufffd", "x"]
    assert _token_texts(tokenizer("é x")["input_ids"], tokenizer) == ["", "é", " ", "x"]
