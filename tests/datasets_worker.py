"""A data-set run in a process of its own, for the tests that kill one or start it under torchrun.

    python tests/datasets_worker.py OUT [--slow SECONDS] [--no-read-back] [--slow-reads SECONDS]

`--no-read-back` makes reading the finished store back for its summary an error (a fresh run, one
process or several, adds the summary up as it writes). `--slow-reads` delays every read of the done
marks by a rank other than the leader (a slow file system): the ranks must still agree on the units left.

The model and data are built from fixed seeds, so every process (and the test itself, through
`build()`) gets the same ones.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

COUNT, UNIT, STEPS = 96, 8, 8


class Small(nn.Module):
    """A tiny CNN on 1x8x8 inputs; `delay` seconds of sleep per forward pass make a run slow enough to kill."""

    def __init__(self, delay: float = 0.0):
        super().__init__()
        self.delay = delay
        self.seen: list[int] = []  # rows of each forward pass (a list: the engine's twin shares it)
        self.net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 64, 10))

    def forward(self, x):
        self.seen.append(x.shape[0])
        if self.delay:
            time.sleep(self.delay)
        return self.net(x)


def build(delay: float = 0.0):
    torch.manual_seed(0)
    model = Small(delay).eval()
    generator = torch.Generator().manual_seed(1)
    inputs = torch.rand(COUNT, 1, 8, 8, generator=generator)
    labels = torch.randint(0, 10, (COUNT,), generator=generator)
    return model, inputs, labels


def run(out: str, delay: float = 0.0, unit: int = UNIT):
    from ig_widget.datasets import attribute_dataset

    torch.set_num_threads(1)
    model, inputs, labels = build(delay)
    return attribute_dataset(model, (inputs, labels), out=out, target="label", steps=STEPS, unit=unit, progress=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--no-read-back", action="store_true")
    parser.add_argument("--slow-reads", type=float, default=0.0)
    arguments = parser.parse_args()
    if arguments.slow_reads and int(os.environ.get("RANK", "0")) > 0:
        import ig_widget.datasets.run

        read = ig_widget.datasets.run.done_units

        def slow_read(path):
            time.sleep(arguments.slow_reads)
            return read(path)

        ig_widget.datasets.run.done_units = slow_read
    if arguments.no_read_back:
        import ig_widget.datasets.run

        def refused(store):
            raise AssertionError("the run read the store back for its summary")

        ig_widget.datasets.run.class_summary = refused
    run(arguments.out, arguments.slow)
