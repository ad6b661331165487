"""ig-widget against Captum, side by side in one run: the six figures of the performance issue.

Run: make bench   (or .venv/bin/python benchmarks/run_all.py [--device cpu|cuda|all] [--quick])

Models: a small CNN on 3 x 64 x 64, a ResNet-18 layout on 3 x 224 x 224 (random weights) and MiniLM
on a 32-token sentence (IG over the embedding layer's output). Every ratio compares times measured in
this run on the same model, input, baseline, target, steps and rule; each time is the median of
interleaved repeats. CPU always; CUDA too where present.

  1. IG at 50 Gauss-Legendre steps, ours (trace on, as the widget uses it) / Captum. Goal <= 0.9.
     A second line times Captum with return_convergence_delta=True: F(x) and F(x') are computed
     for every result of ours (its completeness check), and for Captum's only when asked.
  2. IG to a relative completeness gap under 1%: ours with steps="auto", tol=0.01 / Captum at its
     default 50 Gauss-Legendre steps. Goal <= 0.5.
  3. Top-5 classes: ours (integrated_gradients_multi, top_k=5) / five Captum calls, at equal steps
     and with steps="auto" (each class to a gap under 1%). Goal <= 0.5.
  4. Our IG at 50 steps / the bare batched forward+backward passes over the same 50 points (the
     fastest of one batch in the default layout, one in channels-last, and the chunks ours picks;
     parameters frozen). Goal <= 1.1.
  5. Peak memory of a 224 x 224 IG at 128 steps with the automatic batch size, the largest batch
     it chose, and the budget it must fit (fresh process).
  6. Widget payload bytes at 224 x 224, 32 steps, and the slider redraw time in Chromium (from
     benchmarks/widget_payload.py). Goals: <= 4 MB, <= 16 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import torch
from captum.attr import IntegratedGradients, LayerIntegratedGradients
from models import image_model, text_model
from timing import interleaved_medians

from ig_widget import (
    integrated_gradients,
    integrated_gradients_multi,
    text_integrated_gradients,
    text_integrated_gradients_multi,
)
from ig_widget.attribution.batching import auto_batch_size

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 50
GOALS = {"equal steps": 0.9, "to 1% gap": 0.5, "top-5": 0.5, "vs floor": 1.1}


def image_contenders(name: str, device: torch.device) -> tuple[dict[str, Callable], dict]:
    model, x = image_model(name, device)
    baseline = torch.zeros_like(x)
    with torch.no_grad():
        top = model(x).topk(5, dim=1).indices[0].tolist()
    target = top[0]
    captum = IntegratedGradients(model)

    def captum_ig(klass: int, steps: int = STEPS, delta: bool = False):
        return captum.attribute(
            x, baseline, target=klass, n_steps=steps, method="gausslegendre", return_convergence_delta=delta
        )

    points = baseline + torch.as_tensor(
        np.polynomial.legendre.leggauss(STEPS)[0] / 2 + 0.5, dtype=x.dtype, device=device
    ).view(-1, 1, 1, 1) * (x - baseline)
    channels_last = points.contiguous(memory_format=torch.channels_last) if device.type == "cpu" else points
    chunk_size = auto_batch_size(x[0], 1, STEPS)
    contenders = {
        "captum": lambda: captum_ig(target),
        "captum delta": lambda: captum_ig(target, delta=True),
        "ours": lambda: integrated_gradients(model, x, target=target, baseline=baseline, steps=STEPS),
        "ours auto": lambda: integrated_gradients(model, x, target=target, baseline=baseline, steps="auto", tol=0.01),
        "captum top-5": lambda: [captum_ig(klass) for klass in top],
        "ours top-5": lambda: integrated_gradients_multi(model, x, baseline=baseline, steps=STEPS, top_k=5),
        "ours top-5 auto": lambda: integrated_gradients_multi(model, x, baseline=baseline, steps="auto", top_k=5),
        "floor": lambda: bare_passes(model, points, target),
        "floor channels-last": lambda: bare_passes(model, channels_last, target),
        # the same passes in the chunks ours picks: on the CPU they run faster than one batch
        "floor chunked": lambda: [bare_passes(model, chunk, target) for chunk in channels_last.split(chunk_size)],
    }
    auto = integrated_gradients(model, x, target=target, baseline=baseline, steps="auto", tol=0.01, trace=False)
    fixed = integrated_gradients(model, x, target=target, baseline=baseline, steps=STEPS, trace=False)
    attributions = captum_ig(target)
    captum_gap = relative_gap(attributions.sum(), fixed.score[0], fixed.baseline_score[0])
    agreement = float((fixed.attributions - attributions).abs().max() / attributions.abs().max())
    facts = {
        "auto steps": auto.steps,
        "auto gap": float(auto.relative_gap.abs().max()),
        "captum gap": captum_gap,
        "max difference vs captum": agreement,
    }
    return contenders, facts


def bare_passes(model: torch.nn.Module, points: torch.Tensor, target: int) -> None:
    """The physical floor: one forward and one backward over the path points, nothing else."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for parameter, _ in flags:
        parameter.requires_grad_(False)
    try:
        points = points.detach().requires_grad_(True)
        torch.autograd.grad(model(points)[:, target].sum(), points)
    finally:
        for parameter, required in flags:
            parameter.requires_grad_(required)


def text_contenders(device: torch.device) -> tuple[dict[str, Callable], dict]:
    model, pad, ids = text_model(device)
    layer = model.get_input_embeddings()
    special = (ids == 101) | (ids == 102) | (ids == pad)
    baseline_ids = torch.where(special, ids, torch.full_like(ids, pad))
    with torch.no_grad():
        top = model(input_ids=ids).topk(5, dim=1).indices[0].tolist()
    target = top[0]
    captum = LayerIntegratedGradients(lambda tokens: model(input_ids=tokens), layer)

    def captum_ig(klass: int, delta: bool = False):
        return captum.attribute(
            ids, baseline_ids, target=klass, n_steps=STEPS, method="gausslegendre", return_convergence_delta=delta
        )

    def ours(steps, klass=target, trace=True):
        return text_integrated_gradients(
            model,
            ids,
            target=klass,
            baseline=baseline_ids,
            steps=steps,
            embedding=layer,
            keep_special=False,
            trace=trace,
        )

    with torch.no_grad():
        embedded, base = layer(ids), layer(baseline_ids)
    alphas = torch.as_tensor(np.polynomial.legendre.leggauss(STEPS)[0] / 2 + 0.5, dtype=embedded.dtype, device=device)
    points = base + alphas.view(-1, 1, 1) * (embedded - base)
    contenders = {
        "captum": lambda: captum_ig(target),
        "captum delta": lambda: captum_ig(target, delta=True),
        "ours": lambda: ours(STEPS),
        "ours auto": lambda: ours("auto"),
        "captum top-5": lambda: [captum_ig(klass) for klass in top],
        "ours top-5": lambda: text_integrated_gradients_multi(
            model, ids, targets=top, baseline=baseline_ids, steps=STEPS, embedding=layer, keep_special=False
        ),
        "ours top-5 auto": lambda: text_integrated_gradients_multi(
            model, ids, targets=top, baseline=baseline_ids, steps="auto", embedding=layer, keep_special=False
        ),
        "floor": lambda: bare_text_passes(model, points, ids, target),
    }
    fixed = ours(STEPS, trace=False).result
    attributions = captum_ig(target)
    facts = {
        "captum gap": relative_gap(attributions.sum(), fixed.score[0], fixed.baseline_score[0]),
        "max difference vs captum": float((fixed.attributions - attributions).abs().max() / attributions.abs().max()),
    }
    auto = ours("auto", trace=False).result
    facts.update({"auto steps": auto.steps, "auto gap": float(auto.relative_gap.abs().max())})
    return contenders, facts


def bare_text_passes(model: torch.nn.Module, points: torch.Tensor, ids: torch.Tensor, target: int) -> None:
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for parameter, _ in flags:
        parameter.requires_grad_(False)
    try:
        points = points.detach().requires_grad_(True)
        scores = model(inputs_embeds=points)[:, target]
        torch.autograd.grad(scores.sum(), points)
    finally:
        for parameter, required in flags:
            parameter.requires_grad_(required)


def relative_gap(total, score, baseline_score) -> float:
    change = float(score - baseline_score)
    return abs(float(total) - change) / max(abs(change), 1e-12)


def report(label: str, times: dict[str, float], facts: dict) -> None:
    floor = min(value for key, value in times.items() if key.startswith("floor"))
    rows = [
        ("equal steps", "ours", "captum", f"{STEPS} Gauss-Legendre steps each"),
        (
            "equal steps",
            "ours",
            "captum delta",
            "the same, Captum also computing F(x) and F(x') for its "
            "convergence delta, as every one of our results does",
        ),
    ]
    if "ours auto" in times:
        rows.append(
            (
                "to 1% gap",
                "ours auto",
                "captum",
                f"ours: {facts['auto steps']} points, gap {facts['auto gap']:.2%}; "
                f"captum at {STEPS} steps: gap {facts['captum gap']:.2%}",
            )
        )
    if "ours top-5" in times:
        rows.append(("top-5", "ours top-5", "captum top-5", f"{STEPS} steps each, one walk vs five calls"))
        rows.append(
            (
                "top-5",
                "ours top-5 auto",
                "captum top-5",
                f"ours steps='auto' (every class to a gap under 1%) vs five calls at {STEPS} steps",
            )
        )
    print(
        f"\n{label}   (attributions differ from Captum's by at most {facts['max difference vs captum']:.1e} "
        "of the largest)"
    )
    for figure, ours, theirs, note in rows:
        ratio = times[ours] / times[theirs]
        verdict = "meets" if ratio <= GOALS[figure] else "MISSES"
        print(
            f"  {figure:<12} {times[ours]:8.4f} s / {times[theirs]:8.4f} s = {ratio:5.2f}  "
            f"(goal <= {GOALS[figure]}: {verdict})  {note}"
        )
    ratio = times["ours"] / floor
    verdict = "meets" if ratio <= GOALS["vs floor"] else "MISSES"
    print(
        f"  {'vs floor':<12} {times['ours']:8.4f} s / {floor:8.4f} s = {ratio:5.2f}  "
        f"(goal <= {GOALS['vs floor']}: {verdict})  bare forward+backward over the same {STEPS} points "
        f"(fastest: {min((k for k in times if k.startswith('floor')), key=times.get)})"
    )


def memory_figure(device: torch.device) -> None:
    completed = subprocess.run(
        [sys.executable, os.path.join(HERE, "memory_probe.py"), device.type], capture_output=True, text=True, check=True
    )
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    peak, budget = figures["peak_bytes"], figures["budget_bytes"]
    verdict = "fits" if peak <= budget else "EXCEEDS"
    print(
        f"\n5. memory, ResNet-18 224 x 224, 128 steps, automatic batch size: peak {peak / 2**20:.0f} MiB "
        f"above the loaded model, largest batch {figures['largest_batch']} points ({figures['chunks']} chunks); "
        f"budget {budget / 2**20:.0f} MiB: {verdict}"
    )


def widget_figure() -> None:
    script = os.path.join(HERE, "widget_payload.py")
    if not os.path.exists(script):
        print("\n6. widget: benchmarks/widget_payload.py is not there; skipped")
        return
    completed = subprocess.run([sys.executable, script], capture_output=True, text=True)
    print("\n6. widget (benchmarks/widget_payload.py; goals: payload <= 4 MB, redraw <= 16 ms):")
    for line in (completed.stdout + (completed.stderr if completed.returncode else "")).strip().splitlines()[-8:]:
        print("   " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda", "all"),
        default="auto",
        help="auto: the CPU, and CUDA too when present",
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run, noisier figures)")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: cnn64,resnet18,minilm,memory,widget")
    arguments = parser.parse_args()
    skip = set(filter(None, arguments.skip.split(",")))
    devices = [torch.device("cpu")]
    if arguments.device in ("auto", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    elif arguments.device == "cuda":
        devices = [torch.device("cuda")]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; "
        f"devices: {', '.join(str(device) for device in devices)}"
    )
    for device in devices:
        big = 2 if arguments.quick else (3 if device.type == "cpu" else 10)
        small = 2 if arguments.quick else (7 if device.type == "cpu" else 20)
        print(f"\n===== {device}: medians of {small} interleaved repeats ({big} for ResNet-18) =====")
        for name in ("cnn64", "resnet18"):
            if name in skip:
                continue
            contenders, facts = image_contenders(name, device)
            times = interleaved_medians(contenders, big if name == "resnet18" else small, device)
            label = "small CNN, 3 x 64 x 64" if name == "cnn64" else "ResNet-18 layout, 3 x 224 x 224"
            report(f"{label} [{device}]", times, facts)
        if "minilm" not in skip:
            contenders, facts = text_contenders(device)
            times = interleaved_medians(contenders, small, device)
            report(f"MiniLM, 32 tokens, embedding-layer IG [{device}]", times, facts)
        if "memory" not in skip:
            memory_figure(device)
    if "widget" not in skip:
        widget_figure()


if __name__ == "__main__":
    main()
