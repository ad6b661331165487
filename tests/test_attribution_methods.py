"""Saliency, gradient x input, interior gradients, SmoothGrad and expected gradients against direct autograd
and closed forms."""

import pytest
import torch
from torch import nn

import ig_widget as igw


def _autograd(model, x, classes):
    x = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(x).gather(1, classes[:, None]).sum(), x)
    return gradient


@pytest.fixture
def cnn_batch(digits):
    model, images, _ = digits
    return model, images[:5]


def test_saliency_is_the_autograd_gradient_of_the_top_class(cnn_batch):
    model, x = cnn_batch
    top = model(x).argmax(dim=1)
    res = igw.saliency(model, x)
    assert torch.equal(res.target, top)
    torch.testing.assert_close(res.attributions, _autograd(model, x, top))
    torch.testing.assert_close(igw.saliency(model, x, absolute=True).attributions, res.attributions.abs())


def test_gradient_x_input_is_gradient_times_input(cnn_batch):
    model, x = cnn_batch
    classes = torch.tensor([0, 1, 2, 3, 4])
    res = igw.gradient_x_input(model, x, target=classes)
    torch.testing.assert_close(res.attributions, _autograd(model, x, classes) * x)


def test_gradient_x_input_is_one_step_ig_from_zero():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Softplus(), nn.Linear(5, 2))
    x = torch.randn(4, 3)
    one_step = igw.integrated_gradients(model, x, target=1, baseline="zero", steps=1, rule="riemann_right")
    torch.testing.assert_close(igw.gradient_x_input(model, x, target=1).attributions, one_step.attributions)


def test_interior_gradients_are_gradients_at_the_scaled_inputs(cnn_batch):
    model, x = cnn_batch
    alphas = [0.1, 0.5, 1.0]
    res = igw.interior_gradients(model, x, alphas=alphas, target=3, baseline="blur")
    scaled = res.scaled_inputs()
    assert res.gradients.shape == (3, *x.shape)
    for k in range(3):
        torch.testing.assert_close(res.gradients[k], _autograd(model, scaled[k], torch.full((5,), 3)))
        torch.testing.assert_close(res.scores[k], model(scaled[k])[:, 3].detach())
    torch.testing.assert_close(scaled[-1], x)


def test_smoothgrad_of_a_linear_model_is_its_weight_whatever_the_noise():
    torch.manual_seed(0)
    model = nn.Linear(6, 3)
    x = torch.randn(2, 6)
    res = igw.smoothgrad(model, x, target=1, noise_level=0.5, samples=8)
    torch.testing.assert_close(res.attributions, model.weight[1].detach().expand(2, 6))


def test_smoothgrad_without_noise_is_saliency_and_is_seeded(cnn_batch):
    model, x = cnn_batch
    torch.testing.assert_close(
        igw.smoothgrad(model, x, noise_level=0.0, samples=3).attributions, igw.saliency(model, x).attributions
    )
    first = igw.smoothgrad(model, x, samples=4, seed=7).attributions
    assert torch.equal(first, igw.smoothgrad(model, x, samples=4, seed=7).attributions)
    assert not torch.equal(first, igw.smoothgrad(model, x, samples=4, seed=8).attributions)


def test_smoothgrad_over_ig_keeps_completeness_on_average(cnn_batch):
    model, x = cnn_batch
    res = igw.smoothgrad(model, x, method="integrated_gradients", samples=4, steps=48)
    assert res.relative_gap.abs().max() < 0.02


def test_expected_gradients_on_a_linear_model_is_exact():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    x, data = torch.randn(3, 4), torch.randn(50, 4)
    res = igw.expected_gradients(model, x, data=data, target=0, samples=16)
    torch.testing.assert_close(res.attributions, (x - res.baseline) * model.weight[0].detach())
    assert res.gap.abs().max() < 1e-5


def test_expected_gradients_is_seeded_and_near_complete_on_the_cnn(digits):
    model, images, _ = digits
    x, data = images[:2], images[100:200]
    first = igw.expected_gradients(model, x, data=data, samples=200, seed=3)
    assert torch.equal(
        first.attributions, igw.expected_gradients(model, x, data=data, samples=200, seed=3).attributions
    )
    # Monte-Carlo: completeness in expectation only; 200 draws put it within a few percent.
    assert first.relative_gap.abs().max() < 0.15
