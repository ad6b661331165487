"""Static figures of attributions, for papers, slides and places without widgets (matplotlib only).

Every function draws into the `ax=` it is given (or a new figure) and returns `(figure, axes)`.
Colours: the widget's diverging, colour-blind-safe palette for signed maps (`DIVERGING`, purple
negative, orange positive) and a sequential one for magnitudes (`SEQUENTIAL`). Colour scales are clipped at a
percentile of the attribution *mass*: with `clip=99` the colour saturates at the magnitude above
which the strongest features hold the top 1% of the total |attribution|, so one extreme pixel
does not wash out the rest of the map. Colour is never the only channel: colour bars carry numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors
from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure

from . import schema
from .attribution.result import InteriorGradients
from .attribution.rounding import reads_as_rounding
from .schema import DISPLAY_MODES, OUTLINE_COLOUR, SCORE_COLOUR, SUM_COLOUR  # noqa: F401 (SUM_COLOUR: re-exported)

SIGNS = schema.SIGN_MODES
# The widget's palettes (ig_widget/schema.py sends them to the views), so that a figure and the view
# read the same: ColorBrewer PuOr without its darkest classes, reversed so that positive is orange
# (colour-blind safe), and viridis' anchors for magnitudes.
DIVERGING = mcolors.LinearSegmentedColormap.from_list("igw_diverging", list(schema.DIVERGING))
SEQUENTIAL = mcolors.LinearSegmentedColormap.from_list("igw_sequential", list(schema.SEQUENTIAL))
MASK_DIM = 0.2  # brightness left to pixels outside the mask in display="masked"


# ---------------------------------------------------------------- numbers behind the colours


def as_numpy(values: Any) -> np.ndarray:
    """A float64 numpy copy of a tensor (on any device, with or without grad) or array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def signed_view(attributions: Any, sign: str) -> np.ndarray:
    """The part of the map a sign mode shows: signed ("both"), the positive or negative part (as
    magnitudes), or |attribution| ("absolute")."""
    values = as_numpy(attributions)
    if sign == "both":
        return values
    if sign == "positive":
        return np.maximum(values, 0.0)
    if sign == "negative":
        return np.maximum(-values, 0.0)
    if sign == "absolute":
        return np.abs(values)
    raise ValueError(f"sign={sign!r} is not a sign mode; use one of {', '.join(SIGNS)}")


def clip_threshold(values: Any, clip: float = 99.0) -> float:
    """The magnitude t at which colours saturate: the features with |value| > t hold less than
    (100 - clip)% of the total |value|. clip=100 gives the largest magnitude. Never 0."""
    if not 0.0 < clip <= 100.0:
        raise ValueError(f"clip={clip!r} must be a percentile of attribution mass in (0, 100]")
    magnitudes = np.abs(as_numpy(values)).ravel()
    if not np.isfinite(magnitudes).all():
        raise ValueError("the attributions contain NaN or inf; there is no colour scale for them")
    magnitudes = np.sort(magnitudes)[::-1]
    total = magnitudes.sum()
    if total == 0:
        return 1.0
    above = np.cumsum(magnitudes) / total  # share of the mass held by the k+1 largest
    index = int(np.searchsorted(above, (100.0 - clip) / 100.0, side="left"))
    return float(magnitudes[min(index, len(magnitudes) - 1)])


def top_mass_mask(values: Any, mass: float = schema.OUTLINE_MASS) -> np.ndarray:
    """The fewest features, largest |value| first, that together hold `mass` of the total |value|."""
    if not 0.0 < mass <= 1.0:
        raise ValueError(f"mass={mass!r} must be a fraction of the attribution mass in (0, 1]")
    magnitudes = np.abs(as_numpy(values))
    flat = magnitudes.ravel()
    total = flat.sum()
    mask = np.zeros(flat.shape, dtype=bool)
    if total > 0:
        order = np.argsort(-flat, kind="stable")
        needed = int(np.searchsorted(np.cumsum(flat[order]), mass * total * (1 - 1e-12), side="left")) + 1
        mask[order[:needed]] = True
    return mask.reshape(magnitudes.shape)


def colour_scale(view: np.ndarray, sign: str, clip: float) -> tuple[mcolors.Normalize, mcolors.Colormap]:
    """The normalisation and colour map for a view: symmetric and diverging for signed maps,
    from zero and sequential for magnitudes."""
    threshold = clip_threshold(view, clip)
    if sign == "both":
        return mcolors.Normalize(-threshold, threshold), DIVERGING
    return mcolors.Normalize(0.0, threshold), SEQUENTIAL


# ---------------------------------------------------------------- images


def image_heatmap(
    source: Any,
    row: int = 0,
    *,
    image: Any = None,
    sign: str = "both",
    display: str = "overlay",
    opacity: float = 0.6,
    clip: float = 99.0,
    mass: float = schema.OUTLINE_MASS,
    colorbar: bool = True,
    title: str | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """An attribution map over its image.

    `source` is an AttributionResult (row `row` is drawn, its input is the image) or an attribution
    array [C, H, W] / [H, W] (then pass `image=` for the modes drawn over the image). Channels are summed.
    Display modes (the widget's): "overlay" mixes the heat colour into the image, more where
    |attribution| is larger (at most `opacity`); "heat" shows the colours alone; "masked" keeps the image only on the features
    holding the top `mass` of the attribution and dims the rest; "outline" draws the edges of that
    region on the image.
    """
    if display not in DISPLAY_MODES:
        raise ValueError(f"display={display!r} is not a display mode; use one of {', '.join(DISPLAY_MODES)}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity={opacity!r} must be in [0, 1]")
    attributions, picture = _map_and_image(source, row, image)
    view = signed_view(attributions, sign)
    norm, cmap = colour_scale(view, sign, clip)
    if picture is None and display != "heat":
        raise ValueError(f"display={display!r} draws over the image; pass image= or use display='heat'")
    fig, ax = _figure(ax, (3.4, 3.0))
    if display == "heat":
        ax.imshow(np.clip(view, norm.vmin, norm.vmax), cmap=cmap, norm=norm, interpolation="nearest")
    elif display == "overlay":
        ax.imshow(blend(picture, view, norm, cmap, opacity), interpolation="nearest")
    else:
        mask = top_mass_mask(view if sign != "both" else np.abs(view), mass)
        if display == "masked":
            ax.imshow(np.where(mask[..., None], picture, MASK_DIM * picture), interpolation="nearest")
        else:
            ax.imshow(picture, interpolation="nearest")
            _outline(ax, mask)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    if colorbar and display in ("heat", "overlay"):
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.046, pad=0.04)
        bar.set_label("attribution" if sign == "both" else f"{sign} attribution")
    return fig, ax


def blend(picture: np.ndarray, view: np.ndarray, norm: mcolors.Normalize, cmap, opacity: float) -> np.ndarray:
    """RGB image with the heat colour mixed in at opacity * (|value| / saturation, at most 1):
    features with no attribution keep the image's own colour."""
    heat = cmap(norm(np.clip(view, norm.vmin, norm.vmax)))[..., :3]
    strength = np.clip(np.abs(view) / max(abs(norm.vmin), abs(norm.vmax)), 0.0, 1.0)[..., None]
    weight = opacity * strength
    return (1.0 - weight) * picture + weight * heat


def display_image(values: Any) -> np.ndarray:
    """An input [C, H, W] or [H, W] as an RGB array in [0, 1]: grey for one channel, as-is for three,
    the channel mean otherwise; rescaled by its own min and max unless already in [0, 1]."""
    array = as_numpy(values)
    if array.ndim == 3:
        array = np.moveaxis(array, 0, -1) if array.shape[0] == 3 else array.mean(axis=0)
    if array.ndim not in (2, 3):
        raise ValueError(f"an image needs shape [C, H, W] or [H, W]; got {tuple(as_numpy(values).shape)}")
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    return np.repeat(array[..., None], 3, axis=-1) if array.ndim == 2 else array


def alpha_grid(
    result: Any,
    row: int = 0,
    *,
    count: int = 6,
    show: str = "cumulative",
    clip: float = 99.0,
    ax: Axes | None = None,
) -> tuple[Figure, np.ndarray]:
    """The path as a strip: top row the path's points (x' + alpha (x - x') on the straight path, the
    trace's own points on Blur IG's and Guided IG's), bottom row the cumulative
    attributions (or the interior gradients, `show="gradients"`) at `count` trace points spread
    evenly in alpha (each at its true alpha, from the result's trace). One colour scale for the strip.

    With `ax=`, the strip is drawn inside that axes. Returns (figure, axes array [2, count]).
    """
    trace = _trace_of(result)
    if show not in ("cumulative", "gradients"):
        raise ValueError(f"show={show!r} must be 'cumulative' or 'gradients'")
    if result.baseline is None:
        raise ValueError("alpha_grid needs a result with a baseline (from integrated_gradients)")
    alphas = as_numpy(trace.alphas)
    picks = nearest_points(alphas, count)
    maps = as_numpy(getattr(trace, show)[:, row])
    if maps.ndim != 3:
        raise ValueError(
            f"alpha_grid draws image traces [steps, H, W]; this trace has {maps.ndim - 1}-d maps per point"
        )
    threshold = clip_threshold(maps[-1] if show == "cumulative" else maps, clip)
    norm = mcolors.Normalize(-threshold, threshold)
    inputs, baseline = as_numpy(result.inputs[row]), as_numpy(result.baseline[row])
    low, high = min(inputs.min(), baseline.min()), max(inputs.max(), baseline.max())
    fig, axes = _grid(ax, 2, len(picks))
    for column, index in enumerate(picks):
        scaled = (
            baseline + alphas[index] * (inputs - baseline)
            if getattr(trace, "points", None) is None
            else as_numpy(trace.points[index, row])
        )  # a curved path's own point (Blur IG, Guided IG)
        axes[0, column].imshow(display_image(_rescale(scaled, low, high)), interpolation="nearest")
        axes[0, column].set_title(f"α={alphas[index]:.2f}\nF={as_numpy(trace.scores[index, row]):.2f}", fontsize=8)
        axes[1, column].imshow(
            np.clip(maps[index], -threshold, threshold), cmap=DIVERGING, norm=norm, interpolation="nearest"
        )
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0, 0].set_ylabel("scaled input", fontsize=8)
    axes[1, 0].set_ylabel("cumulative IG" if show == "cumulative" else "gradient", fontsize=8)
    fig.colorbar(ScalarMappable(norm=norm, cmap=DIVERGING), ax=list(axes[1]), fraction=0.02, pad=0.02)
    return fig, axes


def nearest_points(alphas: np.ndarray, count: int) -> list[int]:
    """Indices of the trace points closest in alpha to `count` evenly spaced alphas (no repeats)."""
    if count < 1:
        raise ValueError(f"count={count!r} must be a positive number of steps")
    wanted = np.linspace(alphas.min(), alphas.max(), count)
    return sorted({int(np.argmin(np.abs(alphas - value))) for value in wanted})


# ---------------------------------------------------------------- curves along the path


def saturation_curve(result: Any, row: int = 0, *, ax: Axes | None = None) -> tuple[Figure, Axes]:
    """F(x' + alpha (x - x')) against alpha, one marker per trace point at its true alpha, with F(x)
    and F(x') as reference lines: where the curve goes flat the gradient says nothing."""
    trace = _trace_of(result)
    fig, ax = _figure(ax, (4.0, 3.0))
    alphas, scores = as_numpy(trace.alphas), as_numpy(trace.scores[:, row])
    ax.plot(alphas, scores, marker="o", markersize=3, color=SCORE_COLOUR, label="F on the path")
    ends = [float(as_numpy(result.score[row]))]
    ax.axhline(ends[0], color="0.2", linestyle="--", linewidth=1, label="F(x)")
    if result.baseline_score is not None:
        ends.append(float(as_numpy(result.baseline_score[row])))
        ax.axhline(ends[1], color="0.4", linestyle=":", linewidth=1, label="F(x')")
    ax.set_xlabel("α (0 = baseline, 1 = input)")
    ax.set_ylabel("target score")
    ax.set_xlim(0, 1)
    _legend_above_the_data(ax, np.concatenate([scores, ends]))
    return fig, ax


LEGEND_ROOM = 0.25  # the share of the axes height kept free above the data for a one-row legend


def _legend_above_the_data(ax: Axes, values: np.ndarray) -> None:
    """A one-row legend in room added above every plotted value, so that it covers no line (the score
    curve and the F(x), F(x') lines span the whole width: no corner inside the data is free)."""
    low, high = float(np.min(values)), float(np.max(values))
    span = high - low or max(abs(high), 1.0)
    ax.set_ylim(low - 0.05 * span, high + span * LEGEND_ROOM / (1 - LEGEND_ROOM))
    ax.legend(
        fontsize=8,
        frameon=False,
        loc="upper center",
        ncol=len(ax.lines),
        handlelength=1.5,
        columnspacing=1.0,
        borderaxespad=0.2,
    )


def completeness_curve(result: Any, row: int = 0, *, ax: Axes | None = None) -> tuple[Figure, Axes]:
    """Cumulative attributions summed over features against alpha, beside F(alpha) - F(x'): IG
    accounts for the score change along the way, and at alpha = 1 the two meet F(x) - F(x') up to
    the completeness gap, which the title states."""
    trace = _trace_of(result)
    if result.baseline_score is None:
        raise ValueError("completeness_curve needs a result with a baseline score (from integrated_gradients)")
    fig, ax = _figure(ax, (4.0, 3.0))
    alphas = as_numpy(trace.alphas)
    summed = as_numpy(trace.cumulative[:, row]).reshape(len(alphas), -1).sum(axis=1)
    start = float(as_numpy(result.baseline_score[row]))
    change = float(as_numpy(result.score[row])) - start
    ax.plot(alphas, summed, marker="o", markersize=3, color=SUM_COLOUR, label="Σ cumulative attributions")
    ax.plot(alphas, as_numpy(trace.scores[:, row]) - start, color=SCORE_COLOUR, linestyle="--", label="F(α) − F(x')")
    ax.axhline(change, color="0.4", linestyle=":", linewidth=1, label="F(x) − F(x')")
    gap, relative = float(as_numpy(result.gap[row])), float(as_numpy(result.relative_gap[row]))
    within = bool(result.gap_within_rounding[row])
    rounding = ", within float rounding of F(x), F(x')" if reads_as_rounding(relative, within) else ""
    ax.set_title(f"completeness gap {gap:+.2g} ({100 * relative:+.2g}%{rounding})", fontsize=9)
    ax.set_xlabel("α")
    ax.set_ylabel("score change explained")
    ax.set_xlim(0, 1)
    ax.legend(fontsize=8, frameon=False)
    return fig, ax


# ---------------------------------------------------------------- tokens


TOKEN_FONT_SIZE = 10
TOKEN_PAD = 0.25  # a token box's padding around its text, in font sizes
TOKEN_GAP_PX = 4.0  # room between two boxes on a line


def token_highlight(
    tokens: Any,
    attributions: Any = None,
    *,
    row: int = 0,
    words: bool = False,
    sign: str = "both",
    clip: float = 99.0,
    colorbar: bool = True,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Tokens as text on boxes coloured by their attribution, wrapped to the axes width.

    Give the token strings and one attribution each, or a text attribution result alone (its row
    `row`, per token or, with `words=True`, per word). Tokens are drawn as plain text (no mathtext),
    whatever characters they hold.
    """
    if attributions is None and hasattr(tokens, "token_strings"):
        tokens, attributions = _tokens_of(tokens, row, words)
    tokens = [str(token) for token in tokens]
    view = signed_view(attributions, sign).ravel()
    if len(tokens) != len(view):
        raise ValueError(f"got {len(tokens)} tokens but {len(view)} attributions; give one attribution per token")
    norm, cmap = colour_scale(view, sign, clip)
    new_figure = ax is None
    fig, ax = _figure(ax, (6.0, 1.2))
    ax.set_axis_off()
    renderer = fig.canvas.get_renderer()
    place = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    width_px = max(ax.get_window_extent(renderer).width, 1.0)
    pad = TOKEN_PAD * TOKEN_FONT_SIZE * fig.dpi / 72 / width_px  # each box reaches this far beyond its text
    gap = TOKEN_GAP_PX / width_px
    x, line = pad, 0
    for token, value in zip(tokens, view):
        face = cmap(norm(np.clip(value, norm.vmin, norm.vmax)))
        text = ax.text(
            x,
            line,
            token,
            transform=place,
            parse_math=False,
            fontsize=TOKEN_FONT_SIZE,
            va="center",
            color=_readable_ink(face),
            bbox={"boxstyle": f"round,pad={TOKEN_PAD}", "facecolor": face, "edgecolor": "none"},
        )
        width = text.get_window_extent(renderer).width / width_px
        if x > pad and x + width + pad > 1.0:  # the box would run past the axes: start a new line
            line += 1
            x = pad
            text.set_position((x, line))
        x += width + 2 * pad + gap
    ax.set_ylim(line + 0.6, -0.6)
    if new_figure:
        fig.set_figheight(0.4 * (line + 1) + 0.8)
    if colorbar:
        bar = fig.colorbar(
            ScalarMappable(norm=norm, cmap=cmap), ax=ax, orientation="horizontal", fraction=0.08, pad=0.02, aspect=40
        )
        bar.set_label("attribution" if sign == "both" else f"{sign} attribution", fontsize=8)
    return fig, ax


# ---------------------------------------------------------------- helpers


def _tokens_of(result: Any, row: int, words: bool) -> tuple[list[str], list[float]]:
    if words:
        merged = result.words(row)
        return [word.text for word in merged], [word.score for word in merged]
    return result.token_strings(row), as_numpy(result.token_scores[row]).tolist()


def _figure(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=size)
        return fig, ax
    return ax.figure, ax


def _grid(ax: Axes | None, rows: int, columns: int) -> tuple[Figure, np.ndarray]:
    if ax is None:
        fig, axes = plt.subplots(rows, columns, figsize=(1.5 * columns + 0.8, 1.7 * rows + 0.4), squeeze=False)
        return fig, axes
    ax.set_axis_off()
    cell_w, cell_h = 1.0 / columns, 1.0 / rows
    axes = np.array(
        [
            [ax.inset_axes([c * cell_w, 1 - (r + 1) * cell_h, 0.9 * cell_w, 0.8 * cell_h]) for c in range(columns)]
            for r in range(rows)
        ]
    )
    return ax.figure, axes


def _trace_of(result: Any):
    if isinstance(result, InteriorGradients):  # gradients at chosen alphas: no path, so no trace to read
        raise ValueError(
            "this figure reads an integrated-gradients path trace; an InteriorGradients holds the gradient at "
            "each of its alphas and has none: pass integrated_gradients(..., trace=True) (the default), or draw "
            "one of its gradients with image_heatmap(result.gradients[k][row], image=result.inputs[row])"
        )
    trace = getattr(result, "trace", None)
    if trace is None:
        raise ValueError(
            f"this figure reads the path trace, and the {type(result).__name__} given has none; compute the "
            "result with integrated_gradients(..., trace=True) (the default)"
        )
    return trace


def _map_and_image(source: Any, row: int, image: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """The 2-D attribution map (channels summed) and the RGB picture to draw it over."""
    if hasattr(source, "attributions"):
        attributions = as_numpy(source.attributions[row])
        image = source.inputs[row] if image is None else image
    elif isinstance(source, InteriorGradients):  # a gradient per alpha, no map: name the one to draw
        raise ValueError(
            f"image_heatmap draws one map; an InteriorGradients holds a gradient at each of its "
            f"{len(source.alphas)} alphas: pass one of them, e.g. image_heatmap(result.gradients[k][{row}], "
            f"image=result.inputs[{row}], display='overlay') for alpha = result.alphas[k], or an AttributionResult "
            "(integrated_gradients, saliency, ...)"
        )
    else:
        try:
            attributions = as_numpy(source)
        except (TypeError, ValueError, RuntimeError) as error:
            raise ValueError(
                f"image_heatmap's source is of type {type(source).__name__}; it draws an AttributionResult (row `row` of "
                "integrated_gradients, saliency, ...) or an attribution array [C, H, W] / [H, W]"
            ) from error
    if attributions.ndim == 3:
        attributions = attributions.sum(axis=0)
    if attributions.ndim != 2:
        raise ValueError(f"image_heatmap draws maps [C, H, W] or [H, W]; got shape {attributions.shape}")
    picture = None if image is None else display_image(image)
    if picture is not None and picture.shape[:2] != attributions.shape:
        raise ValueError(f"image is {picture.shape[:2]} but the attributions are {attributions.shape}; they must match")
    return attributions, picture


def _rescale(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def _readable_ink(face: tuple[float, ...]) -> str:
    red, green, blue = face[:3]
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"


def _outline(ax: Axes, mask: np.ndarray) -> None:
    """Region edges along pixel borders: contour a nearest-upsampled mask at level 0.5."""
    factor = 8
    height, width = mask.shape
    upsampled = np.kron(mask.astype(float), np.ones((factor, factor)))
    xs = (np.arange(width * factor) + 0.5) / factor - 0.5
    ys = (np.arange(height * factor) + 0.5) / factor - 0.5
    padded = np.pad(upsampled, 1)
    xs = np.concatenate([[xs[0] - 1 / factor], xs, [xs[-1] + 1 / factor]])
    ys = np.concatenate([[ys[0] - 1 / factor], ys, [ys[-1] + 1 / factor]])
    ax.contour(xs, ys, padded, levels=[0.5], colors=[OUTLINE_COLOUR], linewidths=1.5)
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)


# -- Path methods and their checks (issue 14) ---------------------------------------------------------


def method_comparison(
    compared: Sequence[Any], *, image: Any = None, clip: float = 99.0, axes: Any = None
) -> tuple[Figure, np.ndarray]:
    """One column per method of `ig_widget.evaluation.compare_methods`: its map (the widget's diverging
    palette, each map on its own symmetric scale clipped at the `clip` percentile of |value|) and under it
    the checks that say whether to trust it: completeness gap (for path methods), deletion area (lower
    is better), insertion area (higher is better) and the sanity check (SSIM with the map of the fully
    randomized model: below 0.5 passes). `image` ([C, H, W] or [H, W]) adds a first column with the input.
    Returns (figure, axes)."""
    columns = len(compared) + (image is not None)
    if axes is None:
        fig, axes = plt.subplots(1, columns, figsize=(1.55 * columns, 2.6), squeeze=False)
        axes = axes[0]
    else:
        axes = np.asarray(axes).ravel()
        fig = axes[0].figure
    if len(axes) != columns:
        raise ValueError(f"method_comparison needs {columns} axes (one per method, plus the image); got {len(axes)}")
    if image is not None:
        axes[0].imshow(display_image(image), interpolation="nearest", cmap="gray")
        axes[0].set_title("input", fontsize=8)
        axes[0].set_xticks([])
        axes[0].set_yticks([])
    for ax, method in zip(axes[image is not None :], compared):
        view = as_numpy(method.attributions)
        view = view.sum(axis=0) if view.ndim == 3 else view
        norm, cmap = colour_scale(view, "both", clip)
        ax.imshow(np.clip(view, norm.vmin, norm.vmax), cmap=cmap, norm=norm, interpolation="nearest")
        ax.set_title(method.name, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(_checks_text(method), fontsize=6.5, linespacing=1.3)
    return fig, axes


def _checks_text(method: Any) -> str:
    lines = [
        "gap —"
        if method.relative_gap is None
        else f"gap {100 * method.relative_gap:+.2g}%"
        + (" (rounding)" if reads_as_rounding(method.relative_gap, method.gap_within_rounding) else ""),
        f"deletion {method.deletion_area:.3f}",
        f"insertion {method.insertion_area:.3f}",
    ]
    if method.sanity_passed is not None:
        lines.append(f"sanity {'pass' if method.sanity_passed else 'FAIL'} (SSIM {method.sanity_ssim:.2f})")
    return "\n".join(lines)
