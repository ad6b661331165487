"""Inputs made under torch.inference_mode(), and what output="probability" means for a single score."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ig_widget as igw


def _mlp(outputs: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, outputs))


METHODS = {
    "saliency": lambda m, x: igw.saliency(m, x, target=1),
    "gradient_x_input": lambda m, x: igw.gradient_x_input(m, x, target=1),
    "integrated_gradients": lambda m, x: igw.integrated_gradients(m, x, target=1, steps=8),
    "interior_gradients": lambda m, x: igw.interior_gradients(m, x, target=1),
    "smoothgrad": lambda m, x: igw.smoothgrad(m, x, target=1, samples=3),
    "expected_gradients": lambda m, x: igw.expected_gradients(m, x, data=torch.ones(3, 4), target=1, samples=4),
}


def _values(result) -> torch.Tensor:
    return result.gradients if isinstance(result, igw.InteriorGradients) else result.attributions


@pytest.mark.parametrize("method", METHODS)
def test_every_method_takes_an_inference_tensor(method: str) -> None:
    model, plain = _mlp(3), torch.rand(2, 4, generator=torch.Generator().manual_seed(1))
    expected = _values(METHODS[method](model, plain))
    with torch.inference_mode():
        made_there = plain.clone()
        inside = _values(METHODS[method](model, made_there))  # called from inside the mode, too
    outside = _values(METHODS[method](model, made_there))
    torch.testing.assert_close(inside, expected)
    torch.testing.assert_close(outside, expected)
    assert made_there.is_inference() and not made_there.requires_grad


@pytest.mark.parametrize("shape", ["[batch]", "[batch, 1]"])
@pytest.mark.parametrize(
    ("output", "link"), [("probability", torch.sigmoid), ("log_probability", nn.functional.logsigmoid)]
)
def test_a_single_score_is_read_as_a_binary_logit(shape: str, output: str, link) -> None:
    net = _mlp(1)
    model = (lambda t: net(t)[:, 0]) if shape == "[batch]" else net
    x = torch.rand(3, 4, generator=torch.Generator().manual_seed(2))
    result = igw.integrated_gradients(model, x, output=output, steps=16)
    reference = igw.integrated_gradients(lambda t: link(net(t)[:, 0]), x, steps=16)
    torch.testing.assert_close(result.attributions, reference.attributions)
    torch.testing.assert_close(result.score, link(net(x)[:, 0]).detach())
    logit = igw.integrated_gradients(model, x, steps=16)
    assert not torch.allclose(result.attributions, logit.attributions)
