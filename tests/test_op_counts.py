"""Operator calls and host synchronisations of one IG call, held so they cannot grow back (issue 15).

Counts are stable where times are not: `benchmarks/op_counts.py` counts every dispatched operator, the
ones that launch work on the device (all but pure views), and every wait for the device (`.item()`,
`bool()` of a tensor, `nonzero`, a copy to the CPU) of one call at 50 Gauss-Legendre steps in two chunks
of 25, against the bare forward+backward passes over the same points and chunks.

The issue's goals are at most 1.2 x the bare passes' operator calls with the trace and 1.1 x without,
on the small CNN, ResNet-18 and MiniLM, and one host synchronisation per walk. Where a goal is met it is
asserted as the goal; where it is not, the count measured when this test was written is the ceiling
(lower it as the engine gets leaner). Met: ResNet-18 and MiniLM, with and without the trace. Not met:
the small CNN (2.0 x with the trace, 1.7 x without: three conv layers, 75 operator calls for both
passes, so the walk's own work per call, about 55 calls of which 18 are the CPU's channels-last copies
and the model's extra work in that layout, weighs as much as the model's). The walk waits for the
device once; an image call waits twice in all, the first being the finite check of x and its
baseline, which must refuse bad input before any model call; a text call twice more, for the token-id
ranges, and once for its token strings. With steps="auto" the walk waits once per refinement round.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import op_counts  # noqa: E402

GOAL_WITH_TRACE, GOAL_WITHOUT = 1.2, 1.1
# name -> (ceiling with the trace, without it) in operator calls where the goal is not met yet, else None
CEILINGS = {
    "cnn64": (149, 129),
    "resnet18": (None, None),
}


def _check(name: str, counts: dict, ceilings: tuple[int | None, int | None]) -> None:
    bare = counts["bare"]
    assert bare.syncs == 0
    for label, goal, ceiling in (("ours", GOAL_WITH_TRACE, ceilings[0]), ("ours no trace", GOAL_WITHOUT, ceilings[1])):
        ours = counts[label]
        limit = goal * bare.ops if ceiling is None else ceiling
        assert ours.ops <= limit, f"{name} {label}: {ours.ops} operator calls (bare passes: {bare.ops})"
        assert ours.launches <= ours.ops


@pytest.mark.parametrize("name", sorted(CEILINGS))
def test_image_call_stays_within_its_counts(name):
    case = op_counts.image_case(name)
    counts = {label: op_counts.count(fn) for label, fn in case.items()}
    _check(name, counts, CEILINGS[name])
    assert counts["ours"].syncs <= 2 and counts["ours no trace"].syncs <= 2


def test_walk_reads_the_device_once():
    """Of the call's host synchronisations, the walk (F(x) and F(x') riding in its first chunk, the path,
    finite, gradient-flow and diagnosis checks) adds exactly one, whatever the number of chunks: two
    chunks and five chunks wait as often, once more than the input check alone."""
    import ig_widget as igw

    model, x = op_counts.image_model("cnn64", op_counts.torch.device("cpu"))
    counts = []
    for chunk in (25, 10):
        call = lambda chunk=chunk: igw.integrated_gradients(model, x, target=1, steps=50, batch_size=chunk)  # noqa: E731
        counts.append(op_counts.count(call).syncs)
    assert counts == [2, 2]


def test_text_call_meets_the_goals():
    """MiniLM over its embeddings: within the goals with and without the trace; the token-id range check
    (`check_vocabulary`, one read per id tensor, for the input and the baseline) adds two syncs, and the
    token strings of the result one more (the ids read on the host)."""
    pytest.importorskip("transformers")
    case = op_counts.text_case()
    counts = {label: op_counts.count(fn) for label, fn in case.items()}
    _check("minilm", counts, (None, None))
    assert counts["ours"].syncs <= 4


def test_auto_steps_read_the_device_once_per_round():
    """steps="auto": the x/baseline check and the probe (2), then one read per refinement round (its gaps
    with its finite flags), one for the end-point jump test after a first round that misses, and the
    walk's final checks."""
    import ig_widget as igw

    model, x = op_counts.image_model("cnn64", op_counts.torch.device("cpu"))
    result = igw.integrated_gradients(model, x, target=1, steps="auto")
    rounds = {7: 1, 15: 2, 31: 3, 63: 4}[result.steps]
    syncs = op_counts.count(lambda: igw.integrated_gradients(model, x, target=1, steps="auto")).syncs
    assert syncs <= 2 + rounds + 1 + 1
