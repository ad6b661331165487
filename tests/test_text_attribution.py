"""Token attributions through the embedding layer: closed form, completeness on a real BERT (MiniLM),
agreement between calling conventions, baselines, targets, and the user's model left as it was."""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

import ig_widget as igw
from ig_widget.attribution.errors import AttributionInputError
from ig_widget.examples import one_thread
from ig_widget.text_examples import (
    SENTIMENT_LABELS,
    SentenceSimilarity,
    load_minilm,
    similarity_target,
    zero_shot_sentiment,
)

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def minilm():
    """(encoder, tokenizer): all-MiniLM-L6-v2 from the installed package, loaded once."""
    return load_minilm()


class BagOfEmbeddings(nn.Module):
    """F(ids) = W . sum_l E[ids_l] + b: IG of token l along dim d is (E[id_l] - E[base])_d * W[c, d]."""

    def __init__(self, vocabulary: int = 20, dim: int = 6, classes: int = 3):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, ids):
        return self.head(self.embed(ids).sum(dim=1))


# ---------------------------------------------------------------- closed form


@pytest.mark.parametrize("rule", igw.RULES)
def test_bag_of_embeddings_matches_closed_form(rule):
    torch.manual_seed(0)
    model = BagOfEmbeddings()
    ids = torch.tensor([[3, 7, 7, 12], [1, 19, 4, 5]])
    res = igw.text_integrated_gradients(model, ids, target=2, baseline=0, steps=5, rule=rule)
    table, weight = model.embed.weight.detach(), model.head.weight[2].detach()
    expected = (table[ids] - table[0]) * weight
    torch.testing.assert_close(res.result.attributions, expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(res.token_scores, expected.sum(dim=-1), atol=1e-6, rtol=1e-5)
    assert res.gap.abs().max() < 1e-5
    assert res.result.baseline_name == "token 0"


def test_zero_embedding_baseline_and_l2_token_scores():
    torch.manual_seed(1)
    model = BagOfEmbeddings()
    ids = torch.tensor([[2, 9, 4]])
    res = igw.text_integrated_gradients(model, ids, target=0, baseline="zero", token_reduce="l2", steps=3)
    per_dim = model.embed.weight.detach()[ids] * model.head.weight[0].detach()
    torch.testing.assert_close(res.token_scores, per_dim.norm(dim=-1), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(res.result.baseline, torch.zeros_like(res.result.inputs))


def test_trace_is_summed_over_the_embedding_dimension():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Embedding(15, 8), nn.Tanh(), nn.Flatten(), nn.Linear(8 * 5, 2))
    ids = torch.randint(0, 15, (2, 5))
    res = igw.text_integrated_gradients(model, ids, target=1, baseline=0, steps=16)
    trace = res.trace
    assert trace.cumulative.shape == (16, 2, 5) and trace.gradients.shape == (16, 2, 5)
    torch.testing.assert_close(trace.cumulative[-1], res.token_scores, atol=1e-6, rtol=1e-5)
    assert torch.all(trace.alphas[1:] > trace.alphas[:-1])


# ---------------------------------------------------------------- MiniLM, a real BERT


SENTENCES = ["The movie was wonderful", "A dull, boring film"]


def test_minilm_similarity_completeness_within_one_percent(minilm):
    encoder, tokenizer = minilm
    model = SentenceSimilarity(encoder, tokenizer, ["a great film", "the weather is cold"])
    res = igw.text_integrated_gradients(model, SENTENCES, target=[1, 0], tokenizer=tokenizer)
    assert res.relative_gap.abs().max() < 0.01, res.relative_gap
    assert ((res.score - res.baseline_score).abs() > 0.05).all()


def test_minilm_zero_shot_sentiment_ranks_and_completes(minilm):
    encoder, tokenizer = minilm
    model = zero_shot_sentiment(encoder, tokenizer)
    with torch.no_grad():
        encoded = tokenizer(SENTENCES, return_tensors="pt", padding=True)
        scores = model(**encoded)
    assert scores.argmax(dim=1).tolist() == [SENTIMENT_LABELS.index("positive"), SENTIMENT_LABELS.index("negative")]
    res = igw.text_integrated_gradients(model, SENTENCES[:1], target=1, tokenizer=tokenizer)
    assert res.relative_gap.abs().max() < 0.01
    words = [word.text for word in sorted(res.words(), key=lambda w: -w.score)]
    assert words[0] == "wonderful"


def test_minilm_callable_target_equals_similarity_model(minilm):
    encoder, tokenizer = minilm
    query = "a great film"
    by_class = igw.text_integrated_gradients(
        SentenceSimilarity(encoder, tokenizer, [query]), SENTENCES, target=0, tokenizer=tokenizer, steps=8
    )
    by_callable = igw.text_integrated_gradients(
        encoder, SENTENCES, target=similarity_target(encoder, tokenizer, query), tokenizer=tokenizer, steps=8
    )
    torch.testing.assert_close(by_callable.token_scores, by_class.token_scores, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(by_callable.score, by_class.score)


def test_padded_rows_match_rows_explained_alone(minilm):
    encoder, tokenizer = minilm
    model = SentenceSimilarity(encoder, tokenizer, ["a great film"])
    together = igw.text_integrated_gradients(model, SENTENCES, target=0, tokenizer=tokenizer, steps=8)
    for row, sentence in enumerate(SENTENCES):
        alone = igw.text_integrated_gradients(model, sentence, target=0, tokenizer=tokenizer, steps=8)
        length = alone.input_ids.shape[1]
        torch.testing.assert_close(together.token_scores[row, :length], alone.token_scores[0], atol=1e-5, rtol=1e-4)
        assert (together.token_scores[row, length:] == 0).all()


def test_special_tokens_keep_their_embedding(minilm):
    encoder, tokenizer = minilm
    model = SentenceSimilarity(encoder, tokenizer, ["a great film"])
    kept = igw.text_integrated_gradients(model, SENTENCES[0], target=0, tokenizer=tokenizer, baseline="mask", steps=8)
    special = kept.tokens.special[0]
    assert kept.tokens.tokens[0][0] == "[CLS]" and kept.tokens.tokens[0][-1] == "[SEP]"
    assert special.tolist() == [True] + [False] * (len(special) - 2) + [True]
    torch.testing.assert_close(kept.result.baseline[0, special], kept.result.inputs[0, special])
    mask_embedding = encoder.get_input_embeddings().weight[tokenizer.mask_token_id].detach()
    torch.testing.assert_close(kept.result.baseline[0, ~special], mask_embedding.expand(int((~special).sum()), -1))
    assert (kept.token_scores[0, special] == 0).all()
    replaced = igw.text_integrated_gradients(
        model, SENTENCES[0], target=0, tokenizer=tokenizer, baseline="mask", steps=8, keep_special=False
    )
    assert (replaced.token_scores[0, special] != 0).all()


@pytest.mark.parametrize("baseline, token", [("pad", "pad_token_id"), ("unk", "unk_token_id")])
def test_named_baselines_use_the_tokenizers_token(minilm, baseline, token):
    encoder, tokenizer = minilm
    res = igw.text_integrated_gradients(
        encoder,
        "good",
        target=similarity_target(encoder, tokenizer, "fine"),
        tokenizer=tokenizer,
        baseline=baseline,
        steps=4,
    )
    row = encoder.get_input_embeddings().weight[getattr(tokenizer, token)].detach()
    torch.testing.assert_close(res.result.baseline[0, 1], row)


def test_subwords_merge_into_the_words_of_the_text(minilm):
    encoder, tokenizer = minilm
    text = "Unbelievably tokenizable sentences!"
    res = igw.text_integrated_gradients(
        encoder, text, target=similarity_target(encoder, tokenizer, "words"), tokenizer=tokenizer, steps=4
    )
    words = res.words()
    assert len(res.token_strings()) > len(words)
    assert [w.text for w in words] == ["[CLS]", "Unbelievably", "tokenizable", "sentences", "!", "[SEP]"]
    assert sum(w.score for w in words) == pytest.approx(float(res.token_scores.sum()), abs=1e-5)
    assert "".join(res.token_strings()[1:3]) == "Unbelievably"[: len("".join(res.token_strings()[1:3]))]


# ---------------------------------------------------------------- calling conventions agree


def tiny_bert_classifier(vocabulary: int, seed: int = 0):
    torch.manual_seed(seed)
    config = transformers.BertConfig(
        vocab_size=vocabulary,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=2,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return transformers.BertForSequenceClassification(config)


def test_an_unknown_word_is_content_in_every_input_form(minilm):
    """[UNK] stands for a word the vocabulary lacks: it moves along the path and gets attribution as a
    string, as ids and as an encoding alike. Ids used to keep it at its own embedding (it is in
    all_special_ids) where the string's special-tokens mask did not, so the same input explained apart."""
    _, tokenizer = minilm
    model = tiny_bert_classifier(len(tokenizer), seed=1)
    text = "hello \U0001f600 world"
    encoding = tokenizer(text, return_tensors="pt")
    unknown = encoding["input_ids"][0] == tokenizer.unk_token_id
    assert unknown.sum() == 1
    forms = [text, encoding["input_ids"], encoding]
    results = [igw.text_integrated_gradients(model, form, tokenizer=tokenizer, target=0, steps=8) for form in forms]
    pad_embedding = model.get_input_embeddings().weight[tokenizer.pad_token_id].detach()
    for result in results:
        assert result.tokens.special[0].tolist() == [True, False, False, False, True]
        torch.testing.assert_close(result.result.baseline[0, unknown][0], pad_embedding)
        assert (result.token_scores[0, unknown] != 0).all()
    for result in results[1:]:
        torch.testing.assert_close(result.baseline_score, results[0].baseline_score)
        torch.testing.assert_close(result.token_scores, results[0].token_scores)


class PlainWrapper(nn.Module):
    """The same network behind a forward(ids) that knows nothing of Hugging Face conventions."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, ids):
        return self.inner(input_ids=ids).logits


def test_hugging_face_path_agrees_with_a_plain_embedding_model(minilm):
    _, tokenizer = minilm
    bert = tiny_bert_classifier(tokenizer.vocab_size)
    encoded = tokenizer(["a fine day", "rain"], return_tensors="pt", padding=True)
    # Without padding the attention mask is all ones, so both conventions compute the same function.
    ids = tokenizer(["a fine day"], return_tensors="pt")["input_ids"]
    via_hf = igw.text_integrated_gradients(bert, "a fine day", target=1, tokenizer=tokenizer, steps=12)
    via_plain = igw.text_integrated_gradients(
        PlainWrapper(bert),
        ids,
        target=1,
        tokenizer=tokenizer,
        embedding="inner.bert.embeddings.word_embeddings",
        steps=12,
    )
    torch.testing.assert_close(via_plain.result.attributions, via_hf.result.attributions, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(via_plain.score, via_hf.score)
    # a wrapper around a Hugging Face model finds the wrapped model's input embeddings by itself
    found = igw.text_integrated_gradients(
        lambda ids: bert(input_ids=ids).logits, encoded["input_ids"], target=1, tokenizer=tokenizer, steps=4
    )
    assert found.result.inputs.shape == (*encoded["input_ids"].shape, 16)


def test_agrees_with_captum_layer_integrated_gradients(minilm):
    captum_attr = pytest.importorskip("captum.attr")
    _, tokenizer = minilm
    bert = tiny_bert_classifier(tokenizer.vocab_size, seed=3).eval()
    encoded = tokenizer(["what a lovely garden"], return_tensors="pt")
    ours = igw.text_integrated_gradients(
        bert, encoded, target=0, tokenizer=tokenizer, baseline="pad", keep_special=False, steps=20
    )
    layer_ig = captum_attr.LayerIntegratedGradients(
        lambda ids, mask: bert(input_ids=ids, attention_mask=mask).logits, bert.get_input_embeddings()
    )
    theirs = layer_ig.attribute(
        encoded["input_ids"],
        torch.zeros_like(encoded["input_ids"]),
        target=0,
        additional_forward_args=(encoded["attention_mask"],),
        n_steps=20,
        method="gausslegendre",
    )
    torch.testing.assert_close(ours.result.attributions, theirs.detach(), atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------- targets on small trained models


GOOD, BAD = ["great", "good", "wonderful", "excellent", "lovely"], ["awful", "bad", "terrible", "boring", "dull"]
FILLERS = ["the", "film", "was", "a", "story", "acting", "plot", "really", "today", "music", "felt", "and", "it"]


def sentiment_sentences(count: int, seed: int = 0) -> tuple[list[str], torch.Tensor]:
    """Three random filler words and one sentiment word at a random place; label 1 for a good word."""
    rng = random.Random(seed)
    texts, labels = [], []
    for index in range(count):
        label = index % 2
        words = rng.sample(FILLERS, 3)
        words.insert(rng.randrange(4), rng.choice(GOOD if label else BAD))
        texts.append(" ".join(words))
        labels.append(label)
    return texts, torch.tensor(labels)


@pytest.fixture(scope="module")
def sentiment_bert(minilm):
    """A one-layer BERT classifier (negative, positive) trained in about a second."""
    _, tokenizer = minilm
    bert = tiny_bert_classifier(tokenizer.vocab_size, seed=0)
    texts, labels = sentiment_sentences(160)
    encoded = tokenizer(texts, return_tensors="pt", padding=True)
    optimiser = torch.optim.Adam(bert.parameters(), lr=1e-2)
    with one_thread():
        for _ in range(30):
            loss = nn.functional.cross_entropy(bert(**encoded).logits, labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    assert loss.item() < 0.05
    return bert


def test_classifier_targets_pick_the_class_and_complete(minilm, sentiment_bert):
    _, tokenizer = minilm
    sentences = ["the film was wonderful", "the film was awful"]
    sentiment_bert.train()
    res = igw.text_integrated_gradients(sentiment_bert, sentences, target=None, tokenizer=tokenizer)
    assert sentiment_bert.training  # the user's mode comes back
    sentiment_bert.eval()
    with torch.no_grad():
        logits = sentiment_bert(**tokenizer(sentences, return_tensors="pt", padding=True)).logits
    assert res.target.tolist() == [1, 0]
    torch.testing.assert_close(res.score, logits.gather(1, res.target[:, None])[:, 0])
    assert res.relative_gap.abs().max() < 0.01
    as_probability = igw.text_integrated_gradients(
        sentiment_bert, sentences, target=[0, 0], output="probability", tokenizer=tokenizer, steps=64
    )
    torch.testing.assert_close(as_probability.score, logits.softmax(dim=1)[:, 0])


def test_trained_classifier_credits_the_sentiment_word(minilm, sentiment_bert):
    """Wherever a class score moves by more than 1 between the pad baseline and the sentence, the
    sentiment word carries most of that change; the fillers were shuffled in training, so they can't."""
    _, tokenizer = minilm
    sentences = ["the film was wonderful", "the film was awful", "great acting", "a boring story"]
    sentiment = ["wonderful", "awful", "great", "boring"]
    checked = 0
    for target in (0, 1):
        res = igw.text_integrated_gradients(sentiment_bert, sentences, target=target, tokenizer=tokenizer)
        change = res.score - res.baseline_score
        for row, word in enumerate(sentiment):
            if change[row].abs() > 1:
                scores = {w.text: w.score for w in res.words(row)}
                assert scores[word] / float(change[row]) > 0.8, (sentences[row], target, scores)
                checked += 1
    assert checked >= 2


@pytest.fixture(scope="module")
def copy_lm():
    """A one-layer GPT-2 trained to repeat the first of five tokens (ids 1..9; 0 never seen)."""
    vocabulary, length = 10, 5
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=vocabulary,
        n_positions=length + 1,
        n_embd=24,
        n_layer=1,
        n_head=2,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = transformers.GPT2LMHeadModel(config)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    with one_thread():
        for _ in range(120):
            sequences = torch.randint(1, vocabulary, (32, length), generator=generator)
            loss = nn.functional.cross_entropy(model(input_ids=sequences).logits[:, -1], sequences[:, 0])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    assert loss.item() < 0.2
    return model.eval()


def test_causal_lm_next_token_attributes_the_copied_token(copy_lm):
    ids = torch.tensor([[7, 3, 5, 2, 8], [4, 9, 1, 6, 2]])
    res = igw.text_integrated_gradients(copy_lm, ids, target=igw.NextToken(7), baseline="zero")
    with torch.no_grad():
        expected = copy_lm(input_ids=ids).logits[:, -1].log_softmax(-1)[:, 7]
    torch.testing.assert_close(res.score, expected)
    assert res.relative_gap.abs().max() < 0.01
    change = res.score[0] - res.baseline_score[0]
    assert res.token_scores[0, 0] / change > 0.9  # the copied token explains the prediction
    early = igw.text_integrated_gradients(copy_lm, ids, target=igw.NextToken(3, position=2), baseline="zero", steps=8)
    assert (early.token_scores[:, 3:] == 0).all() and (early.token_scores[:, :3] != 0).all()


def test_next_token_negative_position_follows_the_attention_mask(copy_lm):
    encoded = {
        "input_ids": torch.tensor([[7, 3, 5, 2, 8], [4, 6, 9, 1, 1]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
    }
    res = igw.text_integrated_gradients(copy_lm, encoded, target=igw.NextToken(4), baseline="zero", steps=4)
    with torch.no_grad():
        logits = copy_lm(**encoded).logits
    torch.testing.assert_close(res.score[1], logits[1, 2].log_softmax(-1)[4])
    assert (res.token_scores[1, 3:] == 0).all()
    with pytest.raises(AttributionInputError, match="position=-9"):  # before the first token
        igw.text_integrated_gradients(copy_lm, encoded, target=igw.NextToken(4, position=-9), baseline="zero")


@pytest.mark.parametrize("position", [-1, -2, 0, 1])
def test_left_padded_row_is_explained_as_its_text_alone(position):
    """Decoder-only tokenizers pad on the left: a NextToken position counts the row's real tokens, and
    the row's positions start at its first real token, so the short text in a batch is its text alone."""
    from ig_widget.generation_examples import byte_level_tokenizer, random_gpt2

    tokenizer = byte_level_tokenizer()
    tokenizer.pad_token, tokenizer.padding_side = tokenizer.eos_token, "left"
    model = random_gpt2(len(tokenizer), layers=1, hidden=16, heads=2, seed=1)
    texts, target = ["The quick brown fox jumps over", "The cat sat"], igw.NextToken(90, position)
    options = {"tokenizer": tokenizer, "target": target, "baseline": "zero", "steps": 8}
    batch = igw.text_integrated_gradients(model, texts, **options)
    alone = igw.text_integrated_gradients(model, texts[1], **options)
    mask = batch.tokens.attention_mask[1].bool()
    assert not mask[0] and mask[-1]  # the short row really is padded on the left
    torch.testing.assert_close(batch.score[1], alone.score[0])
    torch.testing.assert_close(batch.baseline_score[1], alone.baseline_score[0])
    torch.testing.assert_close(batch.token_scores[1, mask], alone.token_scores[0])
    assert (batch.token_scores[1, ~mask] == 0).all()
    assert alone.token_scores[0].abs().sum() > 0  # a real explanation, not the zeros of a pad position


def test_next_token_position_past_a_rows_real_tokens_is_refused(copy_lm):
    encoded = {
        "input_ids": torch.tensor([[7, 3, 5], [4, 6, 1]]),
        "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]]),
    }
    with pytest.raises(AttributionInputError, match=r"position=2 is after the last real token of row 1, which has 2"):
        igw.text_integrated_gradients(copy_lm, encoded, target=igw.NextToken(4, position=2), baseline="zero", steps=2)


def test_next_token_output_probability_explains_the_probability(copy_lm):
    """NextToken scores a log-probability; output="probability" was ignored (F(x) stayed log p). Now it
    explains p itself, complete as ever, and "log_probability" is the default's log p."""
    ids = torch.tensor([[7, 3, 5, 2, 8]])
    with torch.no_grad():
        log_p = copy_lm(input_ids=ids).logits[0, -1].log_softmax(-1)[7]
    options = {"target": igw.NextToken(7), "baseline": "zero", "steps": 32}
    default = igw.text_integrated_gradients(copy_lm, ids, **options)
    logs = igw.text_integrated_gradients(copy_lm, ids, output="log_probability", **options)
    probability = igw.text_integrated_gradients(copy_lm, ids, output="probability", **options)
    torch.testing.assert_close(default.score[0], log_p)
    torch.testing.assert_close(logs.token_scores, default.token_scores)
    torch.testing.assert_close(probability.score[0], log_p.exp())
    torch.testing.assert_close(probability.baseline_score, default.baseline_score.exp())
    assert probability.relative_gap.abs().max() < 0.01  # the attributions add up to p(x) - p(x')


@pytest.mark.parametrize("output", ["probability", "log_probability"])
def test_callable_target_with_an_output_is_refused_before_any_work(output):
    """A callable target returns its own score: output= cannot reach it, and was silently ignored."""
    model, calls = BagOfEmbeddings(), []
    model.register_forward_pre_hook(lambda module, args: calls.append(1))
    with pytest.raises(
        AttributionInputError, match=rf"output='{output}' does not apply to a callable target.*output='logit'"
    ):
        igw.text_integrated_gradients(
            model, torch.tensor([[1, 2]]), target=lambda out: out[:, 0], output=output, baseline=0
        )
    assert calls == []
    result = igw.text_integrated_gradients(
        model, torch.tensor([[1, 2]]), target=lambda out: out[:, 0], baseline=0, steps=4
    )
    assert result.score.shape == (1,)


# ---------------------------------------------------------------- the user's model and errors


def test_model_state_hooks_and_flags_restored():
    torch.manual_seed(0)
    model = BagOfEmbeddings()
    model.train()
    model.head.weight.requires_grad_(False)
    before = {name: p.clone() for name, p in model.state_dict().items()}
    igw.text_integrated_gradients(model, torch.tensor([[1, 2, 3]]), target=0, baseline=0, steps=3)
    assert model.training and model.embed.training
    assert model.embed.weight.requires_grad and not model.head.weight.requires_grad
    assert not model.embed._forward_hooks
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name])


def test_hook_removed_when_the_model_raises():
    class Broken(BagOfEmbeddings):
        def forward(self, ids):
            self.embed(ids)
            raise RuntimeError("boom")

    model = Broken()
    with pytest.raises(Exception, match="boom"):
        igw.text_integrated_gradients(model, torch.tensor([[1, 2]]), target=0, baseline=0)
    assert not model.embed._forward_hooks


def test_embedding_used_twice_is_refused():
    class Twice(BagOfEmbeddings):
        def forward(self, ids):
            return self.head(self.embed(ids).sum(1) + self.embed(ids).sum(1))

    with pytest.raises(AttributionInputError, match="embedded the token ids 2 times"):
        igw.text_integrated_gradients(Twice(), torch.tensor([[1, 2]]), target=0, baseline=0)


@pytest.mark.parametrize(
    "inputs, kwargs, message",
    [
        ("some text", {}, "tokenizer"),
        (torch.tensor([1, 2, 3]), {}, r"\[batch, length\]"),
        (torch.tensor([[0.5, 1.0]]), {}, "integers"),
        (torch.tensor([[1, 99]]), {}, "token ids from 1 to 99"),
        (torch.tensor([[1, 2]]), {"baseline": "blur"}, "unknown for text"),
        (torch.tensor([[1, 2]]), {"baseline": "pad"}, "needs a pad token"),
        (torch.tensor([[1, 2]]), {"baseline": 50}, "baseline has token ids"),
        (torch.tensor([[1, 2]]), {"token_reduce": "max"}, "token_reduce"),
        (torch.tensor([[1, 2]]), {"embedding": "nope"}, "not a submodule"),
        ({"ids": torch.tensor([[1, 2]])}, {}, "input_ids"),
    ],
)
def test_bad_arguments_are_named(inputs, kwargs, message):
    options = {"target": 0, "baseline": 0, **kwargs}
    with pytest.raises(AttributionInputError, match=message):
        igw.text_integrated_gradients(BagOfEmbeddings(), inputs, **options)


class TokenAndPosition(BagOfEmbeddings):
    def __init__(self):
        super().__init__()
        self.position = nn.Embedding(8, 6)

    def forward(self, ids):
        return self.head((self.embed(ids) + self.position(torch.arange(ids.shape[1]))).sum(dim=1))


def test_several_embedding_tables_need_a_choice():
    ids = torch.tensor([[1, 2, 3]])
    with pytest.raises(AttributionInputError, match=r"several nn.Embedding modules \(embed, position\)"):
        igw.text_integrated_gradients(TokenAndPosition(), ids, target=0, baseline=0)
    chosen = igw.text_integrated_gradients(TokenAndPosition(), ids, target=0, baseline=0, embedding="embed")
    assert chosen.gap.abs().max() < 1e-5


def test_model_without_embedding_is_refused():
    with pytest.raises(AttributionInputError, match="no nn.Embedding"):
        igw.text_integrated_gradients(nn.Linear(3, 2), torch.tensor([[1, 2]]), target=0, baseline=0)


def test_tokenizer_output_as_lists_is_repeated_per_point(minilm):
    encoder, tokenizer = minilm
    model = SentenceSimilarity(encoder, tokenizer, ["a great film"])
    as_lists = tokenizer(["a fine film", "rain"], padding=True)  # no return_tensors: plain lists
    from_lists = igw.text_integrated_gradients(model, dict(as_lists), target=0, tokenizer=tokenizer, steps=4)
    from_tensors = igw.text_integrated_gradients(
        model,
        tokenizer(["a fine film", "rain"], padding=True, return_tensors="pt"),
        target=0,
        tokenizer=tokenizer,
        steps=4,
    )
    torch.testing.assert_close(from_lists.token_scores, from_tensors.token_scores)


@pytest.mark.parametrize("bar_on", [True, False])
def test_loading_minilm_hides_its_progress_bar_and_keeps_the_users_setting(bar_on, capsys):
    from transformers.utils import logging as transformers_logging

    (transformers_logging.enable_progress_bar if bar_on else transformers_logging.disable_progress_bar)()
    try:
        load_minilm.__wrapped__()
        assert "Loading weights" not in capsys.readouterr().err
        assert transformers_logging.is_progress_bar_enabled() is bar_on
    finally:
        transformers_logging.enable_progress_bar()


class _MeanPool(torch.nn.Module):
    """A text classifier of one's own: no tokenizer, no config; its embedding names its pad id."""

    def __init__(self, padding_idx):
        super().__init__()
        self.embed = torch.nn.Embedding(20, 4, padding_idx=padding_idx)
        self.head = torch.nn.Linear(4, 2)

    def forward(self, input_ids=None, inputs_embeds=None):
        embedded = self.embed(input_ids) if inputs_embeds is None else inputs_embeds
        return self.head(torch.tanh(embedded).mean(dim=1))


def test_pad_baseline_from_the_embeddings_padding_idx():
    """baseline="pad" (the default) with no tokenizer and no config takes nn.Embedding's padding_idx; an
    embedding without one gets an error that says so and names the fixes."""
    torch.manual_seed(0)
    model, ids = _MeanPool(padding_idx=3), torch.tensor([[5, 9, 12, 7]])
    result = igw.text_integrated_gradients(model, ids, target=1, embedding=model.embed, steps=16)
    assert result.result.baseline_name == "pad token"
    torch.testing.assert_close(result.result.baseline[0], model.embed.weight[3].detach().expand(4, 4))
    without = _MeanPool(padding_idx=None)
    with pytest.raises(AttributionInputError, match=r"nor the embedding layer a padding_idx.*baseline=<int>"):
        igw.text_integrated_gradients(without, ids, target=1, embedding=without.embed, steps=16)


def test_a_character_split_into_byte_tokens_is_shown_once():
    """The defect: a byte-level tokenizer splits "😀" into four tokens, each with the character's whole
    span, and every one of them showed it: the strip read "I love 😀😀😀😀 caféé". Now the piece that
    completes the character shows it and the others are empty, so the tokens read as the text does,
    each piece keeping its own score."""
    from ig_widget.generation_examples import byte_level_tokenizer, random_gpt2

    tokenizer = byte_level_tokenizer()
    model = random_gpt2(len(tokenizer), layers=1, hidden=16, heads=2, seed=1)
    text = "I love 😀 café"
    result = igw.text_integrated_gradients(
        model, text, tokenizer=tokenizer, target=igw.NextToken(5, -1), baseline="zero", steps=4
    )
    strings = result.token_strings()
    assert "".join(strings) == text
    assert len(strings) == result.token_scores.shape[1] > len(text)  # more tokens than characters
    assert strings.count("😀") == 1 and strings.count("é") == 1
    assert strings[strings.index("😀") - 3 : strings.index("😀")] == ["", "", ""]
    assert [word.text for word in result.words()] == ["I", " love", " 😀", " café"]


def test_an_encoders_left_padded_row_keeps_the_models_own_positions():
    """Position ids from 0 are what `generate` gives a causal language model; an encoder numbers its
    positions its own way (RoBERTa from its padding index, around its pads), and ids from 0 gave it
    another function: a left-padded row's F(x) was neither the model's score of the batch nor of the
    text alone. Now an encoder gets no position ids of ours and F(x) is the model's own score."""
    from transformers import RobertaConfig, RobertaForSequenceClassification

    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=40,
        pad_token_id=1,
    )
    model = RobertaForSequenceClassification(config).eval()
    ids = torch.tensor([[5, 6, 7, 8, 9], [1, 1, 1, 10, 11]])
    mask = (ids != 1).long()
    result = igw.text_integrated_gradients(
        model, {"input_ids": ids, "attention_mask": mask}, target=0, baseline="zero", steps=4
    )
    with torch.no_grad():
        own = model(input_ids=ids, attention_mask=mask).logits[:, 0]
    torch.testing.assert_close(result.score, own, rtol=0, atol=1e-6)
