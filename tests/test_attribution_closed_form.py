"""Integrated Gradients against results derived by hand."""

import math

import pytest
import torch
from torch import nn

import ig_widget as igw


class SumOfSquares(nn.Module):
    """F(x) = sum_i x_i^2, one score per row: IG_i = x_i^2 - x'_i^2 along the straight path."""

    def forward(self, x):
        return (x**2).sum(dim=1)


class SumOfExp(nn.Module):
    """F(x) = sum_i exp(x_i): IG_i = exp(x_i) - exp(x'_i); smooth but not polynomial, so every rule has error."""

    def forward(self, x):
        return x.exp().sum(dim=1)


@pytest.mark.parametrize("rule", igw.RULES)
def test_linear_model_ig_is_difference_times_weight(rule):
    torch.manual_seed(0)
    model = nn.Linear(5, 3)
    x, baseline = torch.randn(4, 5), torch.randn(4, 5)
    res = igw.integrated_gradients(model, x, target=2, baseline=baseline, steps=7, rule=rule)
    expected = (x - baseline) * model.weight[2].detach()
    torch.testing.assert_close(res.attributions, expected, atol=1e-6, rtol=1e-5)
    assert res.gap.abs().max() < 1e-5


@pytest.mark.parametrize("rule", ["riemann_middle", "riemann_trapezoid", "gausslegendre"])
def test_quadratic_model_exact_for_rules_exact_on_linear_integrands(rule):
    x = torch.tensor([[1.0, -2.0, 3.0], [0.5, 0.0, -1.5]], dtype=torch.float64)
    res = igw.integrated_gradients(SumOfSquares(), x, baseline="zero", steps=4, rule=rule)
    torch.testing.assert_close(res.attributions, x**2)


@pytest.mark.parametrize(
    "rule, factor", [("riemann_left", lambda s: (s - 1) / s), ("riemann_right", lambda s: (s + 1) / s)]
)
def test_quadratic_model_left_and_right_sums_match_their_closed_form(rule, factor):
    # The gradient 2 alpha x integrated by a left (right) sum gives x^2 (S - 1) / S  (x^2 (S + 1) / S).
    x = torch.tensor([[1.0, -2.0, 3.0]], dtype=torch.float64)
    for steps in (1, 5, 20):
        res = igw.integrated_gradients(SumOfSquares(), x, baseline="zero", steps=steps, rule=rule)
        torch.testing.assert_close(res.attributions, x**2 * factor(steps))


@pytest.mark.parametrize(
    "rule, order",
    [
        ("riemann_left", 1),
        ("riemann_right", 1),
        ("riemann_middle", 2),
        ("riemann_trapezoid", 2),
    ],
)
def test_each_riemann_rule_converges_at_its_order(rule, order):
    x = torch.tensor([[0.7, -1.2, 2.0]], dtype=torch.float64)
    exact = x.exp() - 1

    def error(steps):
        res = igw.integrated_gradients(SumOfExp(), x, baseline="zero", steps=steps, rule=rule)
        return (res.attributions - exact).abs().max().item()

    ratio = error(32) / error(64)
    assert ratio == pytest.approx(2**order, rel=0.1)


def test_gauss_legendre_converges_faster_than_any_power():
    x = torch.tensor([[0.7, -1.2, 2.0]], dtype=torch.float64)
    exact = x.exp() - 1
    errors = [
        (igw.integrated_gradients(SumOfExp(), x, baseline="zero", steps=s).attributions - exact).abs().max().item()
        for s in (2, 4, 8)
    ]
    assert errors[0] > 1e-3
    assert errors[1] < errors[0] / 100
    assert errors[2] < 1e-12


def test_path_points_weights_sum_to_one_and_lie_in_unit_interval():
    for rule in igw.RULES:
        alphas, weights = igw.path_points(rule, 9)
        assert math.isclose(weights.sum(), 1.0)
        assert alphas.min() >= 0 and alphas.max() <= 1


class Saturating(nn.Module):
    """The sensitivity example of Sundararajan et al.: F(x) = 1 - ReLU(1 - x)."""

    def forward(self, x):
        return 1 - torch.relu(1 - x[:, 0])


def test_sensitivity_example_gradient_is_zero_but_ig_is_one():
    x = torch.tensor([[2.0]])
    gradient = igw.saliency(Saturating(), x)
    assert gradient.attributions.item() == 0.0
    # Midpoints split evenly around the kink at alpha = 1/2, so the Riemann midpoint sum is exact.
    ig = igw.integrated_gradients(Saturating(), x, baseline="zero", steps=10, rule="riemann_middle")
    assert ig.attributions.item() == pytest.approx(1.0)
    assert ig.score.item() - ig.baseline_score.item() == pytest.approx(1.0)
    default = igw.integrated_gradients(Saturating(), x, baseline="zero")
    assert default.attributions.item() == pytest.approx(1.0, abs=0.05)
