"""`autocast=torch.bfloat16` against float32: time, and what it does to the completeness gap.

The path's forward and backward passes run under `torch.autocast` at bfloat16; F(x), F(x') and the
gradient sums stay float32, so the relative gap printed is the honest cost of the lower precision.
Per model, in one process with interleaved repeats: median wall time of one call in float32 and in
bfloat16 and their ratio, each call's relative gap, and how far the bf16 attributions are from the
float32 ones (relative L2 distance, and the rank correlation of |attributions|, which is what a
heat map shows). CPUs with AMX or AVX-512 BF16 run bf16 convolutions and matrix products natively;
elsewhere bf16 may be slower than float32: the script says which this machine is.

Run: .venv/bin/python benchmarks/mixed_precision.py [--device cuda] [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import image_model, text_model  # noqa: E402
from timing import interleaved_medians  # noqa: E402

import ig_widget as igw  # noqa: E402

STEPS = 32


def _rank_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    ranks = [values.abs().flatten().argsort().argsort().double() for values in (a, b)]
    centred = [r - r.mean() for r in ranks]
    return float((centred[0] * centred[1]).sum() / (centred[0].norm() * centred[1].norm()))


def _calls(name: str, device: torch.device) -> dict:
    if name == "minilm":
        model, pad, ids = text_model(device)
        layer = model.get_input_embeddings()

        def call(dtype):
            return lambda: igw.text_integrated_gradients(
                model, ids, target=1, baseline=pad, embedding=layer, steps=STEPS, trace=False, autocast=dtype
            )
    else:
        model, x = image_model(name, device)

        def call(dtype):
            return lambda: igw.integrated_gradients(model, x, target=1, steps=STEPS, trace=False, autocast=dtype)

    return {"float32": call(None), "bfloat16": call(torch.bfloat16)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default="cnn64,resnet18,minilm")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    native = [flag for flag in ("amx_bf16", "avx512_bf16") if flag in flags.split()]
    print(
        f"{STEPS} Gauss-Legendre steps, {args.threads} threads, device {device}; CPU bf16 instructions: "
        f"{', '.join(native) or 'none'}; median of {args.repeats} interleaved calls"
    )
    for name in args.models.split(","):
        calls = _calls(name, device)
        times = interleaved_medians(calls, args.repeats, device)
        full, low = calls["float32"](), calls["bfloat16"]()
        values = [
            (each.token_scores if hasattr(each, "token_scores") else each.attributions).float() for each in (full, low)
        ]
        distance = float((values[0] - values[1]).norm() / values[0].norm())
        print(
            f"{name:9s} float32 {times['float32'] * 1e3:7.1f} ms, bf16 {times['bfloat16'] * 1e3:7.1f} ms "
            f"= {times['bfloat16'] / times['float32']:.2f} x | relative gap {float(full.relative_gap.abs().max()):.2e}"
            f" -> {float(low.relative_gap.abs().max()):.2e} | attributions: L2 distance {distance:.3f}, "
            f"rank correlation of |a| {_rank_correlation(*values):.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
