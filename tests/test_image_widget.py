"""ImageExplainer on the kernel side: traits, payload, target sync, recomputation, errors."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
import traitlets
from ipywidgets.widgets.widget import _remove_buffers
from PIL import Image
from torch import nn

from ig_widget import ImageExplainer, integrated_gradients, schema
from ig_widget.encode import decode_array, max_error
from ig_widget.examples import DIGIT_LABELS
from ig_widget.widgets.explainer import BUNDLE


def payload_bytes(state: dict) -> int:
    _, _, buffers = _remove_buffers(state)
    return sum(len(memoryview(buffer).cast("B")) for buffer in buffers)


def small_rgb_cnn(classes: int = 5, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, classes)
    ).eval()


@pytest.fixture
def explainer(digits):
    model, images, _ = digits
    widget = ImageExplainer(model, images[3], labels=DIGIT_LABELS, steps=16)
    widget.wait()
    return widget


def test_traits_and_top_prediction(explainer, digits):
    model, images, _ = digits
    logits = model(images[3:4])[0]
    assert explainer._view == "image" and explainer._esm == BUNDLE.read_text()
    assert explainer.target == int(logits.argmax())
    assert explainer.status == "done" and explainer.error == "" and explainer.progress == 1.0
    scores = [row["score"] for row in explainer.outputs]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)
    assert [row["label"] for row in explainer.outputs] == [DIGIT_LABELS[row["index"]] for row in explainer.outputs]
    assert sum(torch.softmax(logits, 0)[row["index"]].item() for row in explainer.outputs) == pytest.approx(
        sum(row["probability"] for row in explainer.outputs), rel=1e-5
    )
    assert set(explainer.choices) == {
        "baseline",
        "rule",
        "path",
        "sign",
        "display",
        "unused",
        "checked",
    }  # menus sent by the kernel (schema.py), the controls each path ignores, what a check is for
    assert explainer.choices["unused"]["blur"].keys() == {"baseline"}
    assert explainer.choices["unused"]["guided"].keys() == {"rule"}


def test_payload_matches_the_attribution_result(explainer, digits):
    model, images, _ = digits
    expected = integrated_gradients(model, images[3:4], target=explainer.target, steps=16)
    payload = explainer.result
    assert (payload["height"], payload["width"], payload["channels"]) == (8, 8, 1)
    np.testing.assert_allclose(decode_array(payload["attributions"]), expected.attributions[0, 0].numpy(), atol=1e-6)
    trace = payload["trace"]
    np.testing.assert_allclose(decode_array(trace["alphas"]), expected.trace.alphas.numpy(), atol=1e-7)
    np.testing.assert_allclose(decode_array(trace["scores"]), expected.trace.scores[:, 0].numpy(), atol=1e-5)
    for name in ("gradients", "cumulative"):
        decoded = decode_array(trace[name])
        assert decoded.shape == (16, 8, 8)
        np.testing.assert_allclose(
            decoded, getattr(expected.trace, name)[:, 0].numpy(), atol=max_error(trace[name]) + 1e-7
        )
    assert payload["completeness"]["gap"] == pytest.approx(float(expected.gap[0]), abs=1e-5)
    # the display bytes map back to the model input through the per-channel affine map
    image = decode_array(payload["image"]).reshape(8, 8, 3)
    assert (image[..., 0] == image[..., 1]).all()
    restored = payload["input_offset"][0] + payload["input_scale"][0] * image[..., 0]
    np.testing.assert_allclose(restored, images[3, 0].numpy(), atol=payload["input_scale"][0] / 2 + 1e-6)
    assert payload_bytes(explainer.get_state()) > 2 * 16 * 64  # the maps cross as binary buffers


def test_payload_for_224_pixels_and_32_steps_stays_under_4_mb():
    model = small_rgb_cnn(classes=10)
    image = torch.rand(3, 224, 224, generator=torch.Generator().manual_seed(0))
    widget = ImageExplainer(model, image, steps=32)
    widget.wait(120)
    assert widget.status == "done", widget.error
    total = payload_bytes(widget.get_state())
    assert 3_000_000 < total < 4_000_000


def test_target_is_two_way_synced_and_recomputes(explainer):
    first = explainer.result
    other = next(row["index"] for row in explainer.outputs if row["index"] != explainer.target)
    explainer.target = other
    explainer.wait()
    assert explainer.result["target"] == other and explainer.result is not first
    # a class outside the top-k is added to the outputs so the view can mark it
    outside = next(i for i in range(10) if i not in {row["index"] for row in explainer.outputs})
    explainer.target = outside
    explainer.wait()
    assert outside in [row["index"] for row in explainer.outputs]
    with pytest.raises(traitlets.TraitError, match="target=10"):
        explainer.target = 10


@pytest.mark.parametrize("name, value", [("baseline", "blur"), ("rule", "riemann_trapezoid"), ("steps", 5)])
def test_each_control_recomputes_and_returns_to_the_cache(explainer, name, value):
    first = explainer.result
    original = getattr(explainer, name)
    setattr(explainer, name, value)
    explainer.wait()
    assert explainer.result[name] == value
    assert decode_array(explainer.result["attributions"]).tolist() != decode_array(first["attributions"]).tolist()
    setattr(explainer, name, original)
    assert explainer.status == "done" and explainer.result is first  # from the cache, no recomputation


def test_bad_control_values_are_refused(explainer):
    with pytest.raises(traitlets.TraitError, match="baseline='sepia'"):
        explainer.baseline = "sepia"
    with pytest.raises(traitlets.TraitError, match="rule='simpson'"):
        explainer.rule = "simpson"
    with pytest.raises(traitlets.TraitError, match="steps=0"):
        explainer.steps = 0


class SlowCounted(nn.Module):
    """Sleeps a little per forward pass and records the batch sizes it saw."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner, self.batches = inner, []

    def forward(self, x):
        self.batches.append(x.shape[0])
        time.sleep(0.03)
        return self.inner(x)


def test_a_newer_request_replaces_an_older_one(digits):
    model, images, _ = digits
    slow = SlowCounted(model)
    widget = ImageExplainer(slow, images[0], steps=4)
    widget.wait()
    slow.batches.clear()
    widget.steps = 400  # 8 chunks of 50 points
    while not slow.batches:
        time.sleep(0.005)
    widget.steps = 8
    widget.wait()
    assert widget.result["steps"] == 8 and widget.status == "done"
    assert slow.batches.count(50) < 8, "the superseded computation ran to the end"


class FailsOnBatches(nn.Module):
    """A model that raises on a batch of more than `limits["rows"]` images (a dict: the explainers run a twin
    of the module with attributes of its own, and a change to an int attribute would not reach it)."""

    def __init__(self, inner: nn.Module, rows: int = 1):
        super().__init__()
        self.inner, self.limits = inner, {"rows": rows}

    def forward(self, x):
        if x.shape[0] > self.limits["rows"]:
            raise RuntimeError(f"this model takes {self.limits['rows']} image at a time, got {x.shape[0]}")
        return self.inner(x)


def test_an_error_becomes_readable_text_and_clears_on_success(digits):
    model, images, _ = digits
    failing = FailsOnBatches(model)
    widget = ImageExplainer(failing, images[0], steps=16)
    widget.wait()
    assert widget.status == "error"
    assert widget.error.startswith("RuntimeError: this model takes 1 image at a time")
    assert isinstance(widget.last_exception, RuntimeError)
    failing.limits["rows"] = 100  # the user fixes the model, then asks again
    widget.steps = 8
    widget.wait()
    assert widget.status == "done" and widget.error == ""


def test_the_users_model_is_left_as_it_was(digits):
    model, images, _ = digits
    model.train()
    flags = [p.requires_grad for p in model.parameters()]
    try:
        widget = ImageExplainer(model, images[0], steps=8)
        widget.wait()
        assert model.training and [p.requires_grad for p in model.parameters()] == flags
    finally:
        model.eval()


def test_pil_image_with_preprocess_displays_the_original_pixels():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])

    def preprocess(image):
        tensor = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float() / 255
        return (tensor - mean[:, None, None]) / std[:, None, None]

    widget = ImageExplainer(small_rgb_cnn(), Image.fromarray(pixels), preprocess=preprocess, steps=4)
    widget.wait()
    shown = decode_array(widget.result["image"]).reshape(12, 12, 3)
    assert np.abs(shown - pixels).max() <= 1
    # black in model units (0 after Normalize) is the mean colour on screen
    baseline = decode_array(widget.result["baseline_image"]).reshape(12, 12, 3)
    np.testing.assert_allclose(baseline[0, 0], (mean * 255).numpy(), atol=1.0)


def test_uint8_array_without_preprocess_becomes_unit_floats():
    pixels = np.arange(10 * 10 * 3, dtype=np.uint8).reshape(10, 10, 3)
    model = small_rgb_cnn()
    widget = ImageExplainer(model, pixels, steps=4)
    widget.wait()
    with torch.no_grad():
        expected = model(torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255)[0]
    assert widget.outputs[0]["score"] == pytest.approx(float(expected.max()), rel=1e-5)


@pytest.mark.parametrize(
    "image, labels, match",
    [
        (torch.rand(4, 8, 8), None, r"shape \(4, 8, 8\)"),
        (torch.rand(1, 8, 8), ["a", "b"], "labels has 2 names"),
        (np.zeros((8, 8), dtype=bool), None, "became a torch.bool tensor"),
    ],
)
def test_bad_input_is_refused_before_any_work(digits, image, labels, match):
    model, _, _ = digits
    with pytest.raises(ValueError, match=match):
        ImageExplainer(model, image, labels=labels)


@pytest.mark.parametrize("top_k", [-3, 0, 2.5, True, "3"])
def test_top_k_that_is_not_a_positive_int_is_refused_before_the_model_runs(count_calls, top_k):
    """top_k=-3 listed seven of ten outputs (a slice from the end), 0 the target alone, 2.5 failed in a
    slice after the model ran."""
    model = count_calls(small_rgb_cnn(classes=10))
    with pytest.raises(ValueError, match=rf"top_k must be a positive int \(how many .*\); got {top_k!r}"):
        ImageExplainer(model, torch.rand(3, 8, 8), top_k=top_k, steps=4, preview=None)
    assert model.forwards == 0
    widget = ImageExplainer(model, torch.rand(3, 8, 8), top_k=2, steps=4, preview=None)
    widget.wait()
    assert len(widget.outputs) == 2


def test_model_output_must_be_class_scores():
    with pytest.raises(ValueError, match=r"model\(image\) gave \(1,\)"):
        ImageExplainer(lambda x: x.flatten()[:1], torch.rand(1, 8, 8))


def test_computation_runs_in_the_background(digits):
    model, images, _ = digits
    slow = SlowCounted(model)
    started = time.monotonic()
    widget = ImageExplainer(slow, images[1], steps=64)
    assert time.monotonic() - started < 0.5 and widget.status == "computing"
    assert threading.active_count() >= 2
    widget.wait()
    assert widget.status == "done"


class EngineCalls:
    """Counts the engine calls the image widget makes, passing each through to the real engine."""

    def __init__(self, monkeypatch):
        import ig_widget.widgets.image as image_module

        self.single, self.multi = [], []
        real_single, real_multi = image_module.integrated_gradients, image_module.integrated_gradients_multi

        def single(*args, **kwargs):
            self.single.append(kwargs["target"])
            return real_single(*args, **kwargs)

        def multi(*args, **kwargs):
            self.multi.append(list(kwargs["targets"]))
            return real_multi(*args, **kwargs)

        monkeypatch.setattr(image_module, "integrated_gradients", single)
        monkeypatch.setattr(image_module, "integrated_gradients_multi", multi)


def test_listed_outputs_are_precomputed_in_one_walk_and_clicks_need_no_computation(digits, monkeypatch):
    model, images, _ = digits
    calls = EngineCalls(monkeypatch)
    # no preview: on a loaded machine even this model's estimate can pass PREVIEW_ABOVE_S, adding a call
    widget = ImageExplainer(model, images[3], labels=DIGIT_LABELS, steps=16, preview=None)
    widget.wait()
    listed = [row["index"] for row in widget.outputs]
    assert calls.single == [listed[0]] and calls.multi == [listed[1:]]  # the shown target first, alone
    for other in listed[1:]:
        widget.target = other  # as a click in the view does
        assert widget.status == "done" and widget.result["target"] == other
        expected = integrated_gradients(model, images[3:4], target=other, steps=16)
        np.testing.assert_allclose(
            decode_array(widget.result["attributions"]), expected.attributions[0, 0].numpy(), atol=1e-5
        )
        torch.testing.assert_close(widget.explanation.attributions, expected.attributions, atol=1e-5, rtol=0)
    assert len(calls.single) == 1 and len(calls.multi) == 1
    widget.baseline = "blur"  # new settings: the shown target alone, then the rest in one walk again
    widget.wait()
    assert calls.single[1:] == [listed[-1]] and calls.multi[1:] == [listed[:-1]]


def test_a_click_on_a_target_the_walk_is_computing_waits_for_that_walk(digits, monkeypatch):
    model, images, _ = digits
    import ig_widget.widgets.image as image_module

    walking, release = threading.Event(), threading.Event()
    real_multi = image_module.integrated_gradients_multi

    def held_multi(*args, **kwargs):
        walking.set()
        release.wait(10)
        return real_multi(*args, **kwargs)

    monkeypatch.setattr(image_module, "integrated_gradients_multi", held_multi)
    calls = EngineCalls(monkeypatch)
    widget = ImageExplainer(model, images[3], labels=DIGIT_LABELS, steps=8, preview=None)
    assert walking.wait(10)
    second = widget.outputs[1]["index"]
    widget.target = second
    assert widget.status == "computing"
    release.set()
    widget.wait()
    assert widget.status == "done" and widget.result["target"] == second
    assert len(calls.single) == 1 and len(calls.multi) == 1


def test_outputs_say_what_their_scores_are(digits):
    model, images, _ = digits
    classes = ImageExplainer(model, images[3], steps=2)
    assert {row["kind"] for row in classes.outputs} == {"probability"}
    regression = ImageExplainer(nn.Sequential(nn.Flatten(), nn.Linear(64, 1)), images[3], steps=2)
    assert [set(row) for row in regression.outputs] == [{"index", "label", "score", "kind"}]
    assert regression.outputs[0]["kind"] == "score"
    told = ImageExplainer(model, images[3], steps=2, score_kind="score")
    assert [row["score"] for row in told.outputs] == [row["score"] for row in classes.outputs]
    assert all(row["kind"] == "score" and "probability" not in row for row in told.outputs)
    for widget in (classes, regression, told):
        widget.wait()
    with pytest.raises(ValueError, match="score_kind='percent' is unknown; use 'probability'"):
        ImageExplainer(model, images[3], score_kind="percent")


def test_a_label_set_as_target_after_construction_becomes_its_index(explainer):
    other = next(row for row in explainer.outputs if row["index"] != explainer.target)
    explainer.target = other["label"]
    assert explainer.target == other["index"] and isinstance(explainer.target, int)
    assert explainer.status == "done" and explainer.result["target"] == other["index"]  # a listed one: cached
    explainer.target = np.int64(2)
    assert explainer.target == 2 and type(explainer.target) is int
    with pytest.raises(traitlets.TraitError, match=r"target='ten' is not one of the labels \(0, 1, 2, 3"):
        explainer.target = "ten"
    with pytest.raises(
        traitlets.TraitError, match=r"target=2\.5 is not a class index; use an int in 0\.\.9 or a label"
    ):
        explainer.target = 2.5
    assert explainer.target == 2
    explainer.wait()  # class 2 may be outside the listed ones: let its computation finish


def shown_results(widget) -> list[dict]:
    """Every payload the view is sent from now on, in order."""
    shown = []
    widget.observe(lambda change: shown.append(change["new"]), names="result")
    return shown


def view_numbers_equal(widget) -> None:
    """The numbers the view prints (map cells, completeness) are those of `widget.explanation`."""
    result, payload = widget.explanation, widget.result
    assert payload["steps"] == result.steps
    np.testing.assert_array_equal(
        decode_array(payload["attributions"]), result.attributions[0].sum(dim=0).float().numpy()
    )
    for name, values in (("score", result.score), ("gap", result.gap), ("relative_gap", result.relative_gap)):
        assert payload["completeness"][name] == float(values[0])


def test_a_preview_is_shown_while_the_request_computes_then_replaced_in_place(digits, monkeypatch):
    model, images, _ = digits
    import ig_widget.widgets.image as image_module

    refining, release = threading.Event(), threading.Event()
    real_multi = image_module.integrated_gradients_multi

    def held_multi(*args, **kwargs):  # the full request (in the listed walk) waits for the test; the preview passes
        if kwargs["steps"] == 16:
            refining.set()
            assert release.wait(10)
        return real_multi(*args, **kwargs)

    monkeypatch.setattr(image_module, "integrated_gradients_multi", held_multi)
    widget = ImageExplainer(model, images[3], labels=DIGIT_LABELS, steps=16, preview=2)
    assert refining.wait(10)
    # the preview is on screen: it says so, the status stays "computing", and explanation is what is shown
    assert widget.result["preview"] == {"final_steps": 16} and widget.result["steps"] == 2
    assert widget.status == "computing" and widget.progress == 0.0
    schema.check_payload(widget.result)
    view_numbers_equal(widget)
    expected = integrated_gradients(model, images[3:4], target=widget.target, steps=2)
    torch.testing.assert_close(widget.explanation.attributions, expected.attributions, atol=1e-5, rtol=0)
    assert widget.computed_payloads() == {}  # never cached: an export never shows a stale preview
    assert widget.final_explanation is None
    data, _ = widget._repr_mimebundle_()  # the picture saved in the notebook waits for the final, never a preview
    assert "image/png" not in data and "no result yet" in data["text/plain"]
    assert widget.explanation is not None  # the view's own result is still the preview
    shown = shown_results(widget)
    release.set()
    widget.wait()
    assert widget.status == "done" and "preview" not in widget.result and widget.result["steps"] == 16
    assert "preview" not in shown[0] and shown[0]["steps"] == 16  # the final replaced the preview first
    view_numbers_equal(widget)
    expected = integrated_gradients(model, images[3:4], target=widget.target, steps=16)
    torch.testing.assert_close(widget.explanation.attributions, expected.attributions, atol=1e-5, rtol=0)
    assert all("preview" not in payload for payload in widget.computed_payloads().values())
    shown.clear()
    widget.target = widget.outputs[1]["index"]  # cached by the listed walk: no preview
    assert widget.status == "done" and [("preview" in payload) for payload in shown] == [False]


def test_a_fast_model_gets_no_preview_and_a_slow_one_does(digits, monkeypatch):
    model, images, _ = digits
    calls = EngineCalls(monkeypatch)
    # One thread: two on a loaded 2-core machine wait tens of ms for each other in any pass, and the
    # estimate would rightly say that this machine is slow.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fast = ImageExplainer(model, images[3], steps=16)  # "auto": its prediction pass took a millisecond
        shown = shown_results(fast)
        fast.wait()
    finally:
        torch.set_num_threads(threads)
    assert fast.preview_steps(fast.current_request()) is None
    assert calls.single == [fast.target] and all("preview" not in payload for payload in shown)

    class Slow(nn.Module):  # 60 ms a pass: 16 steps at 3 passes a step are estimated at 2.9 s
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, x):
            time.sleep(0.06)
            return self.inner(x)

    slow = ImageExplainer(Slow(), images[3], steps=16)
    slow.wait()
    assert slow.preview_steps(slow.current_request()) == 4
    assert slow.preview_steps(slow.current_request()._replace(steps=4)) is None  # not fewer steps: none
    assert calls.single[1:] == [slow.target]  # the 4-step preview; the request itself joins the listed walk
    listed = [row["index"] for row in slow.outputs]
    assert len(calls.multi) == 2 and calls.multi[1] == [slow.target, *(t for t in listed if t != slow.target)]
    assert slow.status == "done" and "preview" not in slow.result
    view_numbers_equal(slow)
    never = ImageExplainer(Slow(), images[3], steps=16, preview=None)
    assert never.preview_steps(never.current_request()) is None
    never.wait()
    assert "preview" not in never.result


def test_a_control_change_during_the_refinement_supersedes_it(digits):
    model, images, _ = digits
    slow = SlowCounted(model)
    widget = ImageExplainer(slow, images[0], steps=400, preview=2)
    while "preview" not in widget.result:  # the preview is shown, the 400 steps are computing
        time.sleep(0.005)
    widget.steps = 8
    widget.wait()
    assert widget.result["steps"] == 8 and "preview" not in widget.result and widget.status == "done"
    assert slow.batches.count(50) < 8, "the superseded refinement ran to the end"
    view_numbers_equal(widget)


@pytest.mark.parametrize("preview", ["yes", 0, True, 2.5])
def test_a_bad_preview_setting_is_refused(digits, preview):
    model, images, _ = digits
    with pytest.raises(ValueError, match=rf"preview={preview!r} is not a preview setting"):
        ImageExplainer(model, images[3], preview=preview)


def test_a_click_on_a_listed_output_during_the_joined_walk_waits_for_it(digits, monkeypatch):
    """After the preview the shown output and the listed ones are computed in one walk; a click on a listed
    output meanwhile says "computing" (no map of its own yet) and the walk in flight answers it."""
    model, images, _ = digits
    import ig_widget.widgets.image as image_module

    walking, release = threading.Event(), threading.Event()
    real_multi = image_module.integrated_gradients_multi

    def held_multi(*args, **kwargs):  # the final walk waits for the test
        walking.set()
        assert release.wait(10)
        return real_multi(*args, **kwargs)

    monkeypatch.setattr(image_module, "integrated_gradients_multi", held_multi)
    calls = EngineCalls(monkeypatch)
    widget = ImageExplainer(model, images[3], labels=DIGIT_LABELS, steps=16, top_k=3, preview=2)
    assert walking.wait(10)
    shown = widget.target
    assert widget.result["target"] == shown and widget.result["preview"] == {"final_steps": 16}
    other = widget.outputs[2]["index"]
    widget.target = other  # a click while the walk that computes it runs
    assert widget.status == "computing" and widget.explanation is None
    release.set()
    widget.wait()
    assert widget.status == "done" and "preview" not in widget.result and widget.result["target"] == other
    view_numbers_equal(widget)
    expected = integrated_gradients(model, images[3:4], target=other, steps=16)
    torch.testing.assert_close(widget.explanation.attributions, expected.attributions, atol=1e-5, rtol=0)
    assert calls.single == [shown] and len(calls.multi) == 1  # the preview, then one walk for all three
    assert set(calls.multi[0]) == {row["index"] for row in widget.outputs} and calls.multi[0][0] == shown


class RowCounter(nn.Module):
    """Counts the rows of every forward pass through a model and of every backward pass back into its
    output (in a dict: the explainers run a twin with attributes of its own, without the user's hooks)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner, self.rows = inner, {"forward": [], "backward": []}

    def forward(self, x):
        self.rows["forward"].append(x.shape[0])
        output = self.inner(x)
        if output.requires_grad:
            output.register_hook(lambda gradient: self.rows["backward"].append(gradient.shape[0]))
        return output


def test_after_the_preview_one_walk_makes_every_forward_pass_for_all_listed_outputs(digits):
    """Issue 15's five maps: after the preview the shown output's final map comes from the listed outputs'
    walk, so each path point goes forward once (the shown output's own walk used to repeat them all)."""
    model, images, _ = digits
    counted = RowCounter(model)
    widget = ImageExplainer(counted, images[3], steps=16, top_k=3, preview=4)
    widget.wait()
    assert {widget.current_request(target=row["index"]) for row in widget.outputs} <= set(widget.computed_payloads())
    ends = 2  # x and x' ride in a walk's first chunk: F(x), F(x')
    forward, backward = counted.rows["forward"], counted.rows["backward"]
    assert sum(forward) == 1 + (4 + ends) + (16 + ends)  # the prediction, the preview, one walk of 16 points
    assert sum(backward) == (4 + ends) + 3 * (16 + ends)  # the preview's target, then each of the three


class FailsAbove(nn.Module):
    """Raises on a batch of more than `rows` images."""

    def __init__(self, inner: nn.Module, rows: int):
        super().__init__()
        self.inner, self.rows = inner, rows

    def forward(self, x):
        if x.shape[0] > self.rows:
            raise RuntimeError(f"out of memory at {x.shape[0]} images")
        return self.inner(x)


def test_a_refinement_that_fails_leaves_the_preview_shown_and_says_why(digits):
    model, images, _ = digits
    # the 4-step preview passes 4 points and the 2 ends in one batch; the 64 steps go 8 points a chunk or more
    widget = ImageExplainer(FailsAbove(model, 6), images[0], steps=64, preview=4)
    widget.wait()
    assert widget.status == "error" and widget.error.startswith("RuntimeError: out of memory at")
    assert widget.result["preview"] == {"final_steps": 64} and widget.result["steps"] == 4
    view_numbers_equal(widget)  # explanation is still the map on screen: the preview, which says it is one
    assert widget.final_explanation is None and widget.computed_payloads() == {}
