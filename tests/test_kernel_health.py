"""Kernel health: out-of-memory falls back to smaller batches, and fails clearly when nothing fits."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ig_widget as igw


class FitsUpTo(nn.Module):
    """Raises torch.OutOfMemoryError, as CUDA does, on a graph-building pass of more than `limit` points."""

    def __init__(self, limit: int):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 4 * 4, 4))
        self.limit = limit
        self.refused: list[int] = []

    def forward(self, x):
        if torch.is_grad_enabled() and x.requires_grad and x.shape[0] > self.limit:
            self.refused.append(x.shape[0])
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate a batch of {x.shape[0]}")
        return self.net(x)


IMAGES = torch.rand(2, 1, 6, 6, generator=torch.Generator().manual_seed(0))


def test_out_of_memory_halves_the_batch_and_gives_the_same_result() -> None:
    model = FitsUpTo(limit=5)
    fallback = igw.integrated_gradients(model, IMAGES, steps=12, batch_size=16)
    # 16 points with x and x' riding (20 rows) do not fit: the plain walk probes first, then halves 16 -> 8 -> 4
    assert model.refused == [20, 16, 8]
    direct = igw.integrated_gradients(FitsUpTo(limit=10**6), IMAGES, steps=12, batch_size=4)
    assert torch.equal(fallback.attributions, direct.attributions)
    assert torch.equal(fallback.trace.cumulative, direct.trace.cumulative)
    assert fallback.relative_gap.abs().max() < 1e-3


@pytest.mark.parametrize("method", ["integrated_gradients", "expected_gradients"])
def test_out_of_memory_even_at_one_point_fails_with_a_clear_message(method: str) -> None:
    model = FitsUpTo(limit=0)
    with pytest.raises(MemoryError) as caught:
        if method == "integrated_gradients":
            igw.integrated_gradients(model, IMAGES, steps=8, batch_size=8)
        else:
            igw.expected_gradients(model, IMAGES, data=torch.rand(4, 1, 6, 6), samples=4, batch_size=8)
    message = str(caught.value)
    assert "batch_size=1" in message and "runs out of device memory" in message
    assert "free device memory" in message and "smaller input" in message
    halvings = [8, 4, 2, 1]
    # IG's first chunk carries x and x' (12 rows); refused, the plain walk probes first and halves
    assert model.refused == ([12] if method == "integrated_gradients" else []) + halvings
    assert isinstance(caught.value.__cause__, torch.OutOfMemoryError)  # the original error stays visible


def test_a_closed_and_deleted_widget_frees_its_model_input_and_results() -> None:
    import gc
    import weakref

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 6 * 6, 4))
    widget = igw.ImageExplainer(model, torch.rand(1, 8, 8), labels=list("abcd"), steps=8)
    widget.wait()
    assert widget.status == "done", widget.error
    widget.target = 2  # a second cached result
    widget.wait()
    held = [weakref.ref(widget), weakref.ref(widget.explanation.attributions), weakref.ref(widget.explanation.inputs)]
    widget.close()
    del widget
    gc.collect()
    assert [ref() is None for ref in held] == [True, True, True]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_real_cuda_out_of_memory_falls_back_and_frees_the_memory() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.Tanh(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 5)
    ).cuda()
    image = torch.rand(1, 3, 1024, 1024, device="cuda")
    igw.integrated_gradients(model, image, target=1, steps=4, batch_size=4, trace=False)  # cuBLAS/cuDNN workspaces
    before = torch.cuda.memory_allocated()
    # 4096 points of 64 x 1024 x 1024 activations would need a terabyte: refused at once, then halved
    fallback = igw.integrated_gradients(model, image, target=1, steps=32, batch_size=4096, trace=False)
    direct = igw.integrated_gradients(model, image, target=1, steps=32, batch_size=16, trace=False)
    torch.testing.assert_close(fallback.attributions, direct.attributions, rtol=1e-5, atol=1e-7)
    del fallback, direct
    assert torch.cuda.memory_allocated() == before
