"""Data-set runs: examples per second of `attribute_dataset` against the bare forward+backward passes
over the same path points (the floor) and against Captum's IntegratedGradients in a DataLoader loop at
equal steps and internal batch size; and one process against two under torchrun.

    python benchmarks/datasets.py all [--quick]     # every figure of issue 16 in one command (below)
    python benchmarks/datasets.py compare [--model digits|resnet18] [--count N] [--steps S] [--unit U]
                                          [--batch B] [--size P] [--threads T] [--repeats R] [--device D]
                                          [--autocast none|bf16|fp16]
    python benchmarks/datasets.py scaling [--count N]   # torchrun with 1, then 2 processes (1 thread each)
    python benchmarks/datasets.py counts [--model ...]  # per unit: rows through the model, operators, syncs
    python benchmarks/datasets.py profile [--model ...] # torch.profiler: the operators ours adds to the floor
    python benchmarks/datasets.py parts [--model ...]   # the engine's walk alone, as it is and in two variants

`all` runs, one after the other: `compare` on the digits CNN (1024 test digits repeated, 32 steps,
unit 64, 512 rows per pass, 5 repeats) and on a ResNet-18 (random weights, 10 classes, 3 x 64 x 64,
32 examples, 16 steps, unit 16, 64 rows per pass, 3 repeats), both on one torch thread; `counts` for
both; where a GPU is found, `compare` of a ResNet-50 at 3 x 224 x 224 on it (256 examples, 32 steps,
unit 32, 256 rows per pass), in float32 and under bf16 autocast; `scaling` on 4096 digits. `--quick`
shrinks every size and repeat (a smoke run of the command, not figures). Not part of CI.

What is compared (the same examples, steps, Gauss-Legendre points and rows per pass for all three):
- ours: `attribute_dataset(model, (x, y), out=..., steps, unit, batch_size)`: the whole run, store
  written (the empty output folder is made before the clock and removed after it).
- floor: the same path points, step-major per unit as the engine walks them, `batch` rows per forward
  pass, one forward and one input-gradient backward pass each and nothing else, on a copy of the model
  with frozen parameters (ours runs a twin whose parameters are detached: neither computes weight
  gradients). Ours adds to it x and x' riding in each unit's first chunk (2 rows per example) and
  everything around the walk.
- Captum: `IntegratedGradients(model).attribute(xb, target=yb, n_steps, method="gausslegendre",
  internal_batch_size=batch, return_convergence_delta=True)` per DataLoader batch of `unit` examples,
  on the model as given (as a user calls it; its parameters require gradients).
Contenders run interleaved, one round each per repeat, after one warm-up each; the median of the
repeats is printed for wall time and process CPU time (all threads: ours' loader and writer threads
count). Under torchrun this file is also the worker (`worker` mode).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from models import ResNet18  # noqa: E402

from ig_widget.attribution.quadrature import path_points  # noqa: E402
from ig_widget.datasets import attribute_dataset  # noqa: E402

# `all`: (label, compare/counts arguments), full and --quick
PRESETS = {
    "digits": {"model": "digits", "count": 1024, "steps": 32, "unit": 64, "batch": 512, "size": 8, "repeats": 5},
    "resnet18": {"model": "resnet18", "count": 32, "steps": 16, "unit": 16, "batch": 64, "size": 64, "repeats": 3},
}
GPU = {"model": "resnet50", "count": 256, "steps": 32, "unit": 32, "batch": 256, "size": 224, "repeats": 3}
QUICK = {
    "digits": {"count": 256, "repeats": 2},
    "resnet18": {"count": 8, "steps": 4, "unit": 4, "batch": 16, "size": 32, "repeats": 1},
}
SCALING_COUNT, SCALING_QUICK_COUNT = 4096, 512
AUTOCAST = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def workload(name: str, count: int, size: int, seed: int = 0):
    """(model, inputs, labels): the digits CNN (trained, the real test digits repeated), or a ResNet-18
    or ResNet-50 (heldout.py's) with random weights and 10 classes on random images of size x size."""
    torch.manual_seed(seed)
    if name == "digits":
        from ig_widget.examples import train_digits_cnn

        model, images, labels = train_digits_cnn()
        repeats = -(-count // len(images))
        return model, images.repeat(repeats, 1, 1, 1)[:count], labels.repeat(repeats)[:count]
    if name == "resnet50":
        from heldout import ResNet

        model = ResNet(classes=10).eval()
    else:
        model = ResNet18(classes=10).eval()
    return model, torch.rand(count, 3, size, size), torch.randint(0, 10, (count,))


@dataclass
class Contender:
    """`run()` is timed; `prepare()` and `clean()` (the output folder) are not."""

    run: Callable[[], None]
    prepare: Callable[[], None] = lambda: None
    clean: Callable[[], None] = lambda: None


def ours(model, x, y, steps, unit, batch, autocast=None) -> Contender:
    folder: list[pathlib.Path] = []

    def prepare():
        folder.append(pathlib.Path(tempfile.mkdtemp()))

    def run():
        attribute_dataset(
            model,
            (x, y),
            out=folder[-1] / "run",
            steps=steps,
            unit=unit,
            batch_size=batch,
            autocast=autocast,
            progress=False,
        )

    def clean():
        shutil.rmtree(folder.pop())

    return Contender(run, prepare, clean)


def floor(model, x, y, steps, unit, batch, autocast=None) -> Contender:
    """The same points through the model, forward and backward, and nothing else: per unit the points
    step-major (point k * U + b is alpha_k x_b, as the engine walks the black baseline), `batch` rows per
    pass, on a frozen copy of the model (the model given to the others is not touched)."""
    alphas = torch.tensor(path_points("gausslegendre", steps)[0], dtype=x.dtype, device=x.device)
    frozen = copy.deepcopy(model)
    for p in frozen.parameters():
        p.requires_grad_(False)

    def run():
        for start in range(0, len(x), unit):
            xb, yb = x[start : start + unit], y[start : start + unit]
            points = (alphas.view(-1, *(1,) * xb.ndim) * xb).reshape(-1, *xb.shape[1:])
            targets = yb.repeat(steps)
            for chunk in range(0, len(points), batch):
                part = points[chunk : chunk + batch].requires_grad_(True)
                with _autocast(x.device, autocast):
                    score = frozen(part).gather(1, targets[chunk : chunk + batch, None]).sum()
                torch.autograd.grad(score, part)

    return Contender(run)


def captum(model, x, y, steps, unit, batch, autocast=None) -> Contender:
    from captum.attr import IntegratedGradients

    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=unit, pin_memory=next(model.parameters()).is_cuda
    )
    device = next(model.parameters()).device
    method = IntegratedGradients(model)

    def run():
        for xb, yb in loader:
            with _autocast(device, autocast):
                method.attribute(
                    xb.to(device),
                    target=yb.to(device),
                    n_steps=steps,
                    method="gausslegendre",
                    internal_batch_size=batch,
                    return_convergence_delta=True,
                )

    return Contender(run)


def _autocast(device: torch.device, dtype: torch.dtype | None):
    """torch.autocast at `dtype` on `device`, or nothing."""
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def timed(contender: Contender, device: torch.device) -> tuple[float, float]:
    contender.prepare()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        contender.run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        contender.clean()


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.1f} {five:.1f} {fifteen:.1f}"
    except OSError:
        return "load average unknown"


def compare(arguments) -> dict[str, tuple[float, float]]:
    if arguments.threads:
        torch.set_num_threads(arguments.threads)
    device = torch.device(arguments.device)
    model, x, y = workload(arguments.model, arguments.count, arguments.size)
    model = model.to(device)
    # ours and Captum read the examples from the host, as from a data set; the floor's are on the device
    autocast = AUTOCAST[arguments.autocast]
    contenders = {
        name: make(model, *data, arguments.steps, arguments.unit, arguments.batch, autocast)
        for name, make, data in (
            ("ours", ours, (x, y)),
            ("floor", floor, (x.to(device), y.to(device))),
            ("captum", captum, (x, y)),
        )
    }
    before = _load()
    for contender in contenders.values():
        timed(contender, device)  # warm-up
    times = {name: [] for name in contenders}
    for _ in range(arguments.repeats):
        for name, contender in contenders.items():
            times[name].append(timed(contender, device))
    shape = "x".join(map(str, x.shape[1:]))
    print(
        f"{arguments.model} ({shape}, {device.type}): {arguments.count} examples, {arguments.steps} steps, "
        f"unit {arguments.unit}, {arguments.batch} rows per pass, {torch.get_num_threads()} threads, "
        f"autocast {arguments.autocast}, "
        f"median of {arguments.repeats} interleaved rounds ({before}; after: {_load().removeprefix('load average ')})"
    )
    medians = {name: tuple(sorted(column)[len(column) // 2] for column in zip(*rows)) for name, rows in times.items()}
    for name, (wall, cpu) in medians.items():
        print(f"  {name:7s} {arguments.count / wall:8.1f} examples/s wall  {arguments.count / cpu:8.1f} examples/s CPU")
    for clock, index in (("wall", 0), ("CPU", 1)):
        print(
            f"  {clock:4s}: ours / floor = {medians['floor'][index] / medians['ours'][index]:.2f}x (goal 0.9x), "
            f"ours / Captum = {medians['captum'][index] / medians['ours'][index]:.2f}x (goal 1.5x)"
        )
    return medians


class _RowCounter(torch.nn.Module):
    """Wraps a model; counts rows through its forward passes and rows its backward passes reach (a hook
    on the output: the engine's twin runs without the user's module hooks). The counts live in a dict,
    which the twin shares."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner
        self.counts = {"passes": 0, "forward rows": 0, "backward rows": 0}

    def _backward(self, gradient):
        self.counts["backward rows"] += gradient.shape[0]

    def forward(self, x):
        self.counts["passes"] += 1
        self.counts["forward rows"] += x.shape[0]
        output = self.inner(x)
        if output.requires_grad:
            output.register_hook(self._backward)
        return output


def counts(arguments) -> None:
    """Per unit, deterministic: rows through the model's forward and backward passes, operator calls
    and host synchronisations (benchmarks/op_counts.py's OpCounter; operators of this thread only, the
    writer's and loader's threads run outside the dispatch mode, and host reads counted in this thread
    only: the writer's copies to the host are not waits of the compute loop), as the difference
    between a run of two units and a run of one, so the per-run work (the store, the model's identity,
    the output's width) cancels out."""
    from op_counts import OpCounter

    class ThisThread(OpCounter):
        def _counting(self, original):
            counting, main = super()._counting(original), threading.get_ident()

            def read(tensor, *args, **kwargs):
                if threading.get_ident() == main:
                    return counting(tensor, *args, **kwargs)
                return original(tensor, *args, **kwargs)

            return read

    torch.set_num_threads(1)
    model, x, y = workload(arguments.model, 2 * arguments.unit, arguments.size)
    measured = {}
    for units in (1, 2):
        rows = units * arguments.unit
        for name, make in (("ours", ours), ("floor", floor)):
            wrapped = _RowCounter(model)
            contender = make(wrapped, x[:rows], y[:rows], arguments.steps, arguments.unit, arguments.batch)
            timed(contender, torch.device("cpu"))  # warm-up, uncounted
            wrapped.counts.update(dict.fromkeys(wrapped.counts, 0))
            if name == "floor":  # the floor runs a frozen copy: its counter is the copy's
                wrapped = None
            contender.prepare()
            try:
                with ThisThread() as counter:
                    contender.run()
            finally:
                contender.clean()
            measured[name, units] = (counter.ops, counter.syncs, wrapped)
    print(
        f"{arguments.model}: per unit of {arguments.unit} examples, {arguments.steps} steps "
        f"({arguments.steps * arguments.unit} path points), {arguments.batch} rows per pass"
    )
    for name in ("ours", "floor"):
        ops = measured[name, 2][0] - measured[name, 1][0]
        syncs = measured[name, 2][1] - measured[name, 1][1]
        line = f"  {name:6s} {ops:6d} operator calls, {syncs} host syncs"
        counter = measured[name, 2][2]
        if counter is not None:
            single = measured[name, 1][2].counts
            per_unit = {key: counter.counts[key] - single[key] for key in single}
            line += (
                f", {per_unit['passes']} passes, {per_unit['forward rows']} rows forward, "
                f"{per_unit['backward rows']} rows backward"
            )
        print(line + f" (whole run of one unit: {measured[name, 1][:2]})")
    points = arguments.steps * arguments.unit
    print(
        f"  floor: {-(-points // arguments.batch)} passes, {points} rows forward and backward "
        "(the path points, by construction)"
    )


def profile(arguments) -> None:
    """The operators that take ours' time beside the floor's, from torch.profiler on one thread (self
    CPU time of every thread the profiler sees, one run each after a warm-up)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiled

    torch.set_num_threads(1)
    model, x, y = workload(arguments.model, arguments.count, arguments.size)
    totals = {}
    for name, make in (("floor", floor), ("ours", ours)):
        contender = make(model, x, y, arguments.steps, arguments.unit, arguments.batch)
        timed(contender, torch.device("cpu"))
        contender.prepare()
        try:
            with profiled(activities=[ProfilerActivity.CPU]) as recorded:
                contender.run()
        finally:
            contender.clean()
        totals[name] = {event.key: (event.self_cpu_time_total, event.count) for event in recorded.key_averages()}
    print(f"{arguments.model}: operators by self CPU time (ms, calls), ours against the floor")
    keys = sorted(set(totals["ours"]) | set(totals["floor"]), key=lambda key: -totals["ours"].get(key, (0, 0))[0])
    for key in keys[: arguments.top]:
        mine, theirs = totals["ours"].get(key, (0, 0)), totals["floor"].get(key, (0, 0))
        print(
            f"  {key[:44]:44s} ours {mine[0] / 1e3:9.1f} ({mine[1]:5d})  floor {theirs[0] / 1e3:9.1f} ({theirs[1]:5d})"
        )
    for name, events in totals.items():
        print(f"  {name}: {sum(time for time, _ in events.values()) / 1e3:.1f} ms self CPU in all")


def parts(arguments) -> None:
    """The engine's walk alone against the floor (this thread's CPU time, interleaved, median), per unit
    as a run calls it, in three forms: as the engine walks (x and x' riding in the first chunk, points
    in its layout), with a separate gradient-free pass at x and x' instead (a callable target takes the
    engine's probed walk), and with the points handed to the model contiguous (channels-first)."""
    from ig_widget.attribution.model_state import isolated_model
    from ig_widget.attribution.orchestrate import integrate_path
    from ig_widget.datasets.methods import checked_method

    torch.set_num_threads(1)
    model, x, y = workload(arguments.model, arguments.count, arguments.size)
    method = checked_method(
        "integrated_gradients",
        steps=arguments.steps,
        rule="gausslegendre",
        batch_size=arguments.batch,
        idgi=False,
        baseline=None,
        samples=None,
        noise_level=0.15,
        seed=0,
        baseline_data=None,
        example_shape=tuple(x.shape[1:]),
    )
    twin = isolated_model(model)

    def walk(forward, probed: bool = False):
        def run():
            for start in range(0, len(x), arguments.unit):
                xb, yb = x[start : start + arguments.unit], y[start : start + arguments.unit]
                target = (lambda output, yb=yb: output.gather(1, yb[:, None])[:, 0]) if probed else yb
                integrate_path(forward, xb, torch.zeros_like(xb), [target], method.options)

        return run

    contenders = {
        "floor": floor(model, x, y, arguments.steps, arguments.unit, arguments.batch).run,
        "walk, x and x' riding": walk(lambda points, rows: twin(points)),
        "walk, x and x' in a pass of their own": walk(lambda points, rows: twin(points), probed=True),
        "walk, points contiguous": walk(lambda points, rows: twin(points.contiguous())),
    }
    for run in contenders.values():
        run()
    times = {name: [] for name in contenders}
    for _ in range(arguments.repeats):
        for name, run in contenders.items():
            start = time.thread_time()
            run()
            times[name].append(time.thread_time() - start)
    medians = {name: sorted(found)[len(found) // 2] for name, found in times.items()}
    print(
        f"{arguments.model}: the walk per unit of {arguments.unit}, {arguments.steps} steps, {arguments.batch} rows "
        f"per pass, {arguments.count} examples, 1 thread, median of {arguments.repeats} ({_load()})"
    )
    for name, seconds in medians.items():
        print(f"  {name:38s} {seconds:7.3f} s CPU   floor / this {medians['floor'] / seconds:.3f}")


def worker(arguments) -> None:
    torch.set_num_threads(1)
    model, x, y = workload(arguments.model, arguments.count, arguments.size)
    out = pathlib.Path(arguments.out)
    import torch.distributed as dist

    dist.init_process_group("gloo")  # before the clock: the rendezvous is not the run
    dist.barrier()
    start, cpu, thread = time.perf_counter(), time.process_time(), time.thread_time()
    attribute_dataset(
        model, (x, y), out=out, steps=arguments.steps, unit=arguments.unit, batch_size=arguments.batch, progress=False
    )
    wall = time.perf_counter() - start
    # per rank: wall, process CPU (its writer and loader threads too), compute thread CPU; a rank whose
    # CPU falls well short of its wall waited for a core (or for the other rank at a barrier)
    mine = (wall, time.process_time() - cpu, time.thread_time() - thread)
    every = [None] * dist.get_world_size()
    dist.all_gather_object(every, mine)
    if dist.get_rank() == 0:
        print(f"RESULT {arguments.count / wall:.2f}")
        print(
            "CPU "
            + "; ".join(
                f"rank {r}: wall {w:.2f} s, process {c:.2f} s, compute thread {t:.2f} s"
                for r, (w, c, t) in enumerate(every)
            )
        )
    dist.destroy_process_group()


def scaling(arguments) -> float:
    """Examples per second under torchrun with one process, then two (one torch thread each), in
    alternation for --repeats rounds; the medians' ratio."""
    rates = {1: [], 2: []}
    for _ in range(arguments.repeats):
        for processes in (1, 2):
            rate, cpu = _torchrun(arguments, processes)
            rates[processes].append(rate)
            print(f"    {processes} process{'es' if processes > 1 else ''}: {rate:.1f} examples/s; {cpu}")
    median = {processes: sorted(found)[len(found) // 2] for processes, found in rates.items()}
    for processes, found in rates.items():
        runs = ", ".join(f"{rate:.1f}" for rate in found)
        print(
            f"  torchrun --nproc-per-node={processes}: {median[processes]:.1f} examples/s median "
            f"(rounds: {runs}; after the rendezvous)"
        )
    ratio = median[2] / median[1]
    print(f"  scaling 1 -> 2 processes: {ratio:.2f}x (goal 1.8x; {_load()})")
    return ratio


def _torchrun(arguments, processes: int) -> tuple[float, str]:
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
        *("--model", arguments.model, "--count", str(arguments.count), "--steps", str(arguments.steps)),
        *("--unit", str(arguments.unit), "--batch", str(arguments.batch), "--size", str(arguments.size)),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    finally:
        shutil.rmtree(folder)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    if not lines:
        raise SystemExit(done.stderr[-2000:])
    cpu = [line.removeprefix("CPU ") for line in done.stdout.splitlines() if line.startswith("CPU ")]
    return float(lines[-1].split()[1]), cpu[-1] if cpu else ""


def everything(arguments) -> None:
    """Every figure issue 16 asks for, in one command."""
    for preset in ("digits", "resnet18"):
        settings = {**PRESETS[preset], **(QUICK[preset] if arguments.quick else {})}
        compare(argparse.Namespace(**{**vars(arguments), **settings, "threads": 1}))
        counts(argparse.Namespace(**{**vars(arguments), **settings}))
    if torch.cuda.is_available():  # the GPU figures: ResNet-50 at 224 x 224, float32 then bf16 autocast
        gpu = {**GPU, **({"count": 32, "repeats": 1} if arguments.quick else {}), "device": "cuda", "threads": None}
        for autocast in ("none", "bf16"):
            compare(argparse.Namespace(**{**vars(arguments), **gpu, "autocast": autocast}))
    print("scaling, digits, 1 thread per process:")
    count = SCALING_QUICK_COUNT if arguments.quick else SCALING_COUNT
    scaling(
        argparse.Namespace(
            **{**vars(arguments), **PRESETS["digits"], "count": count, "repeats": 1 if arguments.quick else 3}
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("all", "compare", "scaling", "counts", "profile", "parts", "worker"))
    parser.add_argument("--model", choices=("digits", "resnet18", "resnet50"), default="digits")
    parser.add_argument("--count", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--unit", type=int, default=64)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--size", type=int, default=224, help="resnet18: image side (the digits are 8 x 8)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="compare: torch threads (default torch's own)")
    parser.add_argument("--device", default="cpu", help="compare: the model's device (cpu, cuda)")
    parser.add_argument(
        "--autocast", choices=tuple(AUTOCAST), default="none", help="compare: every contender's passes under it"
    )
    parser.add_argument("--top", type=int, default=20, help="profile: operators listed")
    parser.add_argument("--quick", action="store_true", help="all: small sizes, one or two repeats (a smoke run)")
    parser.add_argument("--out")
    arguments = parser.parse_args()
    modes = {"all": everything, "compare": compare, "scaling": scaling, "counts": counts, "profile": profile}
    modes |= {"parts": parts, "worker": worker}
    modes[arguments.mode](arguments)
