"""`autocast=torch.bfloat16`: the path's passes in lower precision, F(x), F(x') and the sums not.

What must hold: the ends are the full-precision call's (so the gap measures what the lower precision
cost, honestly), the attributions are IG's within bf16's rounding (closed form on a linear model), the
user's model keeps its dtype, and settings that would make the numbers lie are refused before any
model call.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ig_widget as igw
from ig_widget.attribution.errors import AttributionInputError

BF16_EPS = 2.0**-8  # bfloat16 keeps 8 significant bits


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    )  # fmt: skip


@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_trapezoid"])  # the second starts at the baseline
def test_ends_are_full_precision_and_the_gap_is_what_bf16_cost(rule: str) -> None:
    model, x = _cnn(), torch.rand(2, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    full = igw.integrated_gradients(model, x, target=1, steps=24, rule=rule)
    low = igw.integrated_gradients(model, x, target=1, steps=24, rule=rule, autocast=torch.bfloat16)
    torch.testing.assert_close(low.score, full.score, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(low.baseline_score, full.baseline_score, rtol=1e-5, atol=1e-6)
    assert low.attributions.dtype == torch.float32 and low.model_output.dtype == torch.float32
    # the gap is the float32 total against the float32 ends, and it is small but not the float32 one
    torch.testing.assert_close(low.gap, low.total - (low.score - low.baseline_score))
    scale = (full.score - full.baseline_score).abs()
    assert bool((low.gap.abs() <= 8 * BF16_EPS * scale.clamp_min(1e-3) + 1e-4).all())
    assert not torch.equal(low.attributions, full.attributions)  # the passes really ran in bf16
    assert low.trace is not None and low.trace.scores.dtype == torch.bfloat16  # what was computed
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_linear_model_closed_form_within_bf16_rounding() -> None:
    torch.manual_seed(0)
    model = nn.Linear(16, 3)
    x, baseline = torch.randn(4, 16), torch.randn(4, 16)
    result = igw.integrated_gradients(model, x, target=2, baseline=baseline, steps=8, autocast=torch.bfloat16)
    expected = (x - baseline) * model.weight[2].detach()
    torch.testing.assert_close(result.attributions, expected, rtol=4 * BF16_EPS, atol=4 * BF16_EPS)


def test_text_call_takes_it() -> None:
    pytest.importorskip("transformers")
    torch.manual_seed(0)
    embedding = nn.Embedding(20, 8)
    model = nn.Sequential(embedding, nn.Flatten(), nn.Linear(8 * 5, 3))
    ids = torch.tensor([[1, 4, 7, 2, 3]])
    full = igw.text_integrated_gradients(model, ids, target=0, baseline=0, embedding=embedding, steps=8)
    low = igw.text_integrated_gradients(
        model, ids, target=0, baseline=0, embedding=embedding, steps=8, autocast=torch.bfloat16
    )
    torch.testing.assert_close(low.score, full.score)
    torch.testing.assert_close(low.token_scores, full.token_scores, rtol=0.05, atol=0.02)


class _Counted(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 2)
        self.calls = {"forward": 0}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls["forward"] += 1
        return self.linear(x)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"autocast": torch.float64}, "autocast=torch.float64"),
        ({"autocast": "bf16"}, "autocast='bf16'"),
        ({"autocast": torch.bfloat16, "steps": "auto"}, "steps='auto'"),
        ({"autocast": torch.bfloat16, "idgi": True}, "idgi=True"),
    ],
)
def test_refused_before_any_model_call(settings: dict, named: str) -> None:
    model = _Counted()
    with pytest.raises(AttributionInputError, match=named.replace("(", r"\(").replace(")", r"\)")):
        igw.integrated_gradients(model, torch.ones(1, 4), target=0, **settings)
    assert model.calls["forward"] == 0
