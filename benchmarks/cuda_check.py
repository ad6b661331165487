"""Proof of the CUDA path: every method runs on the model's GPU, matches the CPU, and moves no data
to the host inside the path loop.

Run on a machine with a GPU: python benchmarks/cuda_check.py   (exits 1 on any failure; no GPU: exits 0
after saying so). Not part of the test suite: CI has no GPU.
"""

from __future__ import annotations

import copy
import sys

import torch
from torch.profiler import ProfilerActivity, profile

import ig_widget as igw
from ig_widget.examples import train_digits_cnn


class Recurrent(torch.nn.Module):
    """Two bidirectional LSTM layers with dropout between them, and a head: [batch, time, 6] -> 3 scores."""

    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(6, 8, num_layers=2, dropout=0.5, bidirectional=True, batch_first=True)
        self.head = torch.nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.lstm(x)[0][:, -1])


def host_copies(fn) -> tuple[object, int]:
    """Run fn under the profiler and count device-to-host memcpy kernels it launched."""
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        out = fn()
        torch.cuda.synchronize()
    copies = sum(e.count for e in prof.key_averages() if "Memcpy DtoH" in e.key)
    return out, copies


def main() -> int:
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 0
    device = torch.device("cuda")
    model_cpu, images, _ = train_digits_cnn(size=16, epochs=4)
    model = copy.deepcopy(model_cpu).to(device)
    x_cpu = images[:16]
    x = x_cpu.to(device)
    failures = []

    calls = {
        "integrated_gradients": lambda m, v: igw.integrated_gradients(m, v, steps=64, batch_size=256),
        "saliency": lambda m, v: igw.saliency(m, v),
        "gradient_x_input": lambda m, v: igw.gradient_x_input(m, v),
        "smoothgrad": lambda m, v: igw.smoothgrad(m, v, samples=8),
        "expected_gradients": lambda m, v: igw.expected_gradients(m, v, data=images[100:300].to(v.device), samples=32),
    }
    for name, call in calls.items():
        on_gpu = call(model, x)
        on_cpu = call(model_cpu, x_cpu)
        ok_device = on_gpu.attributions.device.type == "cuda"
        close = torch.allclose(on_gpu.attributions.cpu(), on_cpu.attributions, atol=1e-4, rtol=1e-3)
        print(f"{name:<22} on {on_gpu.attributions.device}  matches CPU: {close}")
        if not (ok_device and close):
            failures.append(name)

    # An LSTM explained in eval mode: cuDNN computes an RNN's backward pass only in training mode, so the
    # twin runs recurrent layers in training mode with dropout 0 (the eval-mode function).
    torch.manual_seed(0)
    recurrent_cpu = Recurrent().eval()
    recurrent = copy.deepcopy(recurrent_cpu).to(device)
    sequences = torch.randn(4, 12, 6)
    try:
        on_gpu = igw.integrated_gradients(recurrent, sequences.to(device), target=1, steps=32)
        on_cpu = igw.integrated_gradients(recurrent_cpu, sequences, target=1, steps=32)
        close = torch.allclose(on_gpu.attributions.cpu(), on_cpu.attributions, atol=1e-4, rtol=1e-3)
        print(f"{'LSTM, eval mode':<22} on {on_gpu.attributions.device}  matches CPU: {close}")
    except RuntimeError as error:
        close = False
        print(f"{'LSTM, eval mode':<22} raised {error}")
    if not close:
        failures.append("LSTM")

    steps_small, steps_large = 32, 256
    _, copies_small = host_copies(lambda: igw.integrated_gradients(model, x, steps=steps_small, batch_size=128))
    _, copies_large = host_copies(lambda: igw.integrated_gradients(model, x, steps=steps_large, batch_size=128))
    chunks_small, chunks_large = steps_small * 16 // 128, steps_large * 16 // 128
    per_chunk = (copies_large - copies_small) / (chunks_large - chunks_small)
    print(
        f"device-to-host copies: {copies_small} for {chunks_small} chunks, {copies_large} for {chunks_large} chunks "
        f"({per_chunk:.2f} per chunk of 128 points)"
    )
    res = igw.integrated_gradients(model, x)
    print(
        f"completeness on GPU: max |relative gap| {res.relative_gap.abs().max().item():.4%}; "
        f"trace on {res.trace.cumulative.device}"
    )
    if failures:
        print("FAILED:", ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
