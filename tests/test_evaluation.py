"""Checks that an explanation means something: sanity check, deletion/insertion, input invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ig_widget as igw
from ig_widget.evaluation import similarity


def edge_detector(model, x, target=None):
    """A 'method' that ignores the model: the Laplacian of the input."""
    kernel = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3).repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(x, kernel.to(x.dtype), padding=1, groups=x.shape[1])


def test_spearman_equals_scipys_with_ties():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, size=64).astype(float)  # many ties
    b = a + rng.normal(size=64)
    assert similarity.spearman(torch.tensor(a), torch.tensor(b)) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)


def test_ssim_equals_scikit_images_default():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(1)
    a = rng.random((8, 8))
    b = np.clip(a + 0.3 * rng.random((8, 8)), 0, 1)
    ours = similarity.ssim(torch.tensor(a), torch.tensor(b))
    assert ours == pytest.approx(structural_similarity(a, b, data_range=1.0), abs=1e-12)


@pytest.mark.slow
def test_sanity_check_passes_for_ig_and_fails_for_an_edge_detector(digits):
    model, images, _ = digits
    x = images[:4]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ig = igw.sanity_check(model, x, method="integrated_gradients", method_options={"steps": 16})
    edges = igw.sanity_check(model, x, method=edge_detector)
    assert ig.layers == ("classifier", "features.2", "features.0")  # output layer first
    assert ig.passed.all() and ig.ssim[-1].max() < 0.5
    assert not edges.passed.any()
    torch.testing.assert_close(edges.spearman, torch.ones_like(edges.spearman))
    torch.testing.assert_close(edges.ssim, torch.ones_like(edges.ssim))
    assert ig.maps.shape == (4, 4, 8, 8)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # a copy was randomized


def test_saliency_maps_change_under_randomization(digits):
    model, images, _ = digits
    check = igw.sanity_check(model, images[:3], method="saliency")
    assert check.passed.all() and check.spearman[-1].abs().max() < 0.5


def test_deletion_and_insertion_rank_ig_above_a_random_map(digits):
    model, images, _ = digits
    x = images[:8]
    ig = igw.integrated_gradients(model, x, steps=32)
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(0))
    ours = igw.deletion_insertion(model, x, ig, steps=16)
    random = igw.deletion_insertion(model, x, noise, steps=16)
    assert ours.deletion_area.mean() < 0.5 * random.deletion_area.mean()
    assert ours.insertion_area.mean() > random.insertion_area.mean()
    assert ours.fractions[0] == 0 and ours.fractions[-1] == 1
    # the curves start at x (deletion) and at the blurred start (insertion), and end at the other
    probabilities = torch.softmax(model(x), dim=1).gather(1, ours.target[:, None])[:, 0].double()
    torch.testing.assert_close(ours.deletion[0], probabilities.detach(), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(ours.insertion[-1], probabilities.detach(), atol=1e-6, rtol=1e-5)


def test_deletion_curve_and_area_equal_quantus_pixel_flipping(digits):
    """Quantus's PixelFlipping is our deletion curve without its first point (x itself), its AUC the
    trapezoid with dx = 1 over those points; the same ordering (descending attribution) and replacement
    (0.0) give the same curve."""
    quantus = pytest.importorskip("quantus")
    model, images, _ = digits
    x = images[:4]
    attributions = torch.randn(x.shape, generator=torch.Generator().manual_seed(2))  # no ties
    ours = igw.deletion_insertion(model, x, attributions, steps=16, deletion_baseline="black")
    metric = quantus.PixelFlipping(features_in_step=4, perturb_baseline=0.0, normalise=False, disable_warnings=True)
    model.eval()
    curves = metric(
        model=model,
        x_batch=x.numpy(),
        y_batch=ours.target.numpy(),
        a_batch=attributions.numpy(),
        channel_first=True,
        softmax=True,
        device="cpu",
    )
    np.testing.assert_allclose(np.asarray(curves).T, ours.deletion[1:].numpy(), atol=1e-6)
    theirs_auc = np.trapezoid(np.asarray(curves), dx=1, axis=1)
    ours_auc = torch.trapezoid(ours.deletion[1:], dx=1.0, dim=0).numpy()
    np.testing.assert_allclose(ours_auc, theirs_auc, atol=1e-5)


def test_input_invariance_follows_kindermans(digits):
    model, images, _ = digits
    x = images[:4]
    black = igw.input_invariance(model, x, method="integrated_gradients", shift=-1.0)
    blur = igw.input_invariance(
        model, x, method="integrated_gradients", method_options={"baseline": "blur"}, shift=-1.0
    )
    assert not black.invariant.any()  # a fixed black baseline does not move with the input
    assert blur.invariant.all()  # a blurred copy does
    assert igw.input_invariance(model, x, method="saliency", shift=-1.0).invariant.all()
    assert not igw.input_invariance(model, x, method="gradient_x_input", shift=-1.0).invariant.any()


def test_checks_refuse_bad_input_before_any_work(digits):
    model, images, _ = digits
    with pytest.raises(igw.AttributionInputError, match="shaped like x"):
        igw.deletion_insertion(model, images[:2], torch.zeros(2, 8, 8))
    with pytest.raises(igw.AttributionInputError, match="NaN or inf"):  # it ranked NaN silently, at random
        igw.deletion_insertion(model, images[:2], torch.full_like(images[:2], float("nan")))
    with pytest.raises(igw.AttributionInputError, match="needs an nn.Module"):
        igw.sanity_check(lambda t: model(t), images[:1])
    with pytest.raises(igw.AttributionInputError, match="method='nope' is unknown"):
        igw.sanity_check(model, images[:1], method="nope")


@pytest.mark.slow
def test_compare_methods_and_its_figure(digits):
    import matplotlib

    matplotlib.use("Agg")
    from ig_widget import plot
    from ig_widget.evaluation import compare_methods

    model, images, _ = digits
    compared = compare_methods(model, images[:1], steps=8, baselines=("black", "blur"), sanity=False)
    names = [method.name for method in compared]
    assert names == ["saliency", "gradient × input", "IG (black)", "IG (blur)", "SmoothGrad", "Blur IG", "Guided IG"]
    for method in compared:
        assert method.attributions.shape == images[0].shape
        assert (method.gap is None) == (method.name in ("saliency", "gradient × input", "SmoothGrad"))
        assert 0 <= method.deletion_area <= 1 and 0 <= method.insertion_area <= 1
    fig, axes = plot.method_comparison(compared, image=images[0])
    assert len(axes) == len(compared) + 1
    assert axes[3].get_xlabel().startswith("gap ") and "deletion" in axes[3].get_xlabel()
    assert axes[1].get_xlabel().startswith("gap —")
    matplotlib.pyplot.close(fig)


@pytest.mark.parametrize(
    ("target", "message", "passes"),
    [
        (-1, r"target=-1 is negative; class indices start at 0", 0),
        (2.5, r"target=2.5 is not a class index; give an int, one int per row, or None", 0),
        ([1, 2], r"target=\[1, 2\] has 2 entries for a batch of 1; give one int, or one per row", 0),
        ("cat", r"target='cat' is a label", 0),
        (lambda scores: scores[:, 0], r"needs class targets \(an int or one per row\), not a callable", 0),
        (10, r"target=10 is out of range: the model has 10 outputs \(0 to 9\)", 1),  # needs the first pass
        (torch.tensor([10]), r"is out of range: the model has 10 outputs", 1),
    ],
)
def test_deletion_insertion_refuses_a_bad_target_before_the_perturbed_inputs_run(count_calls, target, message, passes):
    """Each of these failed inside torch (an index out of bounds, a gather of floats, a shape mismatch)
    after the perturbed batches were built; now before any pass, or right after the first one where the
    number of outputs is needed."""
    torch.manual_seed(0)
    model = count_calls(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 3, 10)).eval())
    x = torch.rand(1, 1, 2, 3)
    with pytest.raises(igw.AttributionInputError, match=message):
        igw.deletion_insertion(model, x, torch.rand_like(x), target=target, steps=4)
    assert model.forwards == passes
    assert igw.deletion_insertion(model, x, torch.rand_like(x), target=[9], steps=4).target.tolist() == [9]
