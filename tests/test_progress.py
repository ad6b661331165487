"""progress=True: a tqdm bar in scripts and notebooks, with the same numbers as without one."""

import sys

import pytest
import torch
from torch import nn

import ig_widget as igw


def _model_and_input():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)), torch.rand(2, 6)


@pytest.mark.parametrize("steps", [16, "auto"])
def test_progress_true_draws_a_bar_and_changes_no_number(steps, capsys):
    pytest.importorskip("tqdm")
    model, x = _model_and_input()
    quiet = igw.integrated_gradients(model, x, target=1, steps=steps, batch_size=8)
    shown = igw.integrated_gradients(model, x, target=1, steps=steps, batch_size=8, progress=True)
    bar = capsys.readouterr().err
    assert "integrated gradients" in bar and "point" in bar
    torch.testing.assert_close(shown.attributions, quiet.attributions, rtol=0, atol=0)


def test_progress_true_without_tqdm_says_how_to_fix_it_before_any_work(monkeypatch):
    model, x = _model_and_input()
    calls = []
    model.register_forward_pre_hook(lambda module, inputs: calls.append(1))
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import tqdm.auto now raises ImportError
    with pytest.raises(igw.AttributionInputError, match="pip install tqdm"):
        igw.integrated_gradients(model, x, target=1, progress=True)
    assert calls == []
