"""What an IG walk hands back besides the attributions: the model's output at x from the walk's own
pass (`AttributionResult.model_output`, so a caller needs no forward pass of its own for
probabilities or the top k), and where the path's own scores are checked for NaN and inf."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import ig_widget as igw
from ig_widget.attribution.errors import NonFiniteError


def _mlp(outputs: int = 5) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, outputs))


CALLS = {
    "fixed steps (x rides in the first chunk)": dict(target=2, steps=16),
    "top class": dict(steps=16),
    "top_k in one walk": dict(top_k=3, steps=16, multi=True),
    "steps='auto' (probed first)": dict(target=2, steps="auto"),
    "idgi (probed first)": dict(target=2, steps=16, idgi=True),
    "one point per chunk": dict(target=2, steps=16, batch_size=1),
}


@pytest.mark.parametrize("call", CALLS)
def test_model_output_is_the_models_output_at_the_input(call: str) -> None:
    model, x = _mlp(), torch.randn(3, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(x)
    settings = dict(CALLS[call])
    call_multi = settings.pop("multi", False)
    results = (igw.integrated_gradients_multi if call_multi else igw.integrated_gradients)(model, x, **settings)
    for result in results if isinstance(results, list) else [results]:
        assert result.model_output is not None and not result.model_output.requires_grad
        torch.testing.assert_close(result.model_output, expected, rtol=1e-5, atol=1e-6)
        # the score explained is read from that same output
        rows = torch.arange(len(x))
        torch.testing.assert_close(result.score, result.model_output[rows, result.target], rtol=0, atol=0)


def test_a_large_output_is_copied_not_kept_with_its_chunk() -> None:
    """A language model's logits per chunk are large: the rows at x are copied, so the result does not
    keep every path point's output alive; a classifier's small output is kept as a view."""
    torch.manual_seed(0)
    big = nn.Sequential(nn.Linear(6, 8), nn.Linear(8, 40_000))  # 16 points x 40k logits: 2.5 MB per chunk
    x = torch.randn(1, 6)
    result = igw.integrated_gradients(big, x, target=7, steps=16)
    assert result.model_output.shape == (1, 40_000)
    assert result.model_output.untyped_storage().nbytes() == result.model_output.nbytes
    small = igw.integrated_gradients(_mlp(), x, target=1, steps=16)
    assert small.model_output.untyped_storage().nbytes() > small.model_output.nbytes  # the chunk's, not a copy


class _NaNScoreMidPath(nn.Module):
    """A linear score plus NaN (carrying no gradient) for points whose mean lies in (0.3, 0.6): the
    gradients stay finite along the whole path; only the path's own scores are NaN there."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor([[1.0, -2.0, 3.0], [0.5, 0.5, 0.5]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True).detach()
        poison = torch.where((mean > 0.3) & (mean < 0.6), torch.nan, 0.0)
        return x @ self.weight.T + poison


def test_nan_path_scores_fail_where_the_trace_would_show_them() -> None:
    model, x = _NaNScoreMidPath(), torch.ones(1, 3)
    with pytest.raises(NonFiniteError, match="on the path"):
        igw.integrated_gradients(model, x, target=0, steps=16)  # the trace would plot NaN scores
    # Without a trace no number of the result depends on them: the closed form (x - x') * w, gap 0.
    result = igw.integrated_gradients(model, x, target=0, steps=16, trace=False)
    torch.testing.assert_close(result.attributions, torch.tensor([[1.0, -2.0, 3.0]]))
    assert abs(float(result.gap)) < 1e-5


class _NaNGradientMidPath(nn.Module):
    """A conv net whose output is multiplied by NaN for points whose mean lies in (0.02, 0.2): NaN
    scores and gradients inside Blur IG's path only (its start and the input are outside the band)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spread = x.flatten(1).std(dim=1, keepdim=True)  # the blur shrinks it along the path
        scale = torch.where((spread > 0.05) & (spread < 0.25), torch.nan, 1.0)
        return self.conv(x).flatten(2).mean(dim=2) * scale


@pytest.mark.parametrize("trace", [True, False])
def test_a_curved_path_with_nan_inside_is_refused(trace: bool) -> None:
    """Blur IG checks what it keeps at the end (no per-chunk flags): NaN inside the path still stops it."""
    x = (torch.arange(64.0).view(1, 1, 8, 8) % 2) * torch.linspace(0, 1, 8)  # a sharp pattern, spread ~0.3
    model = _NaNGradientMidPath()
    assert not torch.isnan(model(x)).any()
    with pytest.raises(NonFiniteError, match="on the path"):
        igw.blur_integrated_gradients(model, x, target=0, steps=16, trace=trace)
