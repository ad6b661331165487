"""Blur IG, Guided IG and IDGI: closed forms, exact completeness, and PAIR saliency as the reference."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import ig_widget as igw
from ig_widget.attribution.paths.blur import blurred, gaussian_kernels

PATH_METHODS = {
    "straight": lambda model, x, **kw: igw.integrated_gradients(model, x, **kw),
    "blur": lambda model, x, **kw: igw.blur_integrated_gradients(model, x, max_sigma=3.0, **kw),
    "guided": lambda model, x, **kw: igw.guided_integrated_gradients(model, x, **kw),
}


@pytest.fixture
def linear():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 6 * 5, 4))
    x = torch.rand(3, 2, 6, 5, dtype=torch.float64)
    return model.double(), x, model[1].weight[2].detach().view(2, 6, 5)


@pytest.mark.parametrize("name", PATH_METHODS)
def test_every_path_method_gives_difference_times_weight_on_a_linear_model(linear, name):
    model, x, w = linear
    res = PATH_METHODS[name](model, x, target=2, steps=64)
    start = res.baseline  # the path's start: black, or the input blurred at max_sigma
    torch.testing.assert_close(res.attributions, (x - start) * w, atol=1e-7, rtol=1e-6)
    assert res.relative_gap.abs().max() < 1e-6


@pytest.mark.parametrize("name", PATH_METHODS)
def test_idgi_on_a_linear_model_is_the_squared_weight_share_of_the_score_change(linear, name):
    # IDGI's term at every point is g^2 / |g|^2 * dF; a linear model's g is w everywhere.
    model, x, w = linear
    res = PATH_METHODS[name](model, x, target=2, steps=5, idgi=True)
    change = (res.score - res.baseline_score).view(-1, 1, 1, 1)
    torch.testing.assert_close(res.attributions, w**2 / (w**2).sum() * change)


@pytest.mark.parametrize("name", PATH_METHODS)
@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_left", "riemann_middle"])
def test_idgi_adds_up_exactly_at_any_step_count_on_a_cnn(digits, name, rule):
    model, images, _ = digits
    x = images[:3]
    kwargs = {} if name == "guided" else {"rule": rule}
    res = PATH_METHODS[name](model, x, steps=4, idgi=True, **kwargs)
    assert res.relative_gap.abs().max() < 1e-5
    assert res.trace.cumulative[-1].flatten(1).sum(dim=1).sub(res.total).abs().max() < 1e-5


@pytest.mark.parametrize("name", ["straight", "blur"])
def test_idgi_chunks_that_split_a_step_give_the_same_attributions(digits, name):
    # 3 rows per step in chunks of 2 points: a row's next point sits in another chunk.
    model, images, _ = digits
    x = images[:3]
    whole = PATH_METHODS[name](model, x, steps=7, idgi=True)
    split = PATH_METHODS[name](model, x, steps=7, idgi=True, batch_size=2)
    torch.testing.assert_close(split.attributions, whole.attributions, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(split.trace.cumulative, whole.trace.cumulative, atol=1e-6, rtol=1e-5)


def test_idgi_equals_the_papers_formula_on_the_left_riemann_path(digits):
    # Yang et al.'s reference (github.com/yangruo1226/IDGI, `IDGI(Gradients, Predictions)`), on the
    # points 0, 1/n, ..., 1 of the straight path from black: sum_j g_j^2 / |g_j|^2 * (F_{j+1} - F_j).
    model, images, _ = digits
    x, target, steps = images[:1].double(), 4, 10
    model = copy.deepcopy(model).double()  # the session fixture stays float32
    alphas = torch.arange(steps + 1, dtype=torch.float64) / steps
    points = (alphas.view(-1, 1, 1, 1) * x).requires_grad_(True)
    scores = model(points)[:, target]
    gradients = torch.autograd.grad(scores.sum(), points)[0]
    expected = torch.zeros_like(x[0])
    for j in range(steps):
        squared = gradients[j] ** 2
        expected += squared * (scores[j + 1] - scores[j]).detach() / squared.sum()
    res = igw.integrated_gradients(model, x, target=target, steps=steps, rule="riemann_left", idgi=True)
    torch.testing.assert_close(res.attributions[0], expected, atol=1e-12, rtol=1e-10)


def test_blur_path_completeness_holds_up_to_the_quadrature(digits):
    model, images, _ = digits
    x = images[:4]
    gaps = [igw.blur_integrated_gradients(model, x, steps=s, max_sigma=4.0).relative_gap.abs().max() for s in (4, 32)]
    assert gaps[1] < 0.02 and gaps[1] < gaps[0]


def test_blur_matches_scipy_gaussian_filter_untruncated():
    from scipy import ndimage

    rng = np.random.default_rng(0)
    image = rng.random((9, 11, 3))
    ours = blurred(torch.from_numpy(image).permute(2, 0, 1)[None], torch.tensor([2.0], dtype=torch.float64))[0]
    reference = ndimage.gaussian_filter(image, sigma=[2.0, 2.0, 0], mode="constant", truncate=30.0)
    np.testing.assert_allclose(ours[0].permute(1, 2, 0).numpy(), reference, atol=1e-12)


def test_blur_path_is_the_same_in_chunks_of_whole_steps_and_in_chunks_that_split_them(digits):
    """Whole-step chunks blur each step's images with shared matrices into buffers reused from chunk to
    chunk; chunks that split a step blur each point with its own. Both are each point blurred alone, and
    the trace's points (made again after the walk) are the input blurred at each alpha's sigma."""
    model, images, _ = digits
    x = images[:3].double()
    model = copy.deepcopy(model).double()
    whole = igw.blur_integrated_gradients(model, x, target=2, steps=5, max_sigma=4.0, batch_size=6)
    split = igw.blur_integrated_gradients(model, x, target=2, steps=5, max_sigma=4.0, batch_size=4)
    torch.testing.assert_close(split.attributions, whole.attributions, atol=1e-12, rtol=1e-10)
    assert whole.attributions.abs().max() > 0
    sigmas = 4.0 * (1 - whole.trace.alphas)
    for step, sigma in enumerate(sigmas):
        alone = blurred(x, sigma.expand(len(x)).contiguous(), bound=4.0)[0]  # the path's reach: max_sigma
        torch.testing.assert_close(whole.trace.points[step], alone, atol=1e-12, rtol=0)
    torch.testing.assert_close(whole.baseline, blurred(x, torch.full((3,), 4.0, dtype=x.dtype))[0], atol=1e-12, rtol=0)


def test_blur_kernels_hold_no_subnormal_numbers():
    """Narrow kernels' far tails underflow into subnormals, which a CPU multiplies tens of times slower
    (they made Blur IG's products 2.8x slower): they are zero instead."""
    for dtype in (torch.float32, torch.float64):
        sigmas = torch.linspace(0.0, 16.0, 33, dtype=dtype)
        for taps in gaussian_kernels(sigmas, 64):
            small = taps[taps != 0].abs()
            assert small.min() >= torch.finfo(dtype).tiny
        kernel = gaussian_kernels(torch.tensor([1.0], dtype=dtype), 64)[0]
        assert kernel[0, 63 - 12 : 63 + 13].sum() == pytest.approx(1.0, abs=1e-6)  # the bell itself is kept


def test_guided_ig_waits_for_the_device_a_few_times_per_call_not_per_move(digits):
    """The feature moves run on the host: one gradient read per step (`op_counts` counts it on the CPU
    too, as the copy it is on a GPU), no `float()` or `bool()` of a tensor per move. Before, 6 reads per
    step (170 at 32 steps on the small CNN); now one per step and a few per call."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from op_counts import count

    model, images, _ = digits
    for steps in (8, 32):
        syncs = count(lambda steps=steps: igw.guided_integrated_gradients(model, images[:1], target=3, steps=steps))[1]
        assert syncs <= steps + 7, (steps, syncs)


def test_blur_ig_reads_nothing_from_the_device_per_chunk(digits):
    """The kernels' reach comes from max_sigma (known on the host), not from a read of each chunk's sigmas:
    before, one wait per chunk (19 on 8 images of 3 x 64 x 64 at 32 steps); now the engine's own few."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from op_counts import count

    model, images, _ = digits
    for batch_size in (4, 64):
        syncs = count(  # (operator calls, host syncs, ...)
            lambda b=batch_size: igw.blur_integrated_gradients(
                model, images[:4], target=3, steps=16, max_sigma=4.0, batch_size=b
            )
        )[1]
        assert syncs <= 3, (batch_size, syncs)


def _pair_call_model(model, target):
    import saliency.core as saliency

    def call(x_batch, call_model_args=None, expected_keys=None):
        points = torch.tensor(np.asarray(x_batch), dtype=torch.float64).permute(0, 3, 1, 2).requires_grad_(True)
        score = model(points)[:, target]
        gradient = torch.autograd.grad(score.sum(), points)[0]
        return {saliency.INPUT_OUTPUT_GRADIENTS: gradient.permute(0, 2, 3, 1).numpy()}

    return call


def test_blur_ig_agrees_with_pair_saliency(digits):
    """PAIR's BlurIG sums over sigma_i = i * max_sigma / steps, i = 0..steps-1, i.e. our riemann_right
    alphas. Two deliberate differences: PAIR's d(blur)/d(sigma) is a finite difference of 0.01 and its
    blur is truncated at 4 sigma (the path jumps where the truncation grows); ours is exact and untruncated."""
    saliency = pytest.importorskip("saliency.core")
    model, images, _ = digits
    model = copy.deepcopy(model).double()  # the session fixture stays float32
    x, target = images[:1].double(), 3
    ours = igw.blur_integrated_gradients(model, x, target=target, max_sigma=4.0, steps=64, rule="riemann_right")
    theirs = saliency.BlurIG().GetMask(
        x[0].permute(1, 2, 0).numpy(), _pair_call_model(model, target), max_sigma=4.0, steps=64, batch_size=1
    )
    ours_map = ours.attributions[0].permute(1, 2, 0).numpy()
    scale = np.abs(theirs).max()
    # measured: 0.3% of the largest |attribution| per pixel, 0.12% on the sum, at 32, 64 and 128 steps
    assert np.abs(ours_map - theirs).max() < 0.01 * scale
    assert abs(ours_map.sum() - theirs.sum()) < 0.005 * np.abs(theirs).sum()


def test_guided_ig_agrees_with_pair_saliency_to_float_precision(digits, monkeypatch):
    saliency = pytest.importorskip("saliency.core")
    # PAIR calls np.quantile(..., interpolation='lower'); numpy 2 renamed the keyword to `method`.
    quantile = np.quantile
    monkeypatch.setattr(
        np, "quantile", lambda a, q, interpolation=None, **kw: quantile(a, q, method=interpolation, **kw)
    )
    model, images, _ = digits
    model = copy.deepcopy(model).double()  # the session fixture stays float32
    x, target = images[1:2].double(), int(model(images[1:2].double()).argmax())
    ours = igw.guided_integrated_gradients(model, x, target=target, steps=24, fraction=0.25, max_dist=0.02)
    theirs = saliency.GuidedIG().GetMask(
        x[0].permute(1, 2, 0).numpy(), _pair_call_model(model, target), x_steps=24, fraction=0.25, max_dist=0.02
    )
    np.testing.assert_allclose(ours.attributions[0].permute(1, 2, 0).numpy(), theirs, atol=1e-9 * np.abs(theirs).max())


@pytest.mark.parametrize("name", ["blur", "guided"])
def test_curved_paths_carry_their_points_in_the_trace(digits, name):
    model, images, _ = digits
    x = images[:2]
    res = PATH_METHODS[name](model, x, steps=8)
    trace = res.trace
    assert trace.points.shape == (8, 2, *x.shape[1:])
    torch.testing.assert_close(trace.cumulative[-1], res.attributions.sum(dim=1), atol=1e-5, rtol=1e-4)
    assert trace.scores.shape == (8, 2)
    if name == "guided":  # the path starts at the baseline and each feature only moves towards x
        torch.testing.assert_close(trace.points[0], res.baseline)
        distance = (trace.points - x).abs().flatten(2).sum(dim=2)
        assert (distance[1:] <= distance[:-1] + 1e-6).all()
    else:  # sigma falls along the path: each point is sharper, closer to x
        distance = (trace.points - x).abs().flatten(2).sum(dim=2)
        assert (distance[1:] < distance[:-1]).all()


def test_guided_ig_takes_one_forward_pass_per_step(digits, count_calls):
    model, images, _ = digits
    counted = count_calls(model)
    igw.guided_integrated_gradients(counted, images[:2], steps=10)
    assert counted.forwards == 10 + 1  # the steps, and the probe at x and x' together
    assert counted.backwards == 10


def test_blur_ig_takes_the_passes_of_ig_at_equal_steps(digits, count_calls):
    model, images, _ = digits
    plain, blur = count_calls(model), count_calls(model)
    igw.integrated_gradients(plain, images[:2], steps=16, batch_size=8)
    igw.blur_integrated_gradients(blur, images[:2], steps=16, batch_size=8)
    assert (blur.forwards, blur.backwards) == (plain.forwards, plain.backwards)


@pytest.mark.parametrize("name", PATH_METHODS)
def test_the_users_model_is_untouched(digits, name):
    model, images, _ = digits
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]
    try:
        PATH_METHODS[name](model, images[:1], steps=4, idgi=True)
        assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
        assert all((g is None and p.grad is None) or torch.equal(g, p.grad) for g, p in zip(grads, model.parameters()))
    finally:
        model.eval()


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda m, x: igw.integrated_gradients(m, x, steps="auto", idgi=True), "idgi=True with steps='auto'"),
        (lambda m, x: igw.integrated_gradients(m, x, idgi="yes"), "idgi must be True or False"),
        (lambda m, x: igw.blur_integrated_gradients(m, x, max_sigma=0), "max_sigma must be a positive"),
        (lambda m, x: igw.blur_integrated_gradients(m, x, steps="auto"), "steps='auto'"),
        (lambda m, x: igw.blur_integrated_gradients(m, x.flatten(1), steps=4), "needs images"),
        (lambda m, x: igw.guided_integrated_gradients(m, x, fraction=0), "fraction must be above 0"),
        (lambda m, x: igw.guided_integrated_gradients(m, x, max_dist=2), "max_dist must be a number in [0, 1]"),
        (lambda m, x: igw.guided_integrated_gradients(m, x, steps=0), "steps must be a positive int"),
    ],
)
def test_bad_arguments_are_refused_before_any_model_call(call, words, count_calls, digits):
    model, images, _ = digits
    counted = count_calls(model)
    with pytest.raises(igw.AttributionInputError) as caught:
        call(counted, images[:1])
    assert words in str(caught.value)
    assert counted.forwards <= 1  # at most the input check's shape probe


def test_notebook_09_is_the_jupytext_pair_of_its_script():
    jupytext = pytest.importorskip("jupytext")
    import pathlib

    import nbformat

    folder = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
    script = jupytext.read(folder / "09_paths_and_checks.py")
    book = nbformat.read(folder / "09_paths_and_checks.ipynb", as_version=4)
    assert [(c.cell_type, c.source) for c in script.cells] == [(c.cell_type, c.source) for c in book.cells], (
        "regenerate: jupytext --to ipynb notebooks/09_paths_and_checks.py"
    )
