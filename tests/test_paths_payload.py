"""The image view's path payload (path, idgi, path_label, path_images) and the JS fixture written from it.

`python tests/test_paths_payload.py` rewrites js/test/fixtures/paths.json from a real ImageExplainer.
"""

from __future__ import annotations

import base64
import json
import pathlib

import numpy as np
import pytest
import torch
from fixture_compare import assert_fixture_current
from torch import nn

from ig_widget.encode import decode_array, max_error

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "js" / "test" / "fixtures" / "paths.json"


def _explainer(path: str, idgi: bool = False):
    from ig_widget.widgets.image import ImageExplainer

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 6 * 8, 3))
    image = torch.rand(3, 6, 8, generator=torch.Generator().manual_seed(1))
    widget = ImageExplainer(model, image, steps=4, path=path, idgi=idgi)
    widget.wait()
    return widget


def _jsonable(value):
    """A payload as JSON: bytes as {"base64": ...} (js/test/helpers.js `revive` turns them back)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def paths_fixture() -> dict:
    widget = _explainer("guided")
    payload = widget.result
    frames = decode_array(payload["path_images"])
    return {
        "checks": _jsonable(widget.run_checks()),  # the checks panel's payload for this explainer's settings
        "choices": widget.choices["path"],
        "path": payload["path"],
        "path_label": payload["path_label"],
        "shape": list(frames.shape),
        "path_images": [int(v) for v in frames.ravel()],
    }


@pytest.mark.parametrize("path", ["blur", "guided"])
def test_curved_paths_send_their_points_as_display_images(path):
    widget = _explainer(path)
    payload, result = widget.result, widget.explanation
    frames = decode_array(payload["path_images"])
    assert frames.shape == (4, 6, 8, 3) and payload["path_images"]["dtype"] == "uint8"
    assert payload["path"] == path and result.method == f"{path}_integrated_gradients"
    # each frame is the trace's point in the view's display bytes: byte = (value - offset) / scale
    points = result.trace.points[:, 0].permute(0, 2, 3, 1).double().numpy()
    expected = np.clip(np.rint((points - widget._offset) / widget._scale), 0, 255)
    np.testing.assert_array_equal(frames, expected)


def test_the_straight_path_sends_no_points():
    widget = _explainer("straight")
    assert "path_images" not in widget.result and widget.result["path"] == "straight"


def test_switching_path_keeps_each_paths_results_apart():
    widget = _explainer("straight")
    straight = widget.explanation
    widget.path = "blur"
    widget.wait()
    assert widget.explanation.method == "blur_integrated_gradients"
    widget.idgi = True
    widget.wait()
    assert widget.explanation.method == "blur_idgi" and abs(widget.result["completeness"]["relative_gap"]) < 1e-5
    widget.path, widget.idgi = "straight", False
    widget.wait()
    assert widget.explanation is straight  # from the straight path's own cache, not recomputed


def test_an_unknown_path_is_refused_with_the_choices():
    import traitlets

    widget = _explainer("straight")
    with pytest.raises(traitlets.TraitError, match="path='zigzag' is unknown; use one of straight, blur, guided"):
        widget.path = "zigzag"


def test_js_paths_fixture_is_current():
    assert_fixture_current(json.loads(FIXTURE.read_text()), paths_fixture(), f"python {__file__}")


if __name__ == "__main__":
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(paths_fixture()) + "\n")
    print(f"wrote {FIXTURE}")


def test_run_checks_fills_the_checks_panel_for_the_shown_settings(digits):
    from ig_widget.examples import DIGIT_LABELS
    from ig_widget.widgets.image import ImageExplainer

    model, images, _ = digits
    widget = ImageExplainer(model, images[0], labels=DIGIT_LABELS, steps=16, path="blur")
    checks = widget.run_checks()
    assert widget.checks == checks
    assert checks["for"] == {
        "target": widget.target,
        "baseline": "black",
        "rule": "gausslegendre",
        "steps": 16,
        "path": "blur",
        "idgi": False,
    }
    sanity = checks["sanity"]
    assert sanity["layers"] == ["classifier (Linear)", "features.2 (Conv2d)", "features.0 (Conv2d)"]
    assert sanity["passed"] is True
    assert all(isinstance(v, str) and len(v.split(".")[1]) == 2 for v in sanity["ssim"])  # printed as Python prints
    # the randomized maps, drawn as thumbnails: the trained model's first (the shown map), then one per layer
    maps = decode_array(sanity["maps"])
    assert maps.shape == (4, 8, 8)
    shown = widget.explanation.attributions[0].sum(dim=0).numpy()
    assert np.abs(maps[0] - shown).max() <= max_error(sanity["maps"]) + 1e-6
    assert not np.allclose(maps[-1], maps[0], atol=0.1 * np.abs(maps[0]).max())  # IG changed with the model
    curves = checks["deletion"]
    assert curves["fractions"][0] == 0 and curves["fractions"][-1] == 1
    assert float(curves["deletion_area"]) < float(curves["insertion_area"])


def test_the_views_run_checks_message_runs_them_in_the_background(digits):
    import time

    from ig_widget.widgets.image import ImageExplainer

    model, images, _ = digits
    widget = ImageExplainer(model, images[0], steps=8)
    widget._on_message(widget, {"type": "run_checks"}, [])
    deadline = time.time() + 60
    while "deletion" not in widget.checks and "error" not in widget.checks and time.time() < deadline:
        time.sleep(0.1)
    assert "deletion" in widget.checks and widget.checks["sanity"]["passed"] is True


def test_an_exported_page_keeps_the_checks_panel(digits, tmp_path):
    import ig_widget as igw
    from ig_widget.widgets.image import ImageExplainer

    model, images, _ = digits
    widget = ImageExplainer(model, images[0], steps=8, path="guided")
    checks = widget.run_checks()
    page = tmp_path / "page.html"
    igw.export_html([widget], page, targets=None)
    html = page.read_text()
    assert f'"deletion_area": "{checks["deletion"]["deletion_area"]}"' in html
    assert '"path": "guided"' in html
