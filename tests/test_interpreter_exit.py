"""A script that makes a view and ends while the view still computes exits cleanly.

The views compute in daemon threads; an interpreter that exits while one is inside torch used to abort
("terminate called without an active exception", exit status 134). `widgets/background.py` stops the
computations at exit and waits for them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

SCRIPT = textwrap.dedent(
    """
    import sys

    import torch
    from torch import nn
    import ig_widget as igw

    sys.path.insert(0, {benchmarks!r})
    from models import ResNet18  # the benchmarks' plain-torch ResNet-18: its passes run inside torch

    torch.manual_seed(0)
    model = ResNet18(classes=4).eval()
    view = igw.{view}(model, torch.rand(3, 224, 224){extra})
    print("leaving while", view.status)
    """
)


@pytest.mark.parametrize(
    ("view", "extra"), [("ImageExplainer", ", preview=None"), ("MethodComparison", "")], ids=["image", "comparison"]
)
def test_exit_while_computing_is_clean(view: str, extra: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(view=view, extra=extra, benchmarks=str(BENCHMARKS))],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "leaving while computing" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
