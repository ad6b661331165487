"""A picture of an explainer's result for places where the live view cannot run.

GitHub's notebook view, nbviewer without widget state and a terminal ignore
`application/vnd.jupyter.widget-view+json`; they pick the next mimetype they know from the same
output. `mime_bundle(widget)` adds two: `image/png` (the attribution map or the coloured tokens, drawn
by `ig_widget.plot`, beside the top outputs with their scores and the explained one, marked, listed even
when it is outside the top) and a `text/plain` line naming the explained output and the completeness
gap. Front ends that run widgets (JupyterLab, Notebook 7, Voila, VS Code, Colab) rank the widget view
first and never show them.

The picture is the explanation at display time (a later click in the view does not redraw it). A
result still being computed is waited for up to `PICTURE_WAIT_S`; after that the output carries the
text line alone. Size: a small figure at a low dpi, quantised to a 64-colour palette (PNG's
indexed mode): about 3 kB of base64 per output for the quickstart's digit and a MiniLM sentence (tests/browser/test_static_mime.py
measures it).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ..attribution.rounding import rounding_note

PICTURE_WAIT_S = 2.0  # how long displaying an explainer waits for a result still being computed
DPI = 72
COLOURS = 64  # palette size of the PNG: the maps' colour ramps survive it, the file shrinks ~3x
SHOWN_OUTPUTS = 5
PLURALS = {"log-probability": "log-probabilities", "probability": "probabilities"}  # as outputs.js names them
DRAWN_VIEWS = ("image", "text")  # the generation view keeps anywidget's plain bundle


def mime_bundle(widget: Any, wait: float = PICTURE_WAIT_S) -> dict[str, Any]:
    """`text/plain` and `image/png` (bytes) for the image and text views: what replaces or joins the
    widget's own bundle entries. Empty for other views."""
    name = type(widget).__name__
    if getattr(widget, "_view", None) not in DRAWN_VIEWS:  # nothing drawn here: never wait for it
        return {}
    result = _result(widget, wait)
    if result is None:
        return {"text/plain": f"{name} (no result yet: the picture needs the live view)"}
    try:
        bundle = {"text/plain": f"{name}: {_summary(widget, result)}"}
        png = picture(widget, result)
    except Exception as exc:  # displaying the live view never fails for the picture's sake
        return {"text/plain": f"{name} (no picture: {type(exc).__name__}: {exc})"}
    if png is not None:
        bundle["image/png"] = png
    return bundle


def picture(widget: Any, result: Any) -> bytes | None:
    """The PNG of `result` as `widget` shows it (image and text views), or None for other views."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from .. import plot  # matplotlib only when a picture is drawn

    view = getattr(widget, "_view", None)
    if view not in DRAWN_VIEWS:
        return None
    with matplotlib.rc_context({"font.size": 8, "figure.dpi": DPI}):
        figure = matplotlib.figure.Figure(figsize=(4.6, 2.0) if view == "image" else (6.0, 1.8), dpi=DPI)
        FigureCanvasAgg(figure)  # a renderer for the token layout, whatever backend pyplot uses
        drawing, listing = figure.subplots(1, 2, width_ratios=(1.4, 1) if view == "image" else (2.4, 1))
        if view == "image":
            plot.image_heatmap(result, display="heat", clip=float(getattr(widget, "clip", 99.0)), ax=drawing)
            figure.tight_layout(pad=0.3)
        else:  # tokens wrap to the axes' width when drawn: fix the layout first
            figure.subplots_adjust(left=0.01, right=0.99, top=0.95, bottom=0.2, wspace=0.05)
            plot.token_highlight(result, ax=drawing)
        _outputs(listing, widget)
        return _png(figure)


def _result(widget: Any, wait: float) -> Any:
    """The final result (a picture saved in the notebook never shows a coarse preview as the result)."""
    result = widget.final_explanation
    if result is None and wait > 0:
        try:
            widget.wait(wait)
        except TimeoutError:
            return None
        result = widget.final_explanation
    return result


def _label(widget: Any, index: int) -> str:
    for row in widget.outputs:
        if row.get("index") == index:
            return str(row.get("label", index))
    return str(index)


def _summary(widget: Any, result: Any) -> str:
    gap = getattr(result, "relative_gap", None)
    if gap is None:
        return f"explaining “{_label(widget, widget.target)}”"
    relative = float(np.asarray(gap).ravel()[0])
    within = bool(np.asarray(result.gap_within_rounding).ravel()[0])
    gap_text = f", completeness gap {100 * relative:+.2f}%{rounding_note(relative, within)}"
    return f"explaining “{_label(widget, widget.target)}”{gap_text}"


def _values(rows: list[dict]) -> tuple[str, list[str]]:
    """The column's heading and one value per row: percentages, or (as the view does where they would not
    tell the rows apart: one prints 100.0%, or two print the same; or there are none) the scores."""
    percentages = [f"{100 * row['probability']:.1f}%" for row in rows if "probability" in row]
    apart = "100.0%" not in percentages and len(set(percentages)) == len(percentages)
    if len(percentages) == len(rows) and apart:
        return "outputs", percentages
    names = {row.get("score_name", "score") for row in rows}
    name = names.pop() if len(names) == 1 else "score"
    return f"outputs ({PLURALS.get(name, name + 's')})", [f"{row['score']:.3g}" for row in rows]


def _shown_rows(widget: Any) -> list[dict]:
    """The first `SHOWN_OUTPUTS` of the view's rows, and the explained output's row after them when it is
    not among them (a class outside the top k, which the view lists last): the picture exists to show
    which output the map explains, so that row is never cut."""
    rows = list(widget.outputs[:SHOWN_OUTPUTS])
    if not any(row.get("index") == widget.target for row in rows):
        rows += [row for row in widget.outputs[SHOWN_OUTPUTS:] if row.get("index") == widget.target][:1]
    return rows


def _outputs(ax: Any, widget: Any) -> None:
    """The listed outputs as text, the explained one marked and bold (the view's outputs column)."""
    ax.set_axis_off()
    rows = _shown_rows(widget)
    heading, values = _values(rows)
    ax.text(0.0, 1.0, heading, transform=ax.transAxes, va="top", weight="bold")
    for line, (row, value) in enumerate(zip(rows, values), start=1):
        chosen = row.get("index") == widget.target
        text = f"{'▶' if chosen else ' '} {row.get('label', row.get('index'))}   {value}"
        ax.text(
            0.0,
            1.0 - 0.14 * line,
            text,
            transform=ax.transAxes,
            va="top",
            parse_math=False,
            weight="bold" if chosen else "normal",
        )


def _png(figure: Any) -> bytes:
    from PIL import Image

    raw = io.BytesIO()
    figure.savefig(raw, format="png", dpi=DPI)
    raw.seek(0)
    small = io.BytesIO()
    Image.open(raw).convert("RGB").quantize(COLOURS).save(small, format="png", optimize=True)
    return small.getvalue()
