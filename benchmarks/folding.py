"""What folding BatchNorm into the convolutions before it (attribution/folding.py) gains, and what it costs.

Run: .venv/bin/python benchmarks/folding.py [--repeats N] [--steps N]

Per model with BatchNorm (the held-out ResNet-50 and MobileNet-v3-small at 224 x 224, the benchmark's
ResNet-18 layout at 224 and at 64 x 64; random init, built in the benchmarks), with 2 CPU threads, in
one run, the two contenders once per round (interleaved):
  - folded: `integrated_gradients(model, x, ...)`, which folds;
  - unfolded: the same call on `lambda t: model(t)`, the same function behind a wrapper that is not a
    module, which the engine runs as it is (the fold applies to modules only): everything else equal.
Printed: the ratio of the median times (folded / unfolded) with the range of the per-round ratios,
the largest attribution difference relative to the largest attribution, and the first call's cost of
finding the pairs (the first folded call of a fresh model against its later calls).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import heldout  # noqa: E402
from models import ResNet18  # noqa: E402

import ig_widget as igw  # noqa: E402


def cases() -> dict[str, heldout.Built]:
    def resnet18(side: int) -> heldout.Built:
        torch.manual_seed(0)
        model, x = ResNet18().eval(), torch.rand(1, 3, side, side)
        return heldout.Built(f"ResNet-18, 3 x {side} x {side}", model, x, torch.zeros_like(x))

    return {
        "ResNet-50 224": heldout.resnet50("full"),
        "MobileNet-v3-small 224": heldout.mobilenet_v3_small("full"),
        "ResNet-18 224": resnet18(224),
        "ResNet-18 64": resnet18(64),
    }


def measure(name: str, built: heldout.Built, steps: int, repeats: int) -> None:
    model, x = built.model, built.x

    def folded():
        return igw.integrated_gradients(model, x, target=1, steps=steps)

    def unfolded():
        return igw.integrated_gradients(lambda t: model(t), x, target=1, steps=steps)

    start = time.perf_counter()
    first = folded()
    first_call = time.perf_counter() - start
    reference = unfolded()
    scale = float(reference.attributions.abs().max())
    difference = float((first.attributions - reference.attributions).abs().max()) / scale
    times: dict[str, list[float]] = {"folded": [], "unfolded": []}
    for _ in range(repeats):
        for label, call in (("folded", folded), ("unfolded", unfolded)):
            start = time.perf_counter()
            call()
            times[label].append(time.perf_counter() - start)
    ours, theirs = statistics.median(times["folded"]), statistics.median(times["unfolded"])
    per_round = [a / b for a, b in zip(times["folded"], times["unfolded"])]
    print(
        f"{name:24s} folded / unfolded {ours / theirs:.2f} [{min(per_round):.2f} - {max(per_round):.2f}] "
        f"({ours:.3f} s / {theirs:.3f} s) | max |difference| / max |attribution| {difference:.1e} | "
        f"first folded call {first_call:.3f} s (finding the pairs included)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"IG at {args.steps} Gauss-Legendre steps, 2 threads, {args.repeats} interleaved rounds; {heldout.load()}")
    for name, built in cases().items():
        measure(name, built, args.steps, args.repeats)


if __name__ == "__main__":
    main()
