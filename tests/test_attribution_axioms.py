"""The axioms of Integrated Gradients, checked on real networks."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import ig_widget as igw
from ig_widget.examples import digits_data


def test_completeness_within_one_percent_on_the_digits_cnn(digits):
    model, images, _ = digits
    res = igw.integrated_gradients(model, images[:32])  # default: 50 Gauss-Legendre steps, black baseline
    assert res.relative_gap.abs().max() < 0.01
    torch.testing.assert_close(res.trace.cumulative[-1].sum(dim=(1, 2)), res.total, rtol=1e-4, atol=1e-5)


def _mlp(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def _permuted_and_rescaled(model):
    """The same function built differently: hidden units permuted, each scaled by c > 0 in and 1/c out
    (ReLU is positively homogeneous)."""
    first, second = copy.deepcopy(model[0]), copy.deepcopy(model[2])
    order = torch.randperm(8, generator=torch.Generator().manual_seed(1))
    scale = torch.linspace(0.5, 3.0, 8)
    with torch.no_grad():
        first.weight.copy_(model[0].weight[order] * scale[:, None])
        first.bias.copy_(model[0].bias[order] * scale)
        second.weight.copy_(model[2].weight[:, order] / scale[None, :])
    return nn.Sequential(first, nn.ReLU(), second)


def test_implementation_invariance():
    model = _mlp(0)
    twin = _permuted_and_rescaled(model)
    x = torch.randn(5, 4)
    torch.testing.assert_close(twin(x), model(x), atol=1e-5, rtol=1e-5)
    a = igw.integrated_gradients(model, x, target=1, baseline="zero", steps=64)
    b = igw.integrated_gradients(twin, x, target=1, baseline="zero", steps=64)
    torch.testing.assert_close(a.attributions, b.attributions, atol=1e-5, rtol=1e-4)


class Ignores(nn.Module):
    """A network whose output does not depend on feature 0."""

    def __init__(self):
        super().__init__()
        self.net = _mlp(2)

    def forward(self, x):
        return self.net(torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:]], dim=1))


def test_sensitivity_feature_the_function_ignores_gets_zero():
    x = torch.randn(3, 4)
    res = igw.integrated_gradients(Ignores(), x, target=0, baseline="uniform")
    assert (res.attributions[:, 0] == 0).all()
    assert res.attributions[:, 1:].abs().sum() > 0


class Blend(nn.Module):
    """a * f(x) + b * g(x): IG is linear in the model."""

    def __init__(self, f, g, a, b):
        super().__init__()
        self.f, self.g, self.a, self.b = f, g, a, b

    def forward(self, x):
        return self.a * self.f(x) + self.b * self.g(x)


def test_linearity():
    f, g = _mlp(3), _mlp(4)
    x = torch.randn(4, 4)
    combined = igw.integrated_gradients(Blend(f, g, 2.0, -0.5), x, target=2, steps=32)
    separate = (
        2.0 * igw.integrated_gradients(f, x, target=2, steps=32).attributions
        - 0.5 * igw.integrated_gradients(g, x, target=2, steps=32).attributions
    )
    torch.testing.assert_close(combined.attributions, separate, atol=1e-5, rtol=1e-4)


class SymmetricInFirstTwo(nn.Module):
    def forward(self, x):
        return torch.sigmoid(x[:, 0] + x[:, 1]) * torch.tanh(x[:, 2]) + x[:, 0] * x[:, 1]


def test_symmetry_preserving():
    x = torch.tensor([[1.3, 1.3, 0.4], [-0.7, -0.7, 2.0]])
    baseline = torch.tensor([[0.2, 0.2, 0.0], [0.5, 0.5, 1.0]])
    res = igw.integrated_gradients(SymmetricInFirstTwo(), x, baseline=baseline)
    torch.testing.assert_close(res.attributions[:, 0], res.attributions[:, 1])


@pytest.fixture(scope="module")
def digits_mlp():
    """An MLP on flattened digits; its first layer is where Kindermans et al. absorb an input shift."""
    torch.manual_seed(0)
    images, labels = digits_data()
    x = images.flatten(1)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        optimiser.zero_grad()
        F.cross_entropy(model(x[:1500]), labels[:1500]).backward()
        optimiser.step()
    return model.eval(), x[1500:1510]


def test_input_invariance_ig_with_moving_baseline_unchanged_gradient_x_input_changes(digits_mlp):
    model, x = digits_mlp
    shift = -0.5  # e.g. mean-centring the pixels
    shifted_model = copy.deepcopy(model)
    with torch.no_grad():  # absorb the shift in the first layer's bias: shifted_model(x + shift) == model(x)
        shifted_model[0].bias -= shift * shifted_model[0].weight.sum(dim=1)
    torch.testing.assert_close(shifted_model(x + shift), model(x), atol=1e-5, rtol=1e-5)

    ig = igw.integrated_gradients(model, x, baseline=torch.zeros_like(x))
    ig_shifted = igw.integrated_gradients(shifted_model, x + shift, baseline=torch.zeros_like(x) + shift)
    torch.testing.assert_close(ig_shifted.attributions, ig.attributions, atol=1e-5, rtol=1e-4)

    gxi = igw.gradient_x_input(model, x).attributions
    gxi_shifted = igw.gradient_x_input(shifted_model, x + shift).attributions
    assert (gxi_shifted - gxi).abs().max() > 0.1 * gxi.abs().max()
