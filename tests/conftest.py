"""Fixtures shared across the test suite: small real models trained once per session."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ig_widget.examples import train_digits_cnn


@pytest.fixture(scope="session")
def digits():
    """(trained DigitsCNN on 8x8 digits, held-out images, labels); trains in about two seconds."""
    return train_digits_cnn(size=8, epochs=8, seed=0)


class CallCounter(nn.Module):
    """Wraps a model and counts forward passes and backward passes through it.

    The counts live in a dict the module holds, not in attributes of its own: the explainers run a
    twin of the user's module with attributes of its own (see `attribution/model_state.py`), and a
    count kept in an int attribute would never reach the test. Backward passes are counted by a hook
    on the output tensor (the twin runs without the user's module hooks)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.counts = {"forwards": 0, "backwards": 0}

    @property
    def forwards(self) -> int:
        return self.counts["forwards"]

    @property
    def backwards(self) -> int:
        return self.counts["backwards"]

    def _count_backward(self, gradient):
        self.counts["backwards"] += 1

    def forward(self, x):
        self.counts["forwards"] += 1
        output = self.inner(x)
        if output.requires_grad:
            output.register_hook(self._count_backward)
        return output


@pytest.fixture
def count_calls():
    """Wrap a model in a CallCounter."""
    return CallCounter


@pytest.fixture
def counted_mlp():
    torch.manual_seed(0)
    return CallCounter(nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 4)))
