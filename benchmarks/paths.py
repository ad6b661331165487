"""Path methods against IG at equal steps, same run: Blur IG and IDGI should cost at most 1.1x IG,
Guided IG at most 1.5x (issue 14).

    .venv/bin/python benchmarks/paths.py [--model cnn64] [--scale full] [--steps 32] [--repeats 5] [--batches 1 8] [--device cpu]

For each batch size (by default 1 image and 8 images, one after the other in the same run) prints, per
method, the median wall seconds and median CPU seconds of this process (interleaved
repeats, one warm-up each) and their ratios to IG on the same model, input and steps, the median minor page
faults of a call (glibc's default allocator faults a call's large arrays in again when it hands them back
to the system: set MALLOC_TRIM_THRESHOLD_ and MALLOC_TOP_PAD_ to compare without), and the operator
calls and host synchronisations of one call (op_counts.py's OpCounter: the same on every machine). CPU time is the
steadier figure on a shared machine: other processes' load stretches the wall time of every contender,
but not this process's CPU time. "guided_floor" is Guided IG's floor: its passes alone, one after another
(see `guided_floor`). Blur IG's max_sigma is a quarter of the image side (its kernels then
span the image); Guided IG runs PAIR's defaults (fraction 0.25, max_dist 0.02).
"""

from __future__ import annotations

import argparse
import copy
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import heldout  # noqa: E402
from models import image_model  # noqa: E402
from op_counts import count  # noqa: E402
from timing import synchronize  # noqa: E402

import ig_widget as igw  # noqa: E402
from ig_widget.attribution.batching import preferred_layout  # noqa: E402

IMAGE_HELDOUT = [name for name in heldout.ARCHITECTURES if name not in ("bert4", "gpt2_4")]
LIMITS = {"blur_ig": 1.1, "idgi": 1.1, "blur_idgi": 1.1, "guided_ig": 1.5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default="cnn64",
        choices=["cnn64", "resnet18", *IMAGE_HELDOUT],
        help="the small CNN, ResNet-18, or a held-out image architecture built in heldout.py (random init)",
    )
    parser.add_argument("--scale", default="full", help="held-out architectures only: heldout.py's scale")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--batches",
        type=int,
        nargs="+",
        default=[1, 8],
        help="images per call, one block of lines each (Guided IG's passes take them all at once)",
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.model in IMAGE_HELDOUT:
        built = heldout.build(args.model, args.scale)
        model, x = built.model.to(device), built.x.to(device)
    else:
        model, x = image_model(args.model, device)
    for batch in args.batches:
        images = torch.rand(batch, *x.shape[1:], generator=torch.Generator().manual_seed(1)).to(device)
        report(args.model, model, images, args.steps, args.repeats, device)


def report(name: str, model, x: torch.Tensor, steps: int, repeats: int, device: torch.device) -> None:
    """One block: each method's medians, its ratios to IG, its operator calls and host reads."""
    sigma = x.shape[-1] / 4
    contenders = {
        "ig": lambda: igw.integrated_gradients(model, x, target=3, steps=steps),
        "idgi": lambda: igw.integrated_gradients(model, x, target=3, steps=steps, idgi=True),
        "blur_ig": lambda: igw.blur_integrated_gradients(model, x, target=3, steps=steps, max_sigma=sigma),
        "blur_idgi": lambda: igw.blur_integrated_gradients(model, x, target=3, steps=steps, max_sigma=sigma, idgi=True),
        "guided_ig": lambda: igw.guided_integrated_gradients(model, x, target=3, steps=steps),
        "guided_floor": guided_floor(model, x, steps),
    }
    wall, cpu, faults = medians(contenders, repeats, device)
    print(f"{name} on {device} ({torch.get_num_threads()} threads), batch {len(x)}, {steps} steps, {repeats} repeats")
    ops = {label: count(run) for label, run in contenders.items()}
    for label in contenders:
        ratios = wall[label] / wall["ig"], cpu[label] / cpu["ig"]
        limit = LIMITS.get(label)
        verdict = "" if limit is None else f"  (limit {limit}x: {'ok' if ratios[1] <= limit else 'OVER'} on CPU time)"
        print(
            f"  {label:10s} wall {wall[label] * 1000:8.1f} ms {ratios[0]:5.2f}x IG   "
            f"cpu {cpu[label] * 1000:8.1f} ms {ratios[1]:5.2f}x IG   faults {faults[label]:7d}   "
            f"ops {ops[label][0]:6d} (syncs {ops[label][1]}){verdict}"
        )


def guided_floor(model, x: torch.Tensor, steps: int):
    """Guided IG's floor: its `steps` forward+backward passes of the whole batch, one after another, on a
    frozen copy of the model with the input in the layout the engine hands the model, and nothing else."""
    frozen = copy.deepcopy(model)
    for parameter in frozen.parameters():
        parameter.requires_grad_(False)
    layout = preferred_layout(x)
    points = x if layout is None else x.contiguous(memory_format=layout)

    def run():
        for _ in range(steps):
            point = points.detach().requires_grad_(True)
            torch.autograd.grad(frozen(point)[:, 3].sum(), point)

    return run


def medians(contenders: dict, repeats: int, device: torch.device) -> tuple[dict, dict, dict]:
    """Median wall and process CPU seconds and minor page faults per contender: one warm-up call each,
    then `repeats` rounds that call every contender once in turn, each round starting one contender
    later (what runs first in a round pays for growing the heap again after the round before: with a
    fixed order that was always IG, whose own time then held the other methods' page faults)."""
    for run in contenders.values():
        run()
    wall = {name: [] for name in contenders}
    cpu = {name: [] for name in contenders}
    faults = {name: [] for name in contenders}
    names = list(contenders)
    for turn in range(repeats):
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            run = contenders[name]
            synchronize(device)
            start_faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            synchronize(device)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start_faults)
    return (
        {name: statistics.median(v) for name, v in wall.items()},
        {name: statistics.median(v) for name, v in cpu.items()},
        {name: int(statistics.median(v)) for name, v in faults.items()},
    )


if __name__ == "__main__":
    main()
