"""Figure 5 in a fresh process: peak memory of a 224 x 224 ResNet-18 IG at 128 steps with the
automatic batch size, and the largest batch it chose (read from the progress callback).

Run by run_all.py as `python benchmarks/memory_probe.py DEVICE`; prints one JSON line.
"""

from __future__ import annotations

import json
import sys

import torch
from models import image_model

from ig_widget import integrated_gradients
from ig_widget.attribution.batching import CPU_BUDGET_BYTES


def resident_bytes(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def main(device_name: str) -> None:
    device = torch.device(device_name)
    torch.set_num_threads(torch.get_num_threads())
    model, x = image_model("resnet18", device)
    done = [0]
    batches = []

    def progress(stop: int, total: int) -> None:
        batches.append(stop - done[0])
        done[0] = stop

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        free, _ = torch.cuda.mem_get_info(device)
        integrated_gradients(model, x, steps=128, progress=progress)
        peak = torch.cuda.max_memory_allocated(device) - before
        budget = free // 2
    else:
        with torch.no_grad():
            model(x)  # allocator and thread pools warmed, so the baseline RSS holds them
        before = resident_bytes("VmRSS")
        integrated_gradients(model, x, steps=128, progress=progress)
        peak = resident_bytes("VmHWM") - before
        budget = CPU_BUDGET_BYTES
    print(
        json.dumps({"peak_bytes": peak, "largest_batch": max(batches), "budget_bytes": budget, "chunks": len(batches)})
    )


if __name__ == "__main__":
    main(sys.argv[1])
