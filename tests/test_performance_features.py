"""Speed features of the engine, checked for what they compute (never for how fast they run):
steps="auto" refines to the tolerance and never evaluates a point twice, several targets in one walk
equal separate calls, F(x') is read off the path when the rule visits alpha = 0, Fejer's rule is a
nested quadrature, and the channels-last layout falls back for models that need contiguous input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ig_widget import AttributionInputError, GradientPathError, integrated_gradients, integrated_gradients_multi
from ig_widget.attribution.quadrature import nested_counts, path_points


class PointCounter(nn.Module):
    """Counts forward calls and the path points (rows) the wrapped model sees."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.calls: list[int] = []

    def forward(self, x):
        self.calls.append(x.shape[0])
        return self.inner(x)


def smooth_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(6 * 4 * 4, 5), nn.Softplus()
    )


def sample_input(batch: int = 2) -> torch.Tensor:
    """Values up to 8: the tanh bends along the path, so coarse rules leave a visible gap."""
    return 8 * torch.rand(batch, 3, 8, 8, generator=torch.Generator().manual_seed(1))


def assert_results_equal(left, right) -> None:
    torch.testing.assert_close(left.attributions, right.attributions, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(left.score, right.score, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(left.baseline_score, right.baseline_score, rtol=1e-5, atol=1e-6)
    assert torch.equal(left.target, right.target)
    for name in ("alphas", "weights", "scores", "gradients", "cumulative"):
        torch.testing.assert_close(getattr(left.trace, name), getattr(right.trace, name), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rule", ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "fejer"])
def test_nested_rules_contain_their_previous_points(rule):
    counts = nested_counts(rule, 300)
    assert len(counts) >= 3
    for small, large in zip(counts, counts[1:]):
        coarse, fine = path_points(rule, small)[0], path_points(rule, large)[0]
        assert all(np.isclose(fine, alpha, atol=1e-12).any() for alpha in coarse)


def test_fejer_rule_integrates_polynomials_up_to_its_degree():
    for steps in (1, 7, 15):
        alphas, weights = path_points("fejer", steps)
        assert np.all(weights > 0) and np.all(np.diff(alphas) > 0) and 0 < alphas[0] and alphas[-1] < 1
        for degree in range(steps + 1):
            assert np.isclose((weights * alphas**degree).sum(), 1 / (degree + 1), atol=1e-13)


def test_auto_reaches_the_tolerance_and_evaluates_each_point_once():
    model = PointCounter(smooth_cnn())
    x = sample_input()
    result = integrated_gradients(model, x, target=2, steps="auto", tol=1e-4)
    assert result.rule == "fejer" and result.steps in nested_counts("fejer", 255)
    assert result.steps > nested_counts("fejer", 255)[0]  # this tolerance needs at least one refinement
    assert float(result.relative_gap.abs().max()) <= 1e-4
    probe_and_baseline = 2 * x.shape[0]
    jump_probe = 4 * x.shape[0]  # once the first set misses tol: two points near each end, no gradients
    assert sum(model.calls) == probe_and_baseline + jump_probe + result.steps * x.shape[0]
    assert model.calls[2] == jump_probe and result.diagnosis is None


def test_auto_equals_the_fixed_rule_it_stopped_at():
    model, x = smooth_cnn(), sample_input()
    auto = integrated_gradients(model, x, target=1, steps="auto", tol=1e-4)
    fixed = integrated_gradients(model, x, target=1, steps=auto.steps, rule=auto.rule)
    assert_results_equal(auto, fixed)


def test_auto_with_a_nested_rule_keeps_that_rule():
    model, x = smooth_cnn(), sample_input(1)
    result = integrated_gradients(model, x, target=0, steps="auto", rule="riemann_trapezoid", tol=1e-3)
    assert result.rule == "riemann_trapezoid" and result.steps in nested_counts("riemann_trapezoid", 255)
    assert float(result.relative_gap.abs().max()) <= 1e-3


def test_auto_warns_when_max_steps_stops_it_short():
    """At 7 Gauss-Legendre points this model's gap (about 7e-6) is still above both tol and what float32
    rounding of its scores can make (about 1.5e-6); at 15 it is 0, which no tol can ask more of."""
    model, x = smooth_cnn(), sample_input(1)
    with pytest.warns(UserWarning, match="max_steps=7"):
        result = integrated_gradients(model, x, target=0, steps="auto", tol=1e-7, max_steps=7)
    assert result.steps == 7 and not bool(result.gap_within_rounding[0])


@pytest.mark.parametrize("steps", [16, "auto"])
def test_several_targets_equal_separate_calls(steps):
    model, x = smooth_cnn(), sample_input()
    targets = [0, 3, [4, 1]]
    together = integrated_gradients_multi(model, x, targets=targets, steps=steps, tol=1e-3, batch_size=10)
    for target, result in zip(targets, together):
        single = integrated_gradients(model, x, target=target, steps=result.steps, rule=result.rule, batch_size=10)
        assert_results_equal(result, single)


def test_several_targets_share_one_forward_pass_per_chunk():
    single_model, multi_model = PointCounter(smooth_cnn()), PointCounter(smooth_cnn())
    x = sample_input()
    integrated_gradients(single_model, x, target=0, steps=12, batch_size=8)
    integrated_gradients_multi(multi_model, x, targets=[0, 1, 2, 3], steps=12, batch_size=8)
    assert multi_model.calls == single_model.calls


def test_top_k_explains_each_rows_best_classes_in_order():
    model, x = smooth_cnn(), sample_input()
    results = integrated_gradients_multi(model, x, top_k=3, steps=8)
    with torch.no_grad():
        expected = model(x).topk(3, dim=1).indices
    assert torch.equal(torch.stack([result.target for result in results], dim=1), expected)
    assert_results_equal(results[1], integrated_gradients(model, x, target=expected[:, 1], steps=8))


def test_baseline_score_comes_from_the_path_when_the_rule_visits_alpha_zero():
    model = PointCounter(smooth_cnn())
    x = sample_input()
    baseline = torch.full_like(x, 0.2)
    result = integrated_gradients(
        model, x, target=1, baseline=baseline, steps=9, rule="riemann_trapezoid", batch_size=6
    )
    assert sum(model.calls) == x.shape[0] + 9 * x.shape[0]  # the probe at x, then only path points
    with torch.no_grad():
        expected = model.inner(baseline)[:, 1]
    torch.testing.assert_close(result.baseline_score, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(result.trace.scores[0], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("steps", [5, "auto"])
def test_rules_without_alpha_zero_get_the_baseline_score_from_the_probes_pass(steps):
    """F(x) and F(x') come from no pass of their own: at fixed steps x and x' ride in the first chunk of
    path points; with steps="auto" one gradient-free pass over x and x' stacked fixes what to refine."""
    model = PointCounter(smooth_cnn())
    x = sample_input(2)
    result = integrated_gradients(model, x, target=1, steps=steps, batch_size=1000)
    if steps == "auto":  # one pass of 2 + 2 rows, then path points only, each once (refinements add new points)
        assert model.calls[0] == 2 * x.shape[0]
        assert sum(model.calls[1:]) == result.steps * x.shape[0]
    else:  # one pass: x, x', then every path point
        assert model.calls == [2 * x.shape[0] + result.steps * x.shape[0]]
    with torch.no_grad():
        torch.testing.assert_close(result.score, model.inner(x)[:, 1])
        torch.testing.assert_close(result.baseline_score, model.inner(torch.zeros_like(x))[:, 1])


class ReturnsScoresAndFeatures(nn.Module):
    """Returns a tuple, explained through a callable target: the probe cannot split such an output."""

    def __init__(self):
        super().__init__()
        self.inner = smooth_cnn()
        self.calls: list[int] = []

    def forward(self, x):
        self.calls.append(x.shape[0])
        return self.inner(x), x


@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_trapezoid"])
def test_a_callable_target_keeps_separate_passes_and_the_same_numbers(rule):
    model = ReturnsScoresAndFeatures()
    x = sample_input(2)
    result = integrated_gradients(model, x, target=lambda out: out[0][:, 1], steps=6, rule=rule, batch_size=1000)
    at_zero = rule == "riemann_trapezoid"  # the path's own alpha = 0 point gives F(x') there
    assert model.calls == [2] + ([] if at_zero else [2]) + [12]
    reference = integrated_gradients(model.inner, x, target=1, steps=6, rule=rule)
    torch.testing.assert_close(result.attributions, reference.attributions)
    torch.testing.assert_close(result.baseline_score, reference.baseline_score)


class FlattensWithView(nn.Module):
    """Needs contiguous input: `.view` fails on a channels-last tensor."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(3 * 4 * 4, 3)

    def forward(self, x):
        return self.linear(x.view(x.shape[0], -1))


def test_a_model_that_needs_contiguous_input_gets_it():
    model, x = FlattensWithView(), torch.rand(2, 3, 4, 4)
    result = integrated_gradients(model, x, target=2, steps=4)
    # Linear in x: IG is exactly (x - 0) * weight of the target class.
    expected = x * model.linear.weight[2].detach().view(1, 3, 4, 4)
    torch.testing.assert_close(result.attributions, expected, rtol=1e-5, atol=1e-6)


class DetachesItsInput(nn.Module):
    """An image model whose score has no gradient path to the input."""

    def forward(self, x):
        return x.detach().flatten(1)[:, :3] * 2


def test_a_model_error_is_not_taken_for_a_layout_problem():
    """Only a plain RuntimeError on the first chunk can mean 'wants contiguous input'; the library's own
    errors surface at once, without running the model again in the other layout."""
    model = PointCounter(DetachesItsInput())
    with pytest.raises(GradientPathError, match="no gradient path"):
        integrated_gradients(model, torch.rand(1, 3, 4, 4), target=0, steps=4)
    assert model.calls == [6]  # x and x' riding with the path's one chunk of 4: no second try


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (dict(steps="auto", tol=0.0), "tol"),
        (dict(steps="auto", tol=2), "tol"),
        (dict(steps="auto", max_steps=0), "max_steps"),
    ],
)
def test_bad_adaptive_arguments_are_refused_before_any_model_call(arguments, named):
    model = PointCounter(smooth_cnn())
    with pytest.raises(AttributionInputError, match=named):
        integrated_gradients(model, sample_input(1), **arguments)
    assert model.calls == []


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (dict(targets=[0], top_k=2), "top_k"),
        (dict(top_k=0), "top_k"),
        (dict(targets=[]), "targets"),
        (dict(targets=3), "targets"),
    ],
)
def test_bad_multi_target_arguments_are_refused_before_any_model_call(arguments, named):
    model = PointCounter(smooth_cnn())
    with pytest.raises(AttributionInputError, match=named):
        integrated_gradients_multi(model, sample_input(1), **arguments)
    assert model.calls == []


def test_top_k_beyond_the_model_outputs_is_refused():
    with pytest.raises(AttributionInputError, match="top_k=9"):
        integrated_gradients_multi(smooth_cnn(), sample_input(1), top_k=9)


class TinyTextClassifier(nn.Module):
    """Embedding, a bent nonlinearity and a mean over tokens: a text model in a few lines."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embedding = nn.Embedding(20, 6)
        self.head = nn.Linear(6, 3)

    def forward(self, input_ids):
        return self.head(torch.tanh(3 * self.embedding(input_ids)).mean(dim=1))


def test_text_auto_reaches_the_tolerance_and_matches_the_fixed_rule():
    from ig_widget import text_integrated_gradients

    model, ids = TinyTextClassifier(), torch.tensor([[3, 7, 11, 2, 9]])
    auto = text_integrated_gradients(model, ids, target=1, baseline="zero", steps="auto", tol=1e-4).result
    assert auto.rule == "fejer" and float(auto.relative_gap.abs().max()) <= 1e-4
    fixed = text_integrated_gradients(model, ids, target=1, baseline="zero", steps=auto.steps, rule="fejer").result
    assert_results_equal(auto, fixed)


def test_auto_for_several_targets_is_not_held_up_by_a_class_whose_score_barely_moves():
    class WithAWigglingClass(nn.Module):
        """Class 1 oscillates fast but with amplitude 1e-4: its own relative gap converges slowly."""

        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.linear = nn.Linear(3 * 8 * 8, 1)

        def forward(self, x):
            flat = x.flatten(1)
            wiggle = 1e-4 * torch.sin(40 * flat.mean(dim=1, keepdim=True))
            return torch.cat([torch.tanh(self.linear(flat)), wiggle], dim=1)

    model, x = WithAWigglingClass(), sample_input(1)
    with pytest.warns(UserWarning, match="max_steps"):
        alone = integrated_gradients(model, x, target=1, steps="auto", tol=1e-2, max_steps=31)
    assert alone.steps == 31
    together = integrated_gradients_multi(model, x, targets=[0, 1], steps="auto", tol=1e-2, max_steps=31)
    assert together[0].steps < 31
    assert float(together[0].relative_gap.abs().max()) <= 1e-2
