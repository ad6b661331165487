"""MethodComparison: every method's map and checks for one input, computed in the background.

`python tests/test_comparison.py` rewrites js/test/fixtures/comparison.json from a real widget (the
vitest js/test/comparison.test.js loads it).
"""

from __future__ import annotations

import base64
import io
import json
import pathlib
import threading

import numpy as np
import pytest
import torch
import traitlets
from fixture_compare import assert_fixture_current
from PIL import Image
from torch import nn

from ig_widget import schema
from ig_widget.encode import decode_array, max_error

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "js" / "test" / "fixtures" / "comparison.json"
LABELS = ["zero", "cat <b>", "two", "<img src=x onerror=alert(1)>", "four"]


def small_widget(**kwargs):
    from ig_widget.widgets.comparison import MethodComparison

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 6 * 8, 5))
    image = torch.rand(3, 6, 8, generator=torch.Generator().manual_seed(1))
    widget = MethodComparison(model, image, labels=LABELS, target=1, steps=4, deletion_steps=4, **kwargs)
    widget.wait()
    return widget


def _jsonable(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def comparison_fixture() -> dict:
    """The finished payload, and the same widget's payload after two methods (as the view first sees it)."""
    widget = small_widget()
    done = widget.result
    partial = {**done, "methods": done["methods"][:2], "computing": True}
    return {
        "palette": widget.palette,
        "labels": widget.labels,
        "target": widget.target,
        "done": _jsonable(done),
        "partial": _jsonable(partial),
    }


def test_the_payload_holds_to_its_schema_and_prints_pythons_numbers():
    widget = small_widget()
    payload = widget.result
    schema.check_payload(payload)
    assert payload["computing"] is False and payload["error"] is None
    assert payload["target"] == 1 and payload["target_label"] == "cat <b>"  # text: the view sets textContent
    names = ["saliency", "gradient × input", "IG (black)", "IG (blur)", "IG (uniform)", "SmoothGrad", "Blur IG"]
    assert payload["names"] == [*names, "Guided IG"]
    assert [m["name"] for m in payload["methods"]] == payload["names"]
    for sent, held in zip(payload["methods"], widget.compared):
        assert sent["deletion_area"] == f"{held.deletion_area:.3f}"
        assert sent["insertion_area"] == f"{held.insertion_area:.3f}"
        if held.gap is None:
            assert sent["gap"] is None and sent["relative_gap"] is None
        else:
            assert sent["gap"] == f"{held.gap:.3g}" and sent["relative_gap"] == f"{100 * held.relative_gap:.2f}%"
        verdict = "passes" if held.sanity_passed else "FAILS"
        assert sent["sanity"].startswith(f"{verdict} (SSIM {held.sanity_ssim:.2f} ")
        assert sent["sanity_passed"] is held.sanity_passed
        # the map is the method's attributions summed over channels, to the int8 step
        shown = held.attributions.sum(dim=0).numpy()
        assert np.abs(decode_array(sent["map"]) - shown).max() <= max_error(sent["map"]) + 1e-7
    paths = {m.name for m in widget.compared if m.gap is not None}
    assert paths == {"IG (black)", "IG (blur)", "IG (uniform)", "Blur IG", "Guided IG"}


def test_methods_appear_one_by_one_as_they_are_computed(digits):
    from ig_widget.widgets.comparison import MethodComparison

    model, images, _ = digits
    seen = []
    widget = MethodComparison(model, images[0], steps=4, sanity=False)
    widget.observe(lambda change: seen.append((len(change["new"]["methods"]), change["new"]["computing"])), "result")
    widget.wait()
    final = widget.result
    assert final["computing"] is False and len(final["methods"]) == 8
    counts = [count for count, _ in seen]
    assert counts == sorted(counts) and all(computing for count, computing in seen if count < 8)
    assert all(m["sanity"] is None and m["sanity_passed"] is None for m in final["methods"])


def test_it_agrees_with_compare_methods(digits):
    from ig_widget.evaluation import compare_methods
    from ig_widget.widgets.comparison import MethodComparison

    model, images, _ = digits
    widget = MethodComparison(model, images[0], target=3, steps=8, baselines=("black",), sanity=False)
    direct = compare_methods(model, images[:1], target=3, steps=8, baselines=("black",), sanity=False)
    for ours, theirs in zip(widget.wait(), direct, strict=True):
        assert ours.name == theirs.name and ours.deletion_area == theirs.deletion_area
        torch.testing.assert_close(ours.attributions, theirs.attributions)  # SmoothGrad's noise is seeded


def test_the_users_model_is_untouched(digits):
    from ig_widget.widgets.comparison import MethodComparison

    model, images, _ = digits
    model.train()
    hooks = []
    handle = model.register_forward_hook(lambda module, inputs, output: hooks.append(1))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    try:
        MethodComparison(model, images[0], steps=4).wait()
        assert model.training
        assert all((g is None and p.grad is None) or torch.equal(g, p.grad) for g, p in zip(grads, model.parameters()))
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
        assert hooks == []  # the engine ran its twin, never the user's module with the user's hooks
    finally:
        handle.remove()
        model.eval()


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"target": 10}, "target must be a class index in [0, 10)"),
        ({"target": "eleven"}, "target='eleven' is not one of the labels"),
        ({"labels": ["a", "b"]}, "labels has 2 names but the model gives 10 class scores"),
    ],
)
def test_bad_arguments_are_refused_with_what_they_need(digits, kwargs, words):
    from ig_widget.attribution.errors import AttributionInputError
    from ig_widget.widgets.comparison import MethodComparison

    model, images, _ = digits
    kwargs = {"labels": [str(i) for i in range(10)], **kwargs}
    with pytest.raises(AttributionInputError, match=words.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        MethodComparison(model, images[0], **kwargs)


def test_a_callable_needs_sanity_false(digits):
    from ig_widget.attribution.errors import AttributionInputError
    from ig_widget.widgets.comparison import MethodComparison

    model, images, _ = digits
    with pytest.raises(AttributionInputError, match="needs an nn.Module .* pass sanity=False"):
        MethodComparison(lambda x: model(x), images[0])
    assert len(MethodComparison(lambda x: model(x), images[0], steps=4, sanity=False).wait()) == 8


def test_a_failing_model_is_reported_in_the_view(digits):
    from ig_widget.widgets.comparison import MethodComparison

    model, images, _ = digits
    calls = []

    def flaky(x):
        calls.append(1)
        if len(calls) > 2:  # the widget's first calls (checks, prediction) pass; the methods' fail
            raise RuntimeError("out of <b>luck</b>")
        return model(x)

    widget = MethodComparison(flaky, images[0], steps=4, sanity=False)
    with pytest.raises(RuntimeError, match="luck"):
        widget.wait()
    assert widget.result["computing"] is False and "RuntimeError: out of <b>luck</b>" in widget.result["error"]


def test_an_exported_page_keeps_the_comparison(digits, tmp_path):
    import ig_widget as igw

    model, images, _ = digits
    widget = igw.MethodComparison(model, images[0], steps=4, sanity=False)
    widget.wait()
    page = igw.export_html([widget], tmp_path / "page.html")
    text = page.read_text(encoding="utf-8")
    assert '"_view": "comparison"' in text
    for method in widget.result["methods"]:
        assert f'"deletion_area": "{method["deletion_area"]}"' in text


def held_comparison(digits, **kwargs):
    """A MethodComparison caught mid-way, deterministically: its model (a plain callable, `sanity=False`)
    holds the worker once two methods are computed, until the returned `release` is called. Calls from
    the test's thread (the widget's own checks) pass; the worker's wait until the count is watched. (The
    count is a bytearray, not the widget: the engine's twin of a callable rebuilds the objects it holds.)"""
    from ig_widget.widgets.comparison import MethodComparison

    model, images, _ = digits
    done, known, released, held = bytearray(1), threading.Event(), threading.Event(), threading.Event()

    def gated(x):
        if threading.current_thread() is not threading.main_thread():
            assert known.wait(60)
            if done[0] >= 2 and not released.is_set():
                held.set()
                assert released.wait(60), "the test never released the comparison"
        return model(x)

    widget = MethodComparison(gated, images[0], labels=[str(i) for i in range(10)], sanity=False, steps=4, **kwargs)
    widget.observe(lambda change: done.__setitem__(0, len(change["new"]["methods"])), "result")
    known.set()
    assert held.wait(60)
    assert len(widget.compared) == 2 and widget.status == "computing"
    return widget, released.set


def test_a_new_target_computes_the_cards_again(digits):
    from ig_widget.evaluation import compare_methods
    from ig_widget.widgets.comparison import MethodComparison

    model, images, _ = digits
    widget = MethodComparison(model, images[0], labels=[f"digit {i}" for i in range(10)], target=3, steps=4)
    first = widget.wait()
    widget.target = "digit 5"  # a label becomes its index
    assert widget.target == 5 and widget.result["target"] == 5 and widget.result["target_label"] == "digit 5"
    again = widget.wait()
    direct = compare_methods(model, images[:1], target=5, steps=4)
    assert [m.deletion_area for m in again] == [m.deletion_area for m in direct]
    assert [m.sanity_ssim for m in again] == [m.sanity_ssim for m in direct]
    assert widget.result["target"] == 5 and widget.status == "done" and widget.progress == 1.0
    widget.target = 3  # finished before: shown at once, not computed again
    assert widget.status == "done" and widget.compared == first and len(widget.result["methods"]) == 8


def test_the_newest_target_wins_over_a_running_comparison(digits):
    widget, release = held_comparison(digits, target=3)
    widget.target = 7
    assert widget.result["target"] == 7 and widget.result["methods"] == [] and widget.status == "computing"
    release()
    widget.wait()
    assert widget.result["target"] == 7 and len(widget.result["methods"]) == 8
    widget.target = 3  # the stopped comparison was not kept as finished: computed again
    widget.wait()
    assert widget.result["target"] == 3 and len(widget.compared) == 8


def sent_messages(widget, monkeypatch) -> list[dict]:
    sent: list[dict] = []
    monkeypatch.setattr(widget, "_send", lambda msg, buffers=None: sent.append(msg))
    return sent


@pytest.mark.parametrize("value, words", [(10, "use an int in 0..9"), ("eleven", "target='eleven' is not one of")])
def test_a_refused_target_from_the_view_snaps_back_with_the_reason(digits, monkeypatch, value, words):
    from ig_widget.widgets.comparison import MethodComparison

    model, images, _ = digits
    widget = MethodComparison(model, images[0], target=3, steps=4, sanity=False)
    widget.wait()
    sent = sent_messages(widget, monkeypatch)
    widget.set_state({"target": value})  # what the view's menu would send
    assert widget.target == 3 and widget.result["target"] == 3
    assert {"target": 3} in [msg["state"] for msg in sent if msg.get("method") == "update"]
    refusals = [msg["content"] for msg in sent if msg.get("method") == "custom"]
    assert len(refusals) == 1 and refusals[0]["type"] == "refused" and refusals[0]["names"] == ["target"]
    assert words in refusals[0]["message"]
    with pytest.raises(traitlets.TraitError, match="not"):
        widget.target = value  # the same reason in Python


def test_without_widget_support_a_picture_and_a_line_are_shown(digits):
    import ig_widget as igw

    model, images, _ = digits
    widget = igw.MethodComparison(model, images[0], labels=[f"digit {i}" for i in range(10)], target=3, steps=4)
    widget.wait()
    data, _ = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    passed = sum(m.sanity_passed for m in widget.compared)
    assert (
        data["text/plain"]
        == f"MethodComparison: “digit 3”, 8 of 8 methods computed, {passed} of 8 pass the sanity check"
    )
    picture = Image.open(io.BytesIO(data["image/png"]))
    assert picture.format == "PNG" and picture.width > 3 * picture.height  # one row: input and eight methods
    assert len(data["image/png"]) < 40_000
    assert len(np.unique(np.asarray(picture.convert("RGB")).reshape(-1, 3), axis=0)) > 16  # maps drawn


def test_a_picture_of_a_running_comparison_shows_what_is_done(digits):
    from ig_widget.widgets import comparison_picture

    widget, release = held_comparison(digits)
    try:
        bundle = comparison_picture.mime_bundle(widget)
        expected = f"MethodComparison: “{widget.target}”, 2 of 8 methods computed (the live view shows the rest)"
        assert bundle["text/plain"] == expected
        assert Image.open(io.BytesIO(bundle["image/png"])).format == "PNG"
    finally:
        release()
    widget.wait()


def test_a_page_exported_mid_way_shows_what_is_done_and_says_the_rest_is_missing(digits, tmp_path):
    import ig_widget as igw

    widget, release = held_comparison(digits)
    try:
        page = igw.export_html(widget, tmp_path / "page.html").read_text(encoding="utf-8")
    finally:
        release()
    widget.wait()
    state = json.loads(page.split('type="application/vnd.jupyter.widget-state+json">')[1].split("</script>")[0])
    saved = next(record["state"] for record in state["state"].values() if record["state"].get("_view") == "comparison")
    assert saved["status"] == "computing" and saved["progress"] == 0.25 and saved["result"]["computing"] is True
    assert [m["name"] for m in saved["result"]["methods"]] == ["saliency", "gradient × input"]
    keys = json.loads(page.split('type="application/vnd.ig-widget.request-keys+json">')[1].split("</script>")[0])
    assert keys["comparison"] == ["target"]  # the page refuses a target change: it has no kernel


def test_js_comparison_fixture_is_current():
    assert_fixture_current(json.loads(FIXTURE.read_text()), comparison_fixture(), f"python {__file__}")


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(comparison_fixture()) + "\n")
    print(f"wrote {FIXTURE}")
