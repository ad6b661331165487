"""The user's model and tensors are as they were after a call, also after one that failed."""

import copy

import pytest
import torch
from torch import nn

import ig_widget as igw


class Flaky(nn.Module):
    """BatchNorm, Dropout and a frozen layer; raises on the n-th forward pass when asked to."""

    def __init__(self, fail_on=None):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 3))
        self.net[4].weight.requires_grad_(False)
        self.fail_on, self.calls = fail_on, 0

    def forward(self, x):
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("model failed mid-path")
        return self.net(x)


def _snapshot(model):
    return {
        "modes": [m.training for m in model.modules()],
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "grads": [p.grad for p in model.parameters()],
    }


def _assert_same(model, before):
    after = _snapshot(model)
    assert after["modes"] == before["modes"]
    assert after["requires_grad"] == before["requires_grad"]
    assert all(g is None for g in after["grads"])
    for key, value in before["state"].items():
        assert torch.equal(after["state"][key], value), key


@pytest.mark.parametrize("fail_on", [None, 4])
def test_model_in_training_mode_is_restored_with_buffers_untouched(fail_on):
    torch.manual_seed(0)
    model = Flaky(fail_on).train()
    model.net[1].eval()  # a submodule in its own mode must keep it
    before = _snapshot(model)
    x = torch.randn(4, 5)
    x_before = x.clone()
    if fail_on is None:
        res = igw.integrated_gradients(model, x, batch_size=8)
        in_eval = igw.integrated_gradients(copy.deepcopy(model).eval(), x, batch_size=8)
        torch.testing.assert_close(res.attributions, in_eval.attributions)  # no dropout noise on the path
    else:
        with pytest.raises(RuntimeError, match="mid-path"):
            igw.integrated_gradients(model, x, batch_size=8)
    _assert_same(model, before)
    assert torch.equal(x, x_before) and not x.requires_grad


def test_works_inside_no_grad_and_inference_mode(digits):
    model, images, _ = digits
    reference = igw.integrated_gradients(model, images[:2], steps=8).attributions
    with torch.no_grad():
        torch.testing.assert_close(igw.integrated_gradients(model, images[:2], steps=8).attributions, reference)
    with torch.inference_mode():
        torch.testing.assert_close(igw.integrated_gradients(model, images[:2], steps=8).attributions, reference)


def test_no_gradient_path_is_a_clear_error_not_zero_attributions():
    class Detached(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 2)

        def forward(self, x):
            return self.linear(x.detach())

    with pytest.raises(igw.GradientPathError, match="no gradient path to the input"):
        igw.integrated_gradients(Detached(), torch.randn(2, 3))
