"""Data-set runs: examples per second of `attribute_dataset` against the bare forward+backward passes
over the same path points (the floor) and against Captum's IntegratedGradients in a DataLoader loop at
equal steps and internal batch size; and one process against two under torchrun.

    python benchmarks/datasets.py compare [--model digits|resnet18] [--count N] [--steps S] [--unit U] [--batch B]
                                          [--threads T] [--repeats R]
    python benchmarks/datasets.py scaling [--count N]   # torchrun with 1, then 2 processes (1 thread each)
    python benchmarks/datasets.py counts [--model ...]  # operator calls and host syncs per unit vs the floor

Not part of CI. `compare` interleaves the three contenders (median of --repeats rounds) and reports
wall time and process CPU time (steadier on a shared machine). Under torchrun this file is also the
worker (`worker` mode).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from models import ResNet18  # noqa: E402

from ig_widget.attribution.quadrature import path_points  # noqa: E402
from ig_widget.datasets import attribute_dataset  # noqa: E402


def workload(name: str, count: int, size: int, seed: int = 0):
    """(model, inputs, labels): the digits CNN (trained, the real test digits repeated) or a ResNet-18
    with random weights on random images of size x size."""
    torch.manual_seed(seed)
    if name == "digits":
        from ig_widget.examples import train_digits_cnn

        model, images, labels = train_digits_cnn()
        repeats = -(-count // len(images))
        return model, images.repeat(repeats, 1, 1, 1)[:count], labels.repeat(repeats)[:count]
    model = ResNet18(classes=10).eval()
    return model, torch.rand(count, 3, size, size), torch.randint(0, 10, (count,))


def ours(model, x, y, steps, unit, batch):
    def run():
        folder = tempfile.mkdtemp()
        try:
            attribute_dataset(
                model,
                (x, y),
                out=pathlib.Path(folder) / "run",
                steps=steps,
                unit=unit,
                batch_size=batch,
                progress=False,
            )
        finally:
            shutil.rmtree(folder)

    return run


def floor(model, x, y, steps, unit, batch):
    """The same points through the model, forward and backward, and nothing else."""
    alphas = torch.tensor(path_points("gausslegendre", steps)[0], dtype=x.dtype)
    for p in model.parameters():
        p.requires_grad_(False)

    def run():
        for start in range(0, len(x), unit):
            xb, yb = x[start : start + unit], y[start : start + unit]
            points = (alphas.view(-1, 1, 1, 1, 1) * xb).reshape(-1, *xb.shape[1:])
            targets = yb.repeat(steps)
            for chunk in range(0, len(points), batch):
                part = points[chunk : chunk + batch].requires_grad_(True)
                score = model(part).gather(1, targets[chunk : chunk + batch, None]).sum()
                torch.autograd.grad(score, part)

    return run


def captum(model, x, y, steps, unit, batch):
    from captum.attr import IntegratedGradients

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=unit)
    method = IntegratedGradients(model)

    def run():
        for xb, yb in loader:
            method.attribute(
                xb,
                target=yb,
                n_steps=steps,
                method="gausslegendre",
                internal_batch_size=batch,
                return_convergence_delta=True,
            )

    return run


def timed(run):
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(arguments):
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    model, x, y = workload(arguments.model, arguments.count, arguments.size)
    contenders = {
        name: make(model, x, y, arguments.steps, arguments.unit, arguments.batch)
        for name, make in (("ours", ours), ("floor", floor), ("captum", captum))
    }
    for run in contenders.values():
        run()  # warm-up
    times = {name: [] for name in contenders}
    for _ in range(arguments.repeats):
        for name, run in contenders.items():
            times[name].append(timed(run))
    print(
        f"{arguments.model}: {arguments.count} examples, {arguments.steps} steps, unit {arguments.unit}, "
        f"{arguments.batch} rows per pass, {torch.get_num_threads()} threads, median of {arguments.repeats}"
    )
    medians = {name: tuple(sorted(column)[len(column) // 2] for column in zip(*rows)) for name, rows in times.items()}
    for name, (wall, cpu) in medians.items():
        print(f"  {name:7s} {arguments.count / wall:8.1f} examples/s wall  {arguments.count / cpu:8.1f} examples/s CPU")
    for clock, index in (("wall", 0), ("CPU", 1)):
        print(
            f"  {clock}: ours / floor = {medians['floor'][index] / medians['ours'][index]:.2f}x, "
            f"ours / Captum = {medians['captum'][index] / medians['ours'][index]:.2f}x"
        )


def counts(arguments):
    """Operator calls and host synchronisations per unit (benchmarks/op_counts.py's OpCounter, this
    thread only: the store's writer thread runs no torch operators), as the difference between a run
    of two units and a run of one, so the per-run work (the store, the model's identity) cancels out."""
    from op_counts import OpCounter

    model, x, y = workload(arguments.model, 2 * arguments.unit, arguments.size)
    measured = {}
    for units in (1, 2):
        rows = units * arguments.unit
        contenders = {
            "ours": ours(model, x[:rows], y[:rows], arguments.steps, arguments.unit, arguments.batch),
            "floor": floor(model, x[:rows], y[:rows], arguments.steps, arguments.unit, arguments.batch),
        }
        for name, run in contenders.items():
            run()  # warm-up, uncounted
            with OpCounter() as counter:
                run()
            measured[name, units] = (counter.ops, counter.syncs)
    print(
        f"{arguments.model}: per unit of {arguments.unit} examples, {arguments.steps} steps, "
        f"{arguments.batch} rows per pass"
    )
    for name in ("ours", "floor"):
        ops = measured[name, 2][0] - measured[name, 1][0]
        syncs = measured[name, 2][1] - measured[name, 1][1]
        print(f"  {name:6s} {ops:6d} operator calls, {syncs} host syncs (whole run of one unit: {measured[name, 1]})")


def worker(arguments):
    torch.set_num_threads(1)
    model, x, y = workload(arguments.model, arguments.count, arguments.size)
    out = pathlib.Path(arguments.out)
    import torch.distributed as dist

    dist.init_process_group("gloo")  # before the clock: the rendezvous is not the run
    dist.barrier()
    start = time.perf_counter()
    attribute_dataset(
        model, (x, y), out=out, steps=arguments.steps, unit=arguments.unit, batch_size=arguments.batch, progress=False
    )
    if dist.get_rank() == 0:
        print(f"RESULT {arguments.count / (time.perf_counter() - start):.2f}")
    dist.destroy_process_group()


def scaling(arguments):
    rates = {}
    for processes in (1, 2):
        folder = tempfile.mkdtemp()
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc-per-node={processes}",
            __file__,
            "worker",
            "--out",
            str(pathlib.Path(folder) / "run"),
            "--model",
            arguments.model,
            "--count",
            str(arguments.count),
            "--steps",
            str(arguments.steps),
            "--unit",
            str(arguments.unit),
            "--batch",
            str(arguments.batch),
            "--size",
            str(arguments.size),
        ]
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        shutil.rmtree(folder)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
        if not lines:
            raise SystemExit(done.stderr[-2000:])
        rates[processes] = float(lines[-1].split()[1])
        print(f"  torchrun --nproc-per-node={processes}: {rates[processes]:.1f} examples/s (after the rendezvous)")
    print(f"  scaling 1 -> 2 processes: {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("compare", "scaling", "counts", "worker"))
    parser.add_argument("--model", choices=("digits", "resnet18"), default="digits")
    parser.add_argument("--count", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--unit", type=int, default=64)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="compare: torch threads (default torch's own)")
    parser.add_argument("--out")
    arguments = parser.parse_args()
    {"compare": compare, "scaling": scaling, "counts": counts, "worker": worker}[arguments.mode](arguments)
