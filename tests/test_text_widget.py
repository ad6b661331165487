"""TextExplainer on the kernel side: outputs, payload, target sync by index and label, the causal-LM
mode, view-only traits, and errors named before any work."""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
import torch
import traitlets

import ig_widget as igw
from ig_widget.encode import decode_array, max_error
from ig_widget.text_examples import SentenceSimilarity, load_minilm, zero_shot_sentiment
from ig_widget.widgets.explainer import BUNDLE
from ig_widget.widgets.text import TextExplainer

transformers = pytest.importorskip("transformers")

QUERIES = ["a great film", "the weather is cold"]
TEXT = "The movie was wonderful, unbelievably good!"


@pytest.fixture(scope="session")
def minilm():
    return load_minilm()


@pytest.fixture(scope="module")
def similarity(minilm):
    encoder, tokenizer = minilm
    return SentenceSimilarity(encoder, tokenizer, QUERIES)


@pytest.fixture
def explainer(similarity, minilm):
    widget = TextExplainer(similarity, minilm[1], TEXT, labels=QUERIES, steps=16)
    widget.wait()
    return widget


def test_outputs_target_and_choices(explainer, similarity, minilm):
    tokenizer = minilm[1]
    with torch.no_grad():
        scores = similarity(**tokenizer([TEXT], return_tensors="pt"))[0]
    assert explainer._view == "text" and explainer._esm == BUNDLE.read_text()
    assert explainer.target == int(scores.argmax()) == 0
    assert explainer.status == "done" and explainer.error == ""
    assert [row["label"] for row in explainer.outputs] == QUERIES
    assert [row["score"] for row in explainer.outputs] == pytest.approx(scores.tolist(), abs=1e-6)
    assert explainer.choices["baseline"] == ["pad", "mask", "unk", "zero"]
    assert explainer.baseline == "pad" and explainer.granularity == "tokens"


def test_payload_matches_the_attribution(explainer, similarity, minilm):
    expected = igw.text_integrated_gradients(similarity, TEXT, target=0, tokenizer=minilm[1], steps=16)
    payload = explainer.result
    assert payload["kind"] == "text" and payload["task"] == "classifier" and payload["target_label"] == QUERIES[0]
    assert payload["tokens"] == expected.token_strings()
    assert payload["tokens"][:3] == ["[CLS]", "The", "movie"] and payload["tokens"][-1] == "[SEP]"
    assert payload["special"] == expected.tokens.special[0].tolist()
    np.testing.assert_allclose(decode_array(payload["attributions"]), expected.token_scores[0].numpy(), atol=1e-6)
    words = expected.words()
    assert payload["word_texts"] == [w.text for w in words]
    assert "unbelievably" in payload["word_texts"] and len(payload["words"]) < len(payload["tokens"])
    trace = payload["trace"]
    cumulative = decode_array(trace["cumulative"])
    assert cumulative.shape == (16, len(payload["tokens"]))
    np.testing.assert_allclose(
        cumulative, expected.trace.cumulative[:, 0].numpy(), atol=max_error(trace["cumulative"]) + 1e-7
    )
    assert payload["completeness"]["gap"] == pytest.approx(float(expected.gap[0]), abs=1e-5)
    assert abs(payload["completeness"]["relative_gap"]) < 0.01


def test_spacing_follows_the_original_text(explainer):
    tokens, spaces = explainer.result["tokens"], explainer.result["space_before"]
    rebuilt = "".join((" " if space else "") + token for token, space in zip(tokens[1:-1], spaces[1:-1]))
    assert rebuilt.strip() == TEXT


def test_target_by_index_and_label_recomputes(explainer):
    first = decode_array(explainer.result["attributions"])
    explainer.target = 1
    explainer.wait()
    assert explainer.result["target"] == 1 and explainer.result["target_label"] == QUERIES[1]
    assert not np.allclose(decode_array(explainer.result["attributions"]), first)
    assert next(row for row in explainer.outputs if row["index"] == 1)


def test_label_target_baseline_and_zero_shot(minilm):
    encoder, tokenizer = minilm
    model = zero_shot_sentiment(encoder, tokenizer)
    widget = TextExplainer(
        model,
        tokenizer,
        "a dull, boring film",
        labels=["negative", "positive"],
        target="positive",
        baseline="mask",
        steps=8,
    )
    widget.wait()
    assert widget.target == 1 and widget.result["baseline"] == "mask"
    assert widget.outputs[0]["label"] == "negative"  # the top output leads the list


def tiny_gpt2(vocabulary: int):
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=vocabulary, n_positions=32, n_embd=16, n_layer=1, n_head=2, bos_token_id=0, eos_token_id=0
    )
    return transformers.GPT2LMHeadModel(config).eval()


def test_language_model_lists_next_tokens_and_explains_one(minilm):
    tokenizer = minilm[1]
    model = tiny_gpt2(tokenizer.vocab_size)
    widget = TextExplainer(model, tokenizer, "the cat sat on the", steps=8, top_k=3)
    widget.wait()
    encoded = tokenizer(["the cat sat on the"], return_tensors="pt")
    with torch.no_grad():
        log_probabilities = model(**encoded).logits[0, -1].log_softmax(-1)
    top = log_probabilities.argsort(descending=True)[:3].tolist()
    assert [row["index"] for row in widget.outputs] == top
    assert widget.target == top[0]
    assert widget.outputs[0]["label"] == tokenizer.decode([top[0]])
    assert widget.outputs[0]["probability"] == pytest.approx(float(log_probabilities[top[0]].exp()), rel=1e-5)
    assert {row["kind"] for row in widget.outputs} == {"probability"}
    payload = widget.result
    assert payload["task"] == "next_token" and payload["output"] == "log_probability"
    assert payload["completeness"]["score"] == pytest.approx(float(log_probabilities[top[0]]), abs=1e-5)
    widget.target = top[2]
    widget.wait()
    assert widget.result["completeness"]["score"] == pytest.approx(float(log_probabilities[top[2]]), abs=1e-5)


def test_baselines_offered_are_those_the_tokenizer_can_make():
    """GPT-2's tokenizer has no pad or mask token: the default "pad" put the view in an error state and
    the menu offered "pad" and "mask", which fail. Now the menu holds what the tokenizer can make and the
    view starts from the first of them; a name it cannot make is refused naming those."""
    from ig_widget.generation_examples import byte_level_tokenizer, random_gpt2

    tokenizer = byte_level_tokenizer()  # no pad or mask token; its unknown token is <|endoftext|>
    model = random_gpt2(len(tokenizer), layers=1, hidden=16, heads=2, seed=1)
    widget = TextExplainer(model, tokenizer, "The quick brown fox", steps=4)
    widget.wait()
    assert widget.choices["baseline"] == ["unk", "zero"]
    assert widget.baseline == "unk" and widget.status == "done" and widget.error == ""
    assert widget.result["baseline"] == "unk"
    for name in ("pad", "mask"):
        with pytest.raises(traitlets.TraitError, match=f"baseline='{name}' needs a {name} token.*use one of unk, zero"):
            widget.baseline = name
    with pytest.raises(traitlets.TraitError, match="baseline='pad' needs a pad token"):
        TextExplainer(model, tokenizer, "The quick brown fox", steps=4, baseline="pad")
    widget.baseline = "zero"
    widget.wait()
    assert widget.status == "done" and widget.result["baseline"] == "zero"


def test_language_model_view_explains_the_probability_when_asked(minilm):
    """The view forced a language model's output to its log-probability: output="probability" was dropped."""
    tokenizer = minilm[1]
    model = tiny_gpt2(tokenizer.vocab_size)
    encoded = tokenizer(["the cat sat on the"], return_tensors="pt")
    with torch.no_grad():
        log_probabilities = model(**encoded).logits[0, -1].log_softmax(-1)
    for output, expected in (("probability", log_probabilities.exp()), ("logit", log_probabilities)):
        widget = TextExplainer(model, tokenizer, "the cat sat on the", steps=8, output=output, target=5)
        widget.wait()
        assert widget.status == "done"
        assert widget.result["output"] == {"probability": "probability", "logit": "log_probability"}[output]
        assert widget.result["completeness"]["score"] == pytest.approx(float(expected[5]), rel=1e-5)


def test_language_model_target_by_the_label_the_view_shows():
    """The outputs list shows ' jumps' (decoded) but a target was matched against the tokenizer's
    'Ġjumps' only, so the shown label was refused; and every byte piece of a character showed '\ufffd'."""
    from ig_widget.generation_examples import byte_level_tokenizer, random_gpt2

    tokenizer = byte_level_tokenizer()
    model = random_gpt2(len(tokenizer), layers=1, hidden=16, heads=2, seed=1)
    jumps = tokenizer.convert_tokens_to_ids("Ġjumps")
    widget = TextExplainer(model, tokenizer, "The quick brown fox jumps", baseline="zero", steps=4, target=" jumps")
    assert widget.target == jumps and widget._label(jumps) == " jumps"
    widget.target = 0
    widget.target = "Ġjumps"  # the tokenizer's own spelling still works
    assert widget.target == jumps
    pieces = [i for i in range(len(tokenizer)) if "\ufffd" in tokenizer.decode([i])]
    assert len(pieces) > 10
    labels = [widget._label(i) for i in pieces]
    assert len(set(labels)) == len(labels) and "\ufffd" not in "".join(labels)
    widget.target = labels[3]
    assert widget.target == pieces[3]
    listed = ", ".join(repr(row["label"]) for row in widget.outputs[:5])  # the top five (top_k)
    with pytest.raises(traitlets.TraitError, match=re.escape(f"the outputs list shows it ({listed}, ...)")):
        widget.target = "no such token"
    widget.wait()


def test_view_only_traits_do_not_recompute(explainer):
    explainer.wait()
    before = explainer.result
    explainer.granularity = "words"
    explainer.sign = "positive"
    assert explainer.result is before and explainer.status == "done"
    with pytest.raises(traitlets.TraitError):
        explainer.granularity = "letters"
    with pytest.raises(traitlets.TraitError, match="unknown"):
        explainer.baseline = "blur"


def test_bad_arguments_are_named(similarity, minilm):
    encoder, tokenizer = minilm
    with pytest.raises(ValueError, match="labels has 3 names"):
        TextExplainer(similarity, tokenizer, TEXT, labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="non-empty string"):
        TextExplainer(similarity, tokenizer, "   ")
    with pytest.raises(ValueError, match="SentenceSimilarity"):
        TextExplainer(encoder, tokenizer, TEXT)
    with pytest.raises(ValueError, match="not one of the labels"):
        TextExplainer(similarity, tokenizer, TEXT, labels=QUERIES, target="sunny")
    with pytest.raises(igw.AttributionInputError, match="callable"):
        TextExplainer("model", tokenizer, TEXT)


@pytest.mark.parametrize("top_k", [-3, 0, 2.5])
def test_top_k_that_is_not_a_positive_int_is_refused_before_the_model_runs(similarity, minilm, top_k, monkeypatch):
    """As the image view: top_k=-3 sliced the outputs list from its end, after the prediction pass. The
    class's forward is counted (the view runs a twin of the same class, without the user's hooks)."""
    _, tokenizer = minilm
    calls = []
    original = type(similarity).forward

    @functools.wraps(original)
    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(similarity), "forward", counted)
    with pytest.raises(ValueError, match=rf"top_k must be a positive int .*got {top_k!r}"):
        TextExplainer(similarity, tokenizer, TEXT, labels=QUERIES, top_k=top_k)
    assert calls == []
    TextExplainer(similarity, tokenizer, TEXT, labels=QUERIES, top_k=2).wait()
    assert calls  # the count sees the view's passes


def test_one_line_minilm_explainers():
    from ig_widget.text_examples import sentiment_explainer, similarity_explainer

    widget = similarity_explainer("A quiet evening by the sea", ["the ocean at night", "a busy office"], steps=8)
    widget.wait()
    assert [row["label"] for row in widget.outputs][0] == "the ocean at night"
    assert widget.result["target_label"] == "the ocean at night"
    sentiment = sentiment_explainer("What a lovely, delightful surprise", steps=8)
    sentiment.wait()
    assert sentiment.result["target_label"] == "positive"


def test_static_export_precomputes_every_listed_query(explainer, tmp_path):
    page = igw.export_html(explainer, tmp_path / "text.html").read_text(encoding="utf-8")
    for label in QUERIES:  # the shown outputs are computed in advance, so clicking works offline
        assert re.search(r'"target_label":\s*"' + label + '"', page)
    assert re.search(r'"tokens":\s*\[\s*"\[CLS\]",\s*"The",\s*"movie"', page)


def test_listed_queries_are_precomputed_and_a_click_needs_no_computation(similarity, minilm, monkeypatch):
    import ig_widget.widgets.text as text_module

    walks = []
    real = text_module.text_integrated_gradients_multi

    def counted(*args, **kwargs):
        walks.append(list(kwargs["targets"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(text_module, "text_integrated_gradients_multi", counted)
    widget = TextExplainer(similarity, minilm[1], TEXT, labels=QUERIES, steps=8)
    widget.wait()
    assert walks == [[0], [1]]  # the shown query alone first, then the other listed one
    widget.target = 1
    assert widget.status == "done" and widget.result["target"] == 1 and len(walks) == 2
    expected = igw.text_integrated_gradients(similarity, TEXT, target=1, tokenizer=minilm[1], steps=8)
    np.testing.assert_allclose(decode_array(widget.result["attributions"]), expected.token_scores[0].numpy(), atol=1e-5)


def test_similarities_are_listed_as_raw_scores(explainer, similarity, minilm):
    with torch.no_grad():
        scores = similarity(**minilm[1]([TEXT], return_tensors="pt"))[0]
    assert [row["kind"] for row in explainer.outputs] == ["score", "score"]
    assert all("probability" not in row for row in explainer.outputs)
    assert [row["score"] for row in explainer.outputs] == pytest.approx(scores.tolist(), abs=1e-6)
    with pytest.raises(ValueError, match="score_kind='logits' is unknown"):
        TextExplainer(similarity, minilm[1], TEXT, score_kind="logits")


def test_a_label_set_as_target_after_construction_becomes_its_index(explainer):
    explainer.target = QUERIES[1]
    assert explainer.target == 1 and explainer.result["target_label"] == QUERIES[1]
    with pytest.raises(
        traitlets.TraitError, match=r"target='sunny' is not one of the labels \(a great film, the weather"
    ):
        explainer.target = "sunny"
    assert explainer.target == 1


class MeanOfEmbeddings(torch.nn.Module):
    """A tiny text classifier with MiniLM's vocabulary: mean token embedding, then a linear head."""

    def __init__(self, vocabulary: int):
        super().__init__()
        torch.manual_seed(0)
        self.embed, self.head = torch.nn.Embedding(vocabulary, 4), torch.nn.Linear(4, 3)

    def forward(self, input_ids, attention_mask=None):
        return self.head(self.embed(input_ids).mean(dim=1))


def test_an_over_long_text_is_warned_about_once_not_on_every_recompute(minilm):
    import warnings

    tokenizer = minilm[1]
    model = MeanOfEmbeddings(tokenizer.vocab_size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        widget = TextExplainer(model, tokenizer, "word " * 600, steps=4)
        widget.wait()
        for change in ({"target": 2}, {"baseline": "mask"}, {"steps": 6}):
            widget.set_trait(*next(iter(change.items())))
            widget.wait()
    cut = [w for w in caught if "cut to its first" in str(w.message)]
    assert len(cut) == 1 and widget.status == "done", widget.error
    assert len(widget.result["tokens"]) == tokenizer.model_max_length
