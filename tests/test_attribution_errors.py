"""Bad arguments get a clear error before the work starts (see CallCounter in conftest)."""

import pytest
import torch
from torch import nn

import ig_widget as igw
from ig_widget import AttributionInputError


def _expect(match, call, model, *, forwards=0):
    with pytest.raises(AttributionInputError, match=match):
        call()
    assert model.forwards <= forwards, "the error came after the model had been run"
    assert model.backwards == 0


def test_target_out_of_range_is_caught_on_the_probe_before_any_path_point(counted_mlp):
    x = torch.randn(2, 6)
    _expect(
        r"target=9 is out of range: the model has 4 outputs",
        lambda: igw.integrated_gradients(counted_mlp, x, target=9),
        counted_mlp,
        forwards=1,
    )


def test_target_per_row_must_match_the_batch(counted_mlp):
    _expect(
        r"target has 3 entries for a batch of 2",
        lambda: igw.integrated_gradients(counted_mlp, torch.randn(2, 6), target=[0, 1, 2]),
        counted_mlp,
        forwards=1,
    )


@pytest.mark.parametrize("target, match", [(-1, "negative"), (1.5, "not a class index")])
def test_malformed_targets(counted_mlp, target, match):
    _expect(match, lambda: igw.integrated_gradients(counted_mlp, torch.randn(2, 6), target=target), counted_mlp)


def test_baseline_of_the_wrong_shape(counted_mlp):
    _expect(
        r"baseline has shape \(2, 5\).*\(2, 6\)",
        lambda: igw.integrated_gradients(counted_mlp, torch.randn(2, 6), baseline=torch.zeros(2, 5)),
        counted_mlp,
    )


@pytest.mark.parametrize("steps", [0, -3])
def test_steps_below_one(counted_mlp, steps):
    _expect(
        rf"steps={steps} is too small",
        lambda: igw.integrated_gradients(counted_mlp, torch.randn(1, 6), steps=steps),
        counted_mlp,
    )


def test_trapezoid_needs_two_points(counted_mlp):
    _expect(
        "riemann_trapezoid needs steps >= 2",
        lambda: igw.integrated_gradients(counted_mlp, torch.randn(1, 6), steps=1, rule="riemann_trapezoid"),
        counted_mlp,
    )


def test_unknown_rule_lists_the_rules(counted_mlp):
    _expect(
        "rule='simpson' is not a quadrature rule; use one of riemann_left",
        lambda: igw.integrated_gradients(counted_mlp, torch.randn(1, 6), rule="simpson"),
        counted_mlp,
    )


def test_unknown_baseline_name_lists_the_names(counted_mlp):
    _expect(
        "baseline='white' is not a baseline name; use one of black",
        lambda: igw.integrated_gradients(counted_mlp, torch.randn(1, 6), baseline="white"),
        counted_mlp,
    )


def test_input_without_batch_dimension(counted_mlp, digits, count_calls):
    _expect(
        r"needs a batch dimension first, e.g. x.unsqueeze\(0\)",
        lambda: igw.integrated_gradients(counted_mlp, torch.randn(6)),
        counted_mlp,
    )
    cnn = count_calls(digits[0])
    _expect(
        r"first layer takes 4-d batches; add the batch dimension: x.unsqueeze\(0\)",
        lambda: igw.integrated_gradients(cnn, torch.rand(1, 8, 8)),
        cnn,
    )


def test_model_output_of_the_wrong_rank(count_calls):
    model = count_calls(nn.Sequential(nn.Linear(6, 10), nn.Unflatten(1, (2, 5))))
    _expect(
        r"model output has shape \(3, 2, 5\); it needs \[batch=3, outputs\]",
        lambda: igw.integrated_gradients(model, torch.randn(3, 6)),
        model,
        forwards=1,
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_input(counted_mlp, bad):
    x = torch.randn(2, 6)
    x[1, 3] = bad
    _expect("x contains NaN or inf", lambda: igw.integrated_gradients(counted_mlp, x), counted_mlp)


def test_integer_input_points_to_the_text_api(counted_mlp):
    _expect(
        "dtype torch.int64; gradient methods need a floating-point input.*token ids",
        lambda: igw.saliency(counted_mlp, torch.ones(2, 6, dtype=torch.long)),
        counted_mlp,
    )


def test_errors_name_the_fix_for_every_public_method(counted_mlp):
    x = torch.randn(2, 6)
    calls = [
        lambda: igw.saliency(counted_mlp, x, output="softmax"),
        lambda: igw.gradient_x_input(counted_mlp, x, output="softmax"),
        lambda: igw.interior_gradients(counted_mlp, x, output="softmax"),
        lambda: igw.smoothgrad(counted_mlp, x, output="softmax"),
        lambda: igw.expected_gradients(counted_mlp, x, data=torch.randn(5, 6), output="softmax"),
    ]
    for call in calls:
        _expect("output='softmax' is unknown; use one of logit, probability, log_probability", call, counted_mlp)
