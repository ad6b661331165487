"""A view never shows a result of weights its model no longer has (`widgets/model_watch.py`).

Reproduces the defect found at the end of the sixth session: an ImageExplainer whose model was trained in
place showed, on a click back to a cached target, F(x) of the old weights (2.66) beside outputs of the new
ones (8.93). Every check here compares the view with the model as it is now, computed independently.
"""

from __future__ import annotations

import copy
import threading
import time
import warnings

import pytest
import torch
from torch import nn

import ig_widget as igw
from ig_widget.attribution.model_version import model_fingerprint, model_versions
from ig_widget.widgets.model_watch import POLL_S, ModelChangedError, ModelChangedWarning

TIMEOUT = 30.0


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10)
    ).eval()


@pytest.fixture
def image():
    torch.manual_seed(1)
    return torch.rand(1, 8, 8)


def logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x[None])[0]


def shown_score(widget) -> float:
    return widget.result["completeness"]["score"]


def wait_for(condition, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_cached_target_is_computed_again_after_the_weights_change_in_place(image):
    model = small_cnn()
    view = igw.ImageExplainer(model, image, steps=8)
    view.wait()
    first = view.target
    view.target = (first + 1) % 10  # now both are cached, with the five listed outputs
    view.wait()
    old = logits(model, image)
    with torch.no_grad():  # what an optimizer step does
        model[4].weight.mul_(1.5)
    new = logits(model, image)
    assert not torch.allclose(old, new)

    view.target = first  # a click back to a target cached from the old weights
    view.wait()
    assert shown_score(view) == pytest.approx(float(new[first]), abs=1e-5)
    assert view.explanation.score[0].item() == pytest.approx(float(new[first]), abs=1e-5)
    listed = {row["index"]: row["score"] for row in view.outputs}
    assert listed == pytest.approx({index: float(new[index]) for index in listed}, abs=1e-6)
    assert view.model_changed is False
    for request, payload in view.computed_payloads().items():  # no old map left to click to
        assert payload["completeness"]["score"] == pytest.approx(float(new[request.target]), abs=1e-5)


def test_writes_past_the_version_counter_are_caught_at_the_next_request(image):
    model = small_cnn()
    view = igw.ImageExplainer(model, image, steps=8)
    view.wait()
    model[4].bias.data.add_(1.0)  # `.data` bypasses autograd's version counter
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert view.explanation is not None  # still the shown result, but said to be of the earlier weights
    assert [warning.category for warning in caught] == [ModelChangedWarning]
    assert view.refresh() is True
    view.wait()
    assert shown_score(view) == pytest.approx(float(logits(model, image)[view.target]), abs=1e-5)
    assert view.refresh() is False  # nothing changed since: nothing recomputed


def test_the_watch_says_the_model_changed_while_nobody_asks_and_recompute_clears_it(image):
    model = small_cnn()
    view = igw.ImageExplainer(model, image, steps=8)
    view.wait()
    time.sleep(2 * POLL_S)
    assert view.model_changed is False  # our own computations write nothing of the model's
    model.train()(image[None])  # a training forward: BatchNorm's running statistics move
    model.eval()
    wait_for(lambda: view.model_changed, 5 * POLL_S)
    assert shown_score(view) != pytest.approx(float(logits(model, image)[view.target]), abs=1e-5)
    view._handle_custom_msg({"type": "refresh"}, [])  # what the Recompute button sends, as ipywidgets hands it on
    view.wait()
    assert view.model_changed is False
    assert shown_score(view) == pytest.approx(float(logits(model, image)[view.target]), abs=1e-5)


class Gated(nn.Module):
    """Blocks its forward passes outside the main thread until `gate` opens (the test changes the weights
    meanwhile)."""

    def __init__(self, inner: nn.Module, fails: bool = False):
        super().__init__()
        self.inner = inner
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.fails = fails  # then the background pass fails once the gate opens, as autograd does after a step

    def forward(self, x):
        if threading.current_thread() is not threading.main_thread():
            self.entered.set()
            assert self.gate.wait(TIMEOUT)
            if self.fails:
                raise RuntimeError("one of the variables needed for gradient computation has been modified")
        return self.inner(x)


def test_a_result_whose_model_changed_while_it_was_computed_is_refused_not_shown(image):
    model = Gated(small_cnn())
    view = igw.ImageExplainer(model, image, steps=8, preview=None)
    assert model.entered.wait(TIMEOUT)  # the first map is being computed in the background
    with torch.no_grad():
        model.inner[0].weight.add_(0.1)  # a training step in another cell
    model.gate.set()
    view.wait()
    assert view.status == "error" and isinstance(view.last_exception, ModelChangedError)
    assert "changed while this result was computed" in view.error
    assert view.computed_payloads() == {} and view.result == {}
    view.refresh()
    view.wait()
    assert view.status == "done"
    assert shown_score(view) == pytest.approx(float(logits(model, image)[view.target]), abs=1e-5)


def test_a_failure_while_the_model_changed_is_said_to_be_the_change(image):
    model = Gated(small_cnn(), fails=True)
    view = igw.ImageExplainer(model, image, steps=8, preview=None)
    assert model.entered.wait(TIMEOUT)
    with torch.no_grad():
        model.inner[0].weight.add_(0.1)  # an optimizer step while the view's backward pass needs the weights
    model.gate.set()
    view.wait()
    assert isinstance(view.last_exception, ModelChangedError)
    assert isinstance(view.last_exception.__cause__, RuntimeError)  # autograd's words, kept as the cause


def test_a_model_that_no_longer_fits_the_view_is_named_in_the_view(image):
    model = small_cnn()
    view = igw.ImageExplainer(model, image, steps=8)
    view.wait()
    model[4] = nn.Linear(4 * 8 * 8, 3)  # another head: three classes where the view lists ten
    view.target = 2
    assert view.status == "error" and "3 class scores where this view was made for 10" in view.error
    assert view.model_changed is True  # the map and outputs still on screen are the earlier model's: said so
    assert view.computed_payloads() == {}  # the ten-class maps are gone


def test_the_checks_panel_is_cleared_with_the_maps(image):
    model = small_cnn()
    view = igw.ImageExplainer(model, image, steps=4)
    view.wait()
    view.checks = {"for": {"target": view.target}, "deletion": {}}  # as `run_checks` leaves it
    with torch.no_grad():
        model[0].bias.add_(0.5)
    view.refresh()
    view.wait()
    assert view.checks == {}


def test_the_view_keeps_its_own_copy_of_the_image(image):
    model = small_cnn()
    view = igw.ImageExplainer(model, image, steps=4)
    view.wait()
    before = view.result["completeness"]["score"]
    image.mul_(0.0)  # the user's tensor, reused for something else
    view.refresh()
    view.wait()
    assert view.result["completeness"]["score"] == before
    assert float(view._x.abs().sum()) > 0


def test_an_exported_page_never_keeps_maps_of_earlier_weights(image, tmp_path):
    model = small_cnn()
    view = igw.ImageExplainer(model, image, steps=4)
    view.wait()
    with torch.no_grad():
        model[4].bias.add_(2.0)
    igw.export_html(view, tmp_path / "page.html", targets=None)
    assert shown_score(view) == pytest.approx(float(logits(model, image)[view.target]), abs=1e-5)


def test_the_text_explainer_follows_its_model_too():
    transformers = pytest.importorskip("transformers")  # noqa: F841
    from ig_widget.text_examples import SentenceSimilarity, load_minilm

    encoder, tokenizer = load_minilm()
    encoder = copy.deepcopy(encoder)  # the loader's model is shared with other tests: change a copy
    similarity = SentenceSimilarity(encoder, tokenizer, ["a great film", "the weather is cold"])
    view = igw.TextExplainer(similarity, tokenizer, "The movie was wonderful", steps=4)
    view.wait()
    before = [row["score"] for row in view.outputs]
    with torch.no_grad():
        encoder.embeddings.word_embeddings.weight.mul_(0.5)
    view.target = view.target  # unchanged: no request; the watch marks the view
    wait_for(lambda: view.model_changed, 5 * POLL_S)
    view.refresh()
    view.wait()
    with torch.no_grad():
        scores = similarity(**tokenizer(["The movie was wonderful"], return_tensors="pt"))[0]
    after = {row["index"]: row["score"] for row in view.outputs}
    assert after == pytest.approx({index: float(scores[index]) for index in after}, abs=1e-5)
    assert list(after.values()) != pytest.approx(before, abs=1e-5)
    assert view.result["completeness"]["score"] == pytest.approx(float(scores[view.target]), abs=1e-5)


def test_the_fingerprint_sees_what_the_versions_cannot():
    model = small_cnn()
    versions, fingerprint = model_versions(model), model_fingerprint(model)
    model[1].weight.data.mul_(2.0)  # ones(4) doubled: their XOR stays the same, their sum does not
    assert model_versions(model) == versions
    assert model_fingerprint(model) != fingerprint
    model[1].weight.data.mul_(0.5)
    assert model_fingerprint(model) == fingerprint  # the same values again: the same reading


def test_the_generation_explainer_generates_again_from_the_changed_model():
    pytest.importorskip("transformers")
    from ig_widget.generation_examples import byte_level_tokenizer, random_gpt2

    tokenizer = byte_level_tokenizer()
    model = random_gpt2(len(tokenizer), layers=1, hidden=16, heads=2, seed=2)
    view = igw.GenerationExplainer(model, tokenizer, "The quick fox", max_new_tokens=3, steps=4)
    view.wait()
    view.selected = 2
    view.wait()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(1.7)  # another model: the greedy text and every row change
    view.target_kind = "log_probability"  # the next request catches up first
    view.wait()
    expected = igw.explain_generation(
        model, tokenizer, "The quick fox", max_new_tokens=3, target="log_probability", steps=4
    )
    assert view.generation.token_ids.tolist() == expected.generation.token_ids.tolist()
    assert view.generation.log_probabilities == pytest.approx(expected.generation.log_probabilities, abs=1e-5)
    shown = view.explanation
    assert [row.result.score.item() for row in shown.rows] == pytest.approx(
        [row.result.score.item() for row in expected.rows], abs=1e-5
    )
    assert view.selected == 2 and view.model_changed is False


def test_the_method_comparison_compares_the_changed_model(image):
    from ig_widget.evaluation import compare_methods

    model = small_cnn()
    view = igw.MethodComparison(model, image, target=1, steps=4, deletion_steps=4, sanity=False)
    view.wait()
    view.target = 2
    view.wait()
    with torch.no_grad():
        model[4].weight.mul_(-1.0)
    view.target = 1  # finished before the change: compared again now
    compared = view.wait()
    expected = compare_methods(model, image[None], target=1, steps=4, deletion_steps=4, sanity=False)
    assert [method.name for method in compared] == [method.name for method in expected]
    for got, want in zip(compared, expected):
        assert torch.allclose(got.attributions, want.attributions, atol=1e-5), got.name


def test_the_fingerprint_samples_a_large_tensor_and_still_sees_a_step_through_data():
    model = nn.Linear(2048, 1024)  # 2 M weights: read at 4096 spread-out elements
    fingerprint = model_fingerprint(model)
    model.weight.data.sub_(1e-3 * torch.randn_like(model.weight))  # a hand-written SGD step
    assert model_fingerprint(model) != fingerprint


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")  # deprecated, still met in models
def test_the_fingerprint_reads_every_kind_of_tensor_a_module_may_hold():
    model = nn.Linear(3, 3)
    model.register_buffer("float8", torch.ones(3).to(torch.float8_e4m3fn))
    model.register_buffer("quantized", torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.qint8))
    model.register_buffer("sparse", torch.eye(3).to_sparse())  # followed by its version alone
    model.register_buffer("unsigned", torch.ones(3, dtype=torch.uint16))
    model.register_buffer("complex", torch.ones(3, dtype=torch.complex64))
    fingerprint = model_fingerprint(model)
    assert model_fingerprint(model) == fingerprint
    model.quantized.data = torch.quantize_per_tensor(torch.full((3,), 2.0), 0.1, 0, torch.qint8)
    assert model_fingerprint(model) != fingerprint
    fingerprint = model_fingerprint(model)
    model.unsigned.data.fill_(2)
    assert model_fingerprint(model) != fingerprint
