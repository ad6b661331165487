"""A gap that more steps cannot close is named, where it happens, with the remedy; steps="auto" gives up
early on it instead of walking to max_steps."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import ig_widget as igw
from ig_widget.attribution.adaptive import unresolved_alpha
from ig_widget.attribution.quadrature import nested_counts, path_points
from ig_widget.widgets.payload import completeness


class ChannelNorm(nn.Module):
    """LayerNorm over channels of an image batch, as ConvNeXt puts right after its stem."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=1e-12)

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _layernorm_stem_net() -> nn.Module:
    """Scale invariant after the stem: F(alpha x) = F(x) for every alpha > 0, F(0) something else."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 4, stride=4, bias=False),
        ChannelNorm(16),
        nn.Conv2d(16, 16, 3, padding=1),
        nn.GELU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 5),
    ).eval()


def _relu_kink(at: float) -> nn.Module:
    """F(alpha) = relu(3 alpha - 3 at) on the path from 0 to 1: the gradient switches on at alpha = at."""
    kink = nn.Sequential(nn.Linear(1, 1), nn.ReLU())
    with torch.no_grad():
        kink[0].weight.fill_(3.0)
        kink[0].bias.fill_(-3.0 * at)
    return kink


IMAGE = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_a_jump_at_the_baseline_is_named_with_its_remedy() -> None:
    result = igw.integrated_gradients(_layernorm_stem_net(), IMAGE, target=0, steps=32)
    assert abs(float(result.relative_gap[0])) > 0.9
    diagnosis = result.diagnosis
    assert diagnosis is not None and diagnosis.kind == "endpoint_jump"
    # confirmed closer to the baseline than any point steps="auto" would use
    assert diagnosis.alpha_from == 0.0 and diagnosis.alpha_to == pytest.approx(unresolved_alpha("fejer", 255))
    assert diagnosis.alpha_to < float(result.trace.alphas[0]) and diagnosis.share > 0.9
    assert "baseline" in diagnosis.message and "blur" in diagnosis.message
    assert completeness(result)["diagnosis"]["message"] == diagnosis.message  # what the view shows


def test_steps_auto_gives_up_at_once_on_a_jump() -> None:
    with pytest.warns(UserWarning, match="stopped at 7 points.*score jumps between alpha = 0"):
        result = igw.integrated_gradients(_layernorm_stem_net(), IMAGE, target=0, steps="auto")
    assert result.steps == nested_counts("fejer", 255)[0] < 255
    assert result.diagnosis.kind == "endpoint_jump"
    assert result.diagnosis.alpha_to == pytest.approx(unresolved_alpha("fejer", 255))
    first_of_largest_set = path_points("fejer", nested_counts("fejer", 255)[-1])[0][0]
    assert result.diagnosis.alpha_to < first_of_largest_set


class ScaleFree(nn.Module):
    """w . x / sqrt(|x|^2 + 1e-6): almost scale-free, so the score rises steeply but smoothly within
    alpha ~ 1e-3 of the black baseline; enough points resolve it."""

    def forward(self, x):
        return (x @ torch.tensor([[1.0, -2.0, 0.5, 3.0]]).T) / torch.sqrt((x * x).sum(dim=1, keepdim=True) + 1e-6)


def test_a_steep_but_smooth_end_is_told_apart_from_a_jump() -> None:
    x = torch.tensor([[0.5, 0.1, -0.3, 0.8]])
    coarse = igw.integrated_gradients(ScaleFree(), x, target=0, steps=16)
    assert coarse.diagnosis is not None and coarse.diagnosis.kind == "steep_end"
    assert "more steps" in coarse.diagnosis.message and "will not" not in coarse.diagnosis.message
    fine = igw.integrated_gradients(ScaleFree(), x, target=0, steps=256)
    assert abs(float(fine.relative_gap[0])) < 0.5 * abs(float(coarse.relative_gap[0]))  # as the message says


def test_another_baseline_removes_the_jump() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = igw.integrated_gradients(_layernorm_stem_net(), IMAGE, target=0, steps="auto", baseline="uniform")
    assert result.diagnosis is None and abs(float(result.relative_gap[0])) <= 0.01


@pytest.mark.parametrize("steps", [8, 16, 64])
def test_a_relu_kink_is_placed_between_the_points_around_it(steps: int) -> None:
    at = 1.1 / 3
    result = igw.integrated_gradients(_relu_kink(at), torch.ones(1, 1), target=0, steps=steps)
    assert abs(float(result.relative_gap[0])) > 0.01  # Gauss-Legendre cannot follow the kink
    assert result.diagnosis is not None and result.diagnosis.kind == "kink"
    assert result.diagnosis.alpha_from <= at <= result.diagnosis.alpha_to
    assert "ReLU" in result.diagnosis.message


def test_a_step_inside_the_model_is_a_jump() -> None:
    class Step(nn.Module):
        def forward(self, x):
            return 3 * torch.sigmoid(1e5 * (x.sum(1, keepdim=True) - 2)) + 0.1 * x.sum(1, keepdim=True)

    result = igw.integrated_gradients(Step(), torch.ones(1, 4), target=0, steps=33)
    assert result.diagnosis is not None and result.diagnosis.kind == "jump"
    assert result.diagnosis.alpha_from <= 0.5 <= result.diagnosis.alpha_to


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 8])
def test_a_smooth_model_short_of_steps_gets_no_diagnosis(steps: int) -> None:
    """Few steps on a smooth model leave a gap that more steps do close: nothing to diagnose."""
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))
    x = 3 * torch.randn(4, 6, generator=torch.Generator().manual_seed(2))
    assert igw.integrated_gradients(mlp, x, target=0, steps=steps).diagnosis is None
