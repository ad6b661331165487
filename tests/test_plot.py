"""Static figures: the numbers drawn (pixels, colour limits, line data, token colours), not just that they draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from ig_widget import (
    integrated_gradients,  # noqa: E402
    plot,  # noqa: E402
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def linear_result():
    """A linear model on 6x6 one-channel images: IG from black is exactly weight * input."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 3))
    x = torch.rand(2, 1, 6, 6)
    return integrated_gradients(model, x, target=1, steps=16)


@pytest.fixture(scope="module")
def curved_result():
    """A saturating model (tanh), so the score along the path is a real curve."""
    torch.manual_seed(4)
    model = nn.Sequential(nn.Flatten(), nn.Linear(25, 8), nn.Tanh(), nn.Linear(8, 2))
    x = torch.rand(1, 1, 5, 5) * 3
    return integrated_gradients(model, x, target=0, steps=24, rule="riemann_trapezoid")


def _colorbar_limits(fig, ax):
    bar_axes = [other for other in fig.axes if other is not ax]
    assert len(bar_axes) == 1, "expected exactly one colour bar"
    return bar_axes[0].get_ylim()


@pytest.mark.parametrize("clip", [50.0, 90.0, 99.0, 100.0])
def test_clip_threshold_is_where_the_top_mass_share_is_reached(clip):
    values = np.random.default_rng(int(clip)).standard_normal(400) ** 3
    magnitudes = np.abs(values)
    share = (100 - clip) / 100 * magnitudes.sum()
    # the largest magnitude m such that the features at least as strong as m hold the top share
    expected = max(m for m in magnitudes if magnitudes[magnitudes >= m].sum() >= share)
    assert plot.clip_threshold(values, clip) == pytest.approx(expected)


def test_one_extreme_pixel_is_clipped_and_does_not_set_the_colour_scale():
    attributions = np.ones((20, 20))
    attributions[3, 4] = 3.0  # holds 3/402 < 1% of the mass
    fig, ax = plot.image_heatmap(attributions, display="heat")
    drawn = ax.images[0].get_array()
    assert drawn.max() == pytest.approx(1.0)
    assert _colorbar_limits(fig, ax) == pytest.approx((-1.0, 1.0))
    fig, ax = plot.image_heatmap(attributions, display="heat", clip=100)
    assert _colorbar_limits(fig, ax) == pytest.approx((-3.0, 3.0))
    assert ax.images[0].get_array()[3, 4] == pytest.approx(3.0)


@pytest.mark.parametrize(
    "sign, part, cmap",
    [
        ("both", lambda a: a, plot.DIVERGING),
        ("positive", lambda a: np.maximum(a, 0), plot.SEQUENTIAL),
        ("negative", lambda a: np.maximum(-a, 0), plot.SEQUENTIAL),
        ("absolute", np.abs, plot.SEQUENTIAL),
    ],
)
def test_heat_mode_draws_the_chosen_part_of_the_map_with_its_palette(linear_result, sign, part, cmap):
    fig, ax = plot.image_heatmap(linear_result, row=1, sign=sign, display="heat", clip=100)
    expected = part(linear_result.attributions[1, 0].numpy().astype(np.float64))
    image = ax.images[0]
    np.testing.assert_allclose(image.get_array(), expected, rtol=1e-6, atol=1e-9)
    assert image.get_cmap().name == cmap.name
    low, high = _colorbar_limits(fig, ax)
    peak = np.abs(expected).max()
    assert (low, high) == pytest.approx((-peak, peak) if sign == "both" else (0.0, peak))


def test_overlay_keeps_unattributed_pixels_and_mixes_the_strongest_at_the_opacity(linear_result):
    attributions = np.zeros((4, 4))
    attributions[1, 2] = 2.0
    attributions[3, 0] = -0.5
    image = np.linspace(0, 1, 16).reshape(1, 4, 4)
    fig, ax = plot.image_heatmap(attributions, image=image, display="overlay", opacity=0.6, clip=100)
    drawn = ax.images[0].get_array()
    grey = np.repeat(image[0][..., None], 3, axis=-1)
    np.testing.assert_allclose(drawn[0, 0], grey[0, 0])  # no attribution: the image's own colour
    top = plot.DIVERGING(1.0)[:3]
    np.testing.assert_allclose(drawn[1, 2], 0.4 * grey[1, 2] + 0.6 * np.array(top))
    weak = plot.DIVERGING(0.5 - 0.5 * 0.25)[:3]  # -0.5 on a scale of +-2
    np.testing.assert_allclose(drawn[3, 0], (1 - 0.15) * grey[3, 0] + 0.15 * np.array(weak), atol=1e-6)


def test_masked_keeps_the_image_only_where_the_top_mass_is(linear_result):
    fig, ax = plot.image_heatmap(linear_result, sign="absolute", display="masked", mass=0.5)
    magnitudes = np.abs(linear_result.attributions[0, 0].numpy().astype(np.float64))
    mask = plot.top_mass_mask(magnitudes, 0.5)
    assert magnitudes[mask].sum() >= 0.5 * magnitudes.sum()
    assert magnitudes[mask].sum() - magnitudes[mask].min() < 0.5 * magnitudes.sum()  # the fewest that do
    assert magnitudes[mask].min() >= magnitudes[~mask].max()
    picture = plot.display_image(linear_result.inputs[0])
    np.testing.assert_allclose(ax.images[0].get_array(), np.where(mask[..., None], picture, plot.MASK_DIM * picture))
    assert len(fig.axes) == 1  # no colour bar: no attribution colours are drawn


def test_outline_encloses_the_strongest_pixel_and_not_the_weakest():
    attributions = np.zeros((8, 8))
    attributions[2:4, 5:7] = 5.0
    attributions[6, 1] = 0.1
    fig, ax = plot.image_heatmap(attributions, image=np.zeros((8, 8)), display="outline", mass=0.9)
    paths = [path for collection in ax.collections for path in collection.get_paths() if len(path.vertices)]
    assert paths, "no outline drawn"
    inside = lambda point: any(path.contains_point(point) for path in paths)
    assert inside((5.0, 2.0)) and inside((6.0, 3.0))  # (x=column, y=row) of the strong block
    assert not inside((1.0, 6.0)) and not inside((0.0, 0.0))


def test_alpha_grid_draws_the_trace_at_true_alphas(curved_result):
    fig, axes = plot.alpha_grid(curved_result, count=5, clip=100)
    trace = curved_result.trace
    alphas = trace.alphas.numpy()
    picks = plot.nearest_points(alphas, 5)
    assert axes.shape == (2, len(picks)) == (2, 5)
    x, base = curved_result.inputs[0].numpy(), curved_result.baseline[0].numpy()
    for column, index in enumerate(picks):
        np.testing.assert_allclose(axes[1, column].images[0].get_array(), trace.cumulative[index, 0].numpy(), rtol=1e-6)
        scaled = (base + alphas[index] * (x - base))[0]
        np.testing.assert_allclose(
            axes[0, column].images[0].get_array()[..., 0], scaled / x.max(), rtol=1e-5, atol=1e-6
        )
        assert f"α={alphas[index]:.2f}" in axes[0, column].get_title()


def test_alpha_grid_subdivides_a_given_axes(curved_result):
    fig, outer = plt.subplots()
    grid_fig, axes = plot.alpha_grid(curved_result, count=3, ax=outer)
    assert grid_fig is fig
    assert all(axis.figure is fig for axis in axes.ravel())


def test_saturation_curve_lines_are_the_trace(curved_result):
    fig, given = plt.subplots()
    returned_fig, ax = plot.saturation_curve(curved_result, ax=given)
    assert ax is given and returned_fig is fig
    curve = ax.lines[0].get_xydata()
    np.testing.assert_allclose(curve[:, 0], curved_result.trace.alphas.numpy())
    np.testing.assert_allclose(curve[:, 1], curved_result.trace.scores[:, 0].numpy())
    assert ax.lines[1].get_ydata()[0] == pytest.approx(curved_result.score[0].item())
    assert ax.lines[2].get_ydata()[0] == pytest.approx(curved_result.baseline_score[0].item())


def test_completeness_curve_ends_at_the_sum_of_attributions(curved_result):
    fig, ax = plot.completeness_curve(curved_result)
    summed = ax.lines[0].get_ydata()
    np.testing.assert_allclose(summed, curved_result.trace.cumulative[:, 0].flatten(1).sum(1).numpy(), rtol=1e-6)
    assert summed[-1] == pytest.approx(curved_result.total[0].item(), rel=1e-5)
    change = (curved_result.score - curved_result.baseline_score)[0].item()
    np.testing.assert_allclose(
        ax.lines[1].get_ydata(),
        curved_result.trace.scores[:, 0].numpy() - curved_result.baseline_score[0].item(),
        rtol=1e-6,
    )
    assert ax.lines[2].get_ydata()[0] == pytest.approx(change)
    assert f"{curved_result.gap[0].item():+.2g}" in ax.get_title()


def test_tokens_are_plain_text_on_their_attribution_colour():
    tokens = ["the", "$x$", "<b>bold</b>", "##ing", "good"] * 6
    values = np.linspace(-1, 1, len(tokens))
    fig, ax = plot.token_highlight(tokens, values, clip=100)
    texts = ax.texts
    assert [text.get_text() for text in texts] == tokens
    cmap = plot.DIVERGING
    for text, value in zip(texts, values):
        assert not text.get_parse_math()
        np.testing.assert_allclose(text.get_bbox_patch().get_facecolor(), cmap((value + 1) / 2), atol=1e-6)
        assert 0.0 <= text.get_position()[0] < 1.0
    lines = {text.get_position()[1] for text in texts}
    assert len(lines) > 1, "30 tokens should wrap onto several lines"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="sign='sideways'"):
        plot.image_heatmap(np.ones((3, 3)), sign="sideways", display="heat")
    with pytest.raises(ValueError, match="display='glow'"):
        plot.image_heatmap(np.ones((3, 3)), display="glow")
    with pytest.raises(ValueError, match="clip=0"):
        plot.clip_threshold(np.ones(3), 0)
    with pytest.raises(ValueError, match="image="):
        plot.image_heatmap(np.ones((3, 3)), display="overlay")
    with pytest.raises(ValueError, match="2 tokens but 3"):
        plot.token_highlight(["a", "b"], [1, 2, 3])


def test_figures_use_the_widget_palettes():
    """A figure and the widget view read the same: the colour maps are built from the anchors the kernel
    sends the views (ig_widget/schema.py; js/src holds no copy, tests/test_schema.py checks)."""
    from ig_widget import schema

    for anchors, cmap in ((schema.DIVERGING, plot.DIVERGING), (schema.SEQUENTIAL, plot.SEQUENTIAL)):
        for position, anchor in zip(np.linspace(0, 1, len(anchors)), anchors):
            np.testing.assert_allclose(
                cmap(position)[:3], matplotlib.colors.to_rgb(anchor), atol=2 / 255
            )  # 256-entry tables


def test_token_highlight_reads_a_text_result_per_token_or_per_word():
    from ig_widget import text_integrated_gradients

    torch.manual_seed(5)
    model = nn.Sequential(nn.Embedding(12, 4), nn.Flatten(), nn.Linear(4 * 5, 2))
    result = text_integrated_gradients(model, torch.tensor([[1, 2, 3, 4, 5]]), target=1, baseline="zero", steps=8)
    fig, ax = plot.token_highlight(result, clip=100)
    assert [text.get_text() for text in ax.texts] == result.token_strings()
    peak = result.token_scores[0].abs().max().item()
    for text, score in zip(ax.texts, result.token_scores[0].tolist()):
        np.testing.assert_allclose(
            text.get_bbox_patch().get_facecolor(), plot.DIVERGING((score / peak + 1) / 2), atol=1e-6
        )
    fig, ax = plot.token_highlight(result, words=True)
    assert [text.get_text() for text in ax.texts] == [word.text for word in result.words()]


def _drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


@pytest.fixture(scope="module")
def digit_result(digits):
    """The quickstart's explanation: a CNN's top class for one digit, rising from F(x') to F(x)."""
    model, images, _ = digits
    return integrated_gradients(model, images[3:4], steps=32)


@pytest.mark.parametrize("layout", ["alone", "in_a_row"])
@pytest.mark.parametrize("which", ["curved_result", "digit_result"])
def test_saturation_curve_legend_covers_no_line(request, which, layout):
    result = request.getfixturevalue(which)
    if layout == "alone":
        fig, ax = plot.saturation_curve(result)
    else:  # as the quickstart draws it: the middle of three panels
        fig, axes = plt.subplots(1, 3, figsize=(10, 3))
        _, ax = plot.saturation_curve(result, ax=axes[1])
        fig.tight_layout()
    renderer = _drawn(fig)
    box = ax.get_legend().get_window_extent(renderer)
    curve = ax.transData.transform(ax.lines[0].get_xydata())
    inside = [(x, y) for x, y in curve if box.x0 <= x <= box.x1 and box.y0 <= y <= box.y1]
    assert inside == [], "the legend covers points of the curve"
    for line in ax.lines[1:]:  # F(x) and F(x') span the axes: the legend stays off their height
        y = ax.transData.transform((0.5, line.get_ydata()[0]))[1]
        assert not box.y0 <= y <= box.y1, f"the legend covers the line {line.get_label()}"
    plt.close(fig)


def test_token_highlight_wraps_a_long_text_within_the_axes_width():
    tokens = [f"token{i}" for i in range(120)] + ["a-very-long-word-that-takes-room"] * 6
    fig, ax = plot.token_highlight(tokens, np.linspace(-1, 1, len(tokens)))
    renderer = _drawn(fig)
    axes_box = ax.get_window_extent(renderer)
    for text in ax.texts:
        box = text.get_bbox_patch().get_window_extent(renderer)
        assert axes_box.x0 - 1 <= box.x0 and box.x1 <= axes_box.x1 + 1, f"{text.get_text()!r} runs past the axes"
    assert len({text.get_position()[1] for text in ax.texts}) > 5
    plt.close(fig)


def test_token_highlight_wraps_within_a_given_narrow_axes():
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    plot.token_highlight([f"word{i}" for i in range(40)], np.ones(40), ax=axes[0], colorbar=False)
    renderer = _drawn(fig)
    right = axes[0].get_window_extent(renderer).x1
    assert all(text.get_bbox_patch().get_window_extent(renderer).x1 <= right + 1 for text in axes[0].texts)
    plt.close(fig)


def test_image_heatmap_refuses_what_is_not_a_map_and_says_what_to_pass():
    """interior_gradients' result raised a TypeError from float() deep in numpy; it holds a gradient per
    alpha, and the message names how to draw one of them, which then draws."""
    import ig_widget as igw

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    x = torch.rand(1, 1, 3, 4)
    interior = igw.interior_gradients(model, x, target=0, alphas=[0.5, 1.0])
    with pytest.raises(
        ValueError, match=r"InteriorGradients holds a gradient at each of its 2 alphas: pass one"
    ) as refused:
        plot.image_heatmap(interior)
    assert "image_heatmap(result.gradients[k][0], image=result.inputs[0]" in str(refused.value)
    _, ax = plot.image_heatmap(interior.gradients[1][0], image=interior.inputs[0], display="heat", clip=100)
    drawn = ax.images[0].get_array()
    np.testing.assert_allclose(drawn, interior.gradients[1][0].sum(0).numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"source is of type object; it draws an AttributionResult"):
        plot.image_heatmap(object(), display="heat")


def test_path_figures_say_an_interior_gradients_has_no_path_trace():
    """Given an InteriorGradients, the path figures asked for integrated_gradients(..., trace=True) as if
    the trace had been turned off; now they say what the object holds and what to pass instead."""
    import ig_widget as igw

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    interior = igw.interior_gradients(model, torch.rand(1, 1, 3, 4), target=0, alphas=[0.5, 1.0])
    for figure in (plot.alpha_grid, plot.saturation_curve, plot.completeness_curve):
        with pytest.raises(ValueError, match=r"an InteriorGradients holds the gradient at each of its alphas"):
            figure(interior)
    untraced = igw.integrated_gradients(model, torch.rand(1, 1, 3, 4), target=0, steps=4, trace=False)
    with pytest.raises(ValueError, match=r"the AttributionResult given has none; compute .*trace=True"):
        plot.completeness_curve(untraced)
