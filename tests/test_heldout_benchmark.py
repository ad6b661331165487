"""Smoke test of benchmarks/heldout.py: every held-out architecture builds and gives class scores, and
the benchmark compares like with like (ours equals Captum's attributions at the settings it times).

Everything runs at the "tiny" scale (shrunk widths and depths, 32 x 32 images, 8 tokens), so the whole
file takes seconds; the timeout mark keeps it that way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import heldout  # noqa: E402

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("name", sorted(heldout.ARCHITECTURES))
def test_each_architecture_builds_and_scores(name):
    built = heldout.build(name, "tiny")
    before = {key: value.clone() for key, value in built.model.state_dict().items()}
    with torch.no_grad():
        scores = built.model(built.x) if built.embedding is None else built.model(input_ids=built.x)
    assert scores.ndim == 2 and scores.shape[0] == 1 and scores.shape[1] >= heldout.TOP_K
    assert torch.isfinite(scores).all()
    assert built.baseline.shape == built.x.shape
    assert not built.model.training
    classes = heldout.top_classes(built)
    assert classes == scores[0].argsort(descending=True)[: heldout.TOP_K].tolist()
    calls = heldout.contenders(built, heldout.batch_size(built), classes)
    assert set(calls) == {"ours", "captum", "ours top-5", "captum top-5"}
    after = built.model.state_dict()
    assert all(torch.equal(before[key], after[key]) for key in before)


@pytest.mark.parametrize("name", ["resnet50", "bert4"])
def test_ours_equals_captum_at_the_benchmarked_settings(name):
    """Same model, input, baseline, target, 50 Gauss-Legendre steps and internal batch (several chunks,
    as at full scale): the timed calls agree to 1e-4 of the largest attribution (a zero or non-finite
    largest Captum attribution fails the comparison too)."""
    built = heldout.build(name, "tiny")
    assert heldout.relative_difference(built, 16, heldout.top_classes(built)[0]) < 1e-4


def test_top5_walk_equals_five_captum_calls():
    built = heldout.build("resnet50", "tiny")
    calls = heldout.contenders(built, 16, heldout.top_classes(built))
    for result, expected in zip(calls["ours top-5"](), calls["captum top-5"]()):
        torch.testing.assert_close(result.attributions, expected, rtol=0, atol=1e-4 * float(expected.abs().max()))


def test_bare_passes_and_counts_run():
    built = heldout.build("convnext_atto", "tiny")
    bare = heldout.bare_passes(built, 16, 0)
    counts = heldout.count(bare)
    assert counts.ops > 0 and counts.syncs == 0


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="name='resnet5'"):
        heldout.build("resnet5")
    with pytest.raises(ValueError, match="scale='huge'"):
        heldout.build("resnet50", "huge")


def test_widget_timing_sees_the_first_map_before_the_five():
    stages = heldout.widget_stages("tiny", timeout=60)
    assert 0 < stages.first <= stages.five < 60
