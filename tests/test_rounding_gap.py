"""A completeness gap within the float rounding of F(x) and F(x') is named as such, not as a failing path.

Where F(x) - F(x') is itself only a few float32 units of the scores (a softmax near 1.0 at both ends, a
score that hardly moves), a gap of a unit or two reads as several percent. Before this was handled the
badge printed such a result as "incomplete", steps="auto" refined it to max_steps and warned, and the
diagnosis called one float32 unit between the ends a "jump" holding 200% of F(x) - F(x').
"""

from __future__ import annotations

import dataclasses
import warnings

import pytest
import torch
from test_payload_precision import saturated_softmax
from torch import nn

import ig_widget as igw
from ig_widget.attribution.rounding import ROUNDING_UNITS, rounding_floor
from ig_widget.widgets.comparison_payload import printed
from ig_widget.widgets.payload import completeness

EPS = torch.finfo(torch.float32).eps


class NearlyFlat(nn.Module):
    """F(x) = 1 + 1e-7 * sum(x) in float32: the exact change along the path is a few units of 1.0, so
    F(x) - F(x') as computed is rounded to whole units while the attributions (1e-7 * x, exact for a
    linear score) hold the true change. The gap is pure rounding."""

    def forward(self, x):
        return 1.0 + 1e-7 * x.flatten(1).sum(dim=1, keepdim=True)


def _flat_input():
    return torch.full((1, 4), 0.55)  # exact change 2.2e-7, about 1.8 units of 1.0


def test_floor_is_units_of_the_larger_score():
    score, baseline = torch.tensor([0.5, -3.0, 0.0]), torch.tensor([-2.0, 1.0, 0.0])
    expected = ROUNDING_UNITS * EPS * torch.tensor([2.0, 3.0, 0.0])
    torch.testing.assert_close(rounding_floor(score, baseline), expected, rtol=0, atol=0)
    doubles = rounding_floor(score.double(), baseline.double())
    assert doubles.dtype == torch.float64 and float(doubles[0]) == ROUNDING_UNITS * torch.finfo(torch.float64).eps * 2


def test_saturated_softmax_gap_is_rounding_not_incomplete():
    model, x = saturated_softmax()
    result = igw.integrated_gradients(model, x, target=0, steps=16)
    change = float(result.score[0] - result.baseline_score[0])
    assert abs(change) < 40 * EPS  # both ends near 1.0, a few units apart
    assert abs(float(result.relative_gap[0])) > 0.05  # "incomplete" by the share alone
    assert bool(result.gap_within_rounding[0])
    assert abs(float(result.gap[0])) <= float(result.gap_rounding[0])
    assert result.diagnosis is None
    payload = completeness(result)
    assert payload["within_rounding"] is True and payload["rounding"] == float(result.gap_rounding[0])


def test_flat_score_gets_no_diagnosis_and_auto_stops():
    model, x = NearlyFlat(), _flat_input()
    result = igw.integrated_gradients(model, x, target=0, steps=16)
    assert abs(float(result.relative_gap[0])) > 0.05 and bool(result.gap_within_rounding[0])
    assert result.diagnosis is None  # not a "jump" of one float32 unit
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "stopped at max_steps ... gap > tol"
        auto = igw.integrated_gradients(model, x, target=0, steps="auto", max_steps=512)
    assert auto.steps < 512 and bool(auto.gap_within_rounding[0])


def test_real_gaps_stay_real():
    """A ReLU kink's gap and a scale-free score's missed jump are far above rounding: still diagnosed."""
    torch.manual_seed(0)
    relu = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    x = torch.tensor([[0.5, 0.1, -0.3, 0.8]])
    result = igw.integrated_gradients(relu, x, target=0, steps=16)
    assert abs(float(result.relative_gap[0])) > 0.05
    assert not bool(result.gap_within_rounding[0])
    assert result.diagnosis is not None and result.diagnosis.kind == "kink"
    assert completeness(result)["within_rounding"] is False


def test_comparison_and_figure_say_rounding():
    pytest.importorskip("matplotlib")
    from ig_widget.plot import completeness_curve

    model, x = saturated_softmax()
    result = igw.integrated_gradients(model, x, target=0, steps=16)
    _, ax = completeness_curve(result)
    title = ax.get_title()
    assert f"({100 * float(result.relative_gap[0]):+.2g}%, within float rounding" in title
    from ig_widget.evaluation import ComparedMethod

    method = ComparedMethod(
        name="IG",
        attributions=result.attributions[0],
        gap=float(result.gap[0]),
        relative_gap=float(result.relative_gap[0]),
        deletion_area=0.1,
        insertion_area=0.9,
        sanity_ssim=None,
        sanity_passed=None,
        gap_within_rounding=True,
    )
    assert printed(method, 0.5)["relative_gap"].endswith("(within float rounding of F(x), F(x′))")
    # a gap that reads complete anyway is not dressed up: rounding is named only where it changes the verdict
    complete = dataclasses.replace(method, relative_gap=0.004)
    assert printed(complete, 0.5)["relative_gap"] == "0.40%"


def test_store_table_and_gallery_detail_say_rounding(tmp_path):
    """A data-set store's table carries the flag, equal to each stored result's, and the gallery's detail
    names it where the relative gap would read incomplete."""
    pytest.importorskip("zarr")
    from ig_widget.widgets.dataset_payload import detail_payload

    model, x = saturated_softmax()
    data = torch.cat([x, torch.rand(5, 6) * 4])  # row 0 near 1.0 at both ends, others with real changes
    store = igw.attribute_dataset(model, data, out=tmp_path / "run", target=0, steps=16, progress=False)
    table = store.table
    flags = [bool(store[i].gap_within_rounding[0]) for i in range(len(store))]
    assert table["gap_within_rounding"].tolist() == flags
    assert flags[0] and abs(float(table["relative_gap"].iloc[0])) >= 0.05
    rows = dict(detail_payload(store, table, 0)["rows"])
    assert rows["relative gap"].endswith("(within float rounding of F(x), F(x′))")
