"""Small real models trained in seconds on data a package ships, for demos, tutorials and tests.

Nothing here downloads: the digits come with scikit-learn (a test/dev dependency).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DIGIT_LABELS = [str(digit) for digit in range(10)]


def digits_data(size: int = 8) -> tuple[Tensor, Tensor]:
    """scikit-learn's 1,797 handwritten digits as [N, 1, size, size] floats in [0, 1], and labels."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as missing:
        raise ImportError("the digits examples need scikit-learn: pip install scikit-learn") from missing
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
    if size != 8:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    return images, torch.tensor(digits.target, dtype=torch.long)


class DigitsCNN(nn.Module):
    """Two convolutions and a linear read-out: small enough to train on two CPU cores in seconds."""

    def __init__(self, size: int = 8, channels: int = 16):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(2 * channels * (size // 2) ** 2, 10)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1))


def train_digits_cnn(size: int = 8, epochs: int = 8, seed: int = 0) -> tuple[DigitsCNN, Tensor, Tensor]:
    """Train a DigitsCNN on the first 1,500 digits; returns (model in eval mode, test images, test labels)."""
    torch.manual_seed(seed)
    images, labels = digits_data(size)
    train_x, train_y, test_x, test_y = images[:1500], labels[:1500], images[1500:], labels[1500:]
    model = DigitsCNN(size)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    with one_thread():
        for _ in range(epochs):
            for batch in torch.randperm(len(train_x), generator=generator).split(64):
                optimiser.zero_grad()
                F.cross_entropy(model(train_x[batch]), train_y[batch]).backward()
                optimiser.step()
    return model.eval(), test_x, test_y


@contextmanager
def one_thread() -> Iterator[None]:
    """Small batches of tiny convolutions train fastest on one thread; with more, a CPU that other
    processes keep busy slows training 30-50x (1-2 s became 60-85 s on a loaded 2-core machine).
    The caller's thread count comes back afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def accuracy(model: nn.Module, images: Tensor, labels: Tensor) -> float:
    with torch.no_grad():
        return (model(images).argmax(dim=1) == labels).float().mean().item()
