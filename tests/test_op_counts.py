"""Operator calls and host synchronisations of one IG call, held so they cannot grow back (issue 15).

Counts are stable where times are not: `benchmarks/op_counts.py` counts every dispatched operator
and every wait for the device (`.item()`, `bool()` of a tensor, `nonzero`, a copy to the CPU) of one
call at 50 Gauss-Legendre steps in two chunks of 25, against the bare forward+backward passes over
the same points and chunks.

Honestly: the issue's goals (at most 1.2 x the bare passes' operator calls with the trace, 1.1 x
without, on the small CNN, ResNet-18 and MiniLM) are NOT met yet. What is asserted here are the
counts measured when this test was written, as ceilings; lower them as the engine gets leaner, and
replace them by the goal once it is met. The walk itself now waits for the device once (one read of
every check at its end); the call as a whole waits three times on an image model: the finite check
of x and its baseline together (it must fail before any model call), the probe's finite check of
F(x) and F(x') (it must fail before any path point), and the walk's one read.

Measured before this work (same command): cnn64 304 ops / 10 syncs (258 / 8 without the trace),
ResNet-18 749 / 10, MiniLM 1602 / 12 (see benchmarks/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import op_counts  # noqa: E402

# name -> (ceiling with the trace, without it, host syncs of one call): the counts measured, not the goal.
CEILINGS = {
    "cnn64": (246, 201, 3),
    "resnet18": (691, 646, 3),
}


@pytest.mark.parametrize("name", sorted(CEILINGS))
def test_image_call_stays_within_its_counts(name):
    case = op_counts.image_case(name)
    bare_ops, bare_syncs = op_counts.count(case["bare"])
    ops, syncs = op_counts.count(case["ours"])
    ops_plain, syncs_plain = op_counts.count(case["ours no trace"])
    with_trace, without, most_syncs = CEILINGS[name]
    assert bare_syncs == 0
    assert ops <= with_trace, f"{name}: {ops} operator calls with the trace (bare passes: {bare_ops})"
    assert ops_plain <= without, f"{name}: {ops_plain} operator calls without the trace (bare: {bare_ops})"
    assert syncs <= most_syncs and syncs_plain <= most_syncs


def test_walk_reads_the_device_once():
    """Of the call's host synchronisations, the walk (path, finite, gradient-flow and diagnosis checks)
    adds exactly one, whatever the number of chunks: two chunks and five chunks wait as often."""
    import ig_widget as igw

    model, x = op_counts.image_model("cnn64", op_counts.torch.device("cpu"))
    counts = []
    for chunk in (25, 10):
        call = lambda chunk=chunk: igw.integrated_gradients(model, x, target=1, steps=50, batch_size=chunk)  # noqa: E731
        counts.append(op_counts.count(call)[1])
    assert counts == [3, 3]


def test_text_call_stays_within_its_counts():
    """MiniLM over its embeddings; the text entry point's token-id checks (`check_vocabulary`, two reads
    per id tensor, for the input and the baseline) add four syncs before the probe's and the walk's."""
    pytest.importorskip("transformers")
    case = op_counts.text_case()
    ops, syncs = op_counts.count(case["ours"])
    ops_plain, _ = op_counts.count(case["ours no trace"])
    assert ops <= 1547 and ops_plain <= 1502
    assert syncs <= 6
