"""Cross-checks against Captum, the field's reference implementation: with the same model, input,
baseline, rule and number of steps, both libraries must give the same attributions and the same
convergence delta. The closed-form tests say the maths is right; these say it is the IG people know."""

import pytest
import torch

import ig_widget as igw

captum_attr = pytest.importorskip("captum.attr")


@pytest.fixture
def digit_batch(digits):
    model, images, labels = digits
    return model, images[:4], labels[:4]


@pytest.mark.parametrize(
    "rule", ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre"]
)
@pytest.mark.parametrize("steps", [7, 32])
def test_integrated_gradients_matches_captum_for_every_rule(digit_batch, rule, steps):
    model, x, labels = digit_batch
    baseline = torch.full_like(x, 0.25)
    ours = igw.integrated_gradients(model, x, target=labels, baseline=baseline, steps=steps, rule=rule)
    theirs, delta = captum_attr.IntegratedGradients(model).attribute(
        x, baselines=baseline, target=labels, n_steps=steps, method=rule, return_convergence_delta=True
    )
    if rule == "riemann_trapezoid":
        # Captum's trapezoid weights are 1/n with the two ends halved: they sum to (n - 1)/n, not 1, so
        # its attributions are the textbook rule's (ours) times (n - 1)/n, and its delta is off by as much.
        torch.testing.assert_close(ours.attributions * (steps - 1) / steps, theirs, atol=1e-5, rtol=1e-4)
        return
    torch.testing.assert_close(ours.attributions, theirs, atol=1e-5, rtol=1e-4)
    # Captum's delta is sum(attributions) - (F(x) - F(x')), which is our gap
    torch.testing.assert_close(ours.gap, delta.to(ours.gap.dtype), atol=1e-5, rtol=1e-4)


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
def test_saliency_and_gradient_x_input_match_captum(digit_batch):
    model, x, labels = digit_batch
    torch.testing.assert_close(
        igw.saliency(model, x, target=labels).attributions,
        captum_attr.Saliency(model).attribute(x, target=labels, abs=False),
    )
    torch.testing.assert_close(
        igw.saliency(model, x, target=labels, absolute=True).attributions,
        captum_attr.Saliency(model).attribute(x, target=labels, abs=True),
    )
    torch.testing.assert_close(
        igw.gradient_x_input(model, x, target=labels).attributions,
        captum_attr.InputXGradient(model).attribute(x, target=labels),
    )
