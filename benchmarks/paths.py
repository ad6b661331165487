"""Path methods against IG at equal steps, same run: Blur IG and IDGI should cost at most 1.1x IG,
Guided IG at most 1.5x (issue 14).

    .venv/bin/python benchmarks/paths.py [--model cnn64] [--steps 32] [--repeats 5] [--device cpu]

Prints, per method, the median seconds (interleaved repeats, one warm-up each) and the ratio to IG on
the same model, input and steps. Blur IG's max_sigma is a quarter of the image side (its kernels then
span the image); Guided IG runs PAIR's defaults (fraction 0.25, max_dist 0.02).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from models import image_model  # noqa: E402
from timing import interleaved_medians  # noqa: E402

import ig_widget as igw  # noqa: E402

LIMITS = {"blur_ig": 1.1, "idgi": 1.1, "blur_idgi": 1.1, "guided_ig": 1.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn64", choices=["cnn64", "resnet18"])
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    model, x = image_model(args.model, device)
    steps, sigma = args.steps, x.shape[-1] / 4
    contenders = {
        "ig": lambda: igw.integrated_gradients(model, x, target=3, steps=steps),
        "idgi": lambda: igw.integrated_gradients(model, x, target=3, steps=steps, idgi=True),
        "blur_ig": lambda: igw.blur_integrated_gradients(model, x, target=3, steps=steps, max_sigma=sigma),
        "blur_idgi": lambda: igw.blur_integrated_gradients(model, x, target=3, steps=steps, max_sigma=sigma, idgi=True),
        "guided_ig": lambda: igw.guided_integrated_gradients(model, x, target=3, steps=steps),
    }
    medians = interleaved_medians(contenders, args.repeats, device)
    print(f"{args.model} on {device} ({torch.get_num_threads()} threads), {steps} steps, {args.repeats} repeats")
    for name, seconds in medians.items():
        ratio = seconds / medians["ig"]
        limit = LIMITS.get(name)
        verdict = "" if limit is None else f"  (limit {limit}x: {'ok' if ratio <= limit else 'OVER'})"
        print(f"  {name:10s} {seconds * 1000:8.1f} ms  {ratio:5.2f}x IG{verdict}")


if __name__ == "__main__":
    main()
