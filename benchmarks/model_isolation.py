"""What never touching the user's model costs: the twin's build time, and IG through it against IG on a
model the user froze and put in eval mode themselves (what the old freeze-and-restore gave).

    .venv/bin/python benchmarks/model_isolation.py [--repeats 5]

Prints, per model: modules, microseconds to build the twin (median of 50), and the ratio of IG time
(32 Gauss-Legendre steps) on a training-mode model with trainable weights, through the twin, to IG on
the same weights frozen and in eval mode (interleaved medians, same run).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from models import image_model, text_model  # noqa: E402
from timing import interleaved_medians  # noqa: E402

import ig_widget as igw  # noqa: E402
from ig_widget.attribution.model_state import isolated_model  # noqa: E402


def build_microseconds(model: torch.nn.Module, count: int = 50) -> float:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        isolated_model(model)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    cpu = torch.device("cpu")
    print(f"{'model':10} {'modules':>8} {'twin build us':>14} {'IG twin / frozen-by-user':>26}")
    for name in ("cnn64", "resnet18", "minilm"):
        if name == "minilm":
            model, pad, x = text_model(cpu)
            run = lambda m, x=x, pad=pad: igw.text_integrated_gradients(m, x, baseline=pad, steps=32, target=1)  # noqa: E731
        else:
            model, x = image_model(name, cpu)
            run = lambda m, x=x: igw.integrated_gradients(m, x, target=1, steps=32)  # noqa: E731
        training = model.train()  # the user's model as a training loop leaves it
        frozen = copy.deepcopy(model).eval().requires_grad_(False)
        contenders = {"twin": lambda: run(training), "frozen": lambda: run(frozen)}  # noqa: B023 - timed right here
        times = interleaved_medians(contenders, args.repeats, cpu)
        modules = sum(1 for _ in model.modules())
        print(f"{name:10} {modules:8d} {build_microseconds(model):14.0f} {times['twin'] / times['frozen']:26.3f}")


if __name__ == "__main__":
    main()
