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
    """Wraps a model and counts forward passes and backward passes through it."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.forwards = 0
        self.backwards = 0
        inner.register_full_backward_hook(self._count_backward)

    def _count_backward(self, module, grad_input, grad_output):
        self.backwards += 1

    def forward(self, x):
        self.forwards += 1
        return self.inner(x)


@pytest.fixture
def count_calls():
    """Wrap a model in a CallCounter."""
    return CallCounter


@pytest.fixture
def counted_mlp():
    torch.manual_seed(0)
    return CallCounter(nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 4)))
