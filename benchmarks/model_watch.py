"""What following the model costs a view (`ig_widget/widgets/model_watch.py`): the cheap reading the watch
thread polls every second, and the fingerprint read before every request, against one forward pass of
the model at batch 1 (the cheapest thing a new request costs), on the held-out architectures.

    .venv/bin/python benchmarks/model_watch.py [--scale full|quick|tiny] [--threads 2]

Prints, per model: parameters and tensors, the median milliseconds of `model_versions` (50 calls),
`model_fingerprint` (10 calls) and a gradient-free forward pass (5 calls), and fingerprint / forward
(same run). A click on a cached output pays the fingerprint and nothing else.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from heldout import ARCHITECTURES, SCALES, build  # noqa: E402

from ig_widget.attribution.model_state import tensors_of  # noqa: E402
from ig_widget.attribution.model_version import model_fingerprint, model_versions  # noqa: E402


def median_ms(call: Callable[[], object], count: int) -> float:
    call()  # first call outside the clock (allocations, lazy imports)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=SCALES, default="full")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"{'model':<44} {'params':>8} {'tensors':>7} {'versions':>9} {'fingerprint':>11} {'forward':>8} {'fp/fwd':>6}"
    )
    for name in ARCHITECTURES:
        built = build(name, args.scale)
        model, x = built.model, built.x
        tensors = list(tensors_of(model))
        parameters = sum(tensor.numel() for tensor in tensors)

        def forward(model=model, x=x, text=built.embedding is not None):
            with torch.no_grad():
                return model(input_ids=x) if text else model(x)

        versions = median_ms(lambda model=model: model_versions(model), 50)
        fingerprint = median_ms(lambda model=model: model_fingerprint(model), 10)
        passed = median_ms(forward, 5)
        print(
            f"{built.label:<44} {parameters / 1e6:>7.1f}M {len(tensors):>7} {versions:>7.2f}ms "
            f"{fingerprint:>9.1f}ms {passed:>6.1f}ms {fingerprint / passed:>6.2f}"
        )


if __name__ == "__main__":
    main()
