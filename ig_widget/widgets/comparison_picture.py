"""A picture of a MethodComparison for places where the live view cannot run.

As for the explainers (`static_picture`): GitHub's notebook view, nbviewer without widget state and a
terminal skip the widget's mimetype and show the next one they know. `mime_bundle(widget)` gives them
`image/png` (the input and each computed method's map with its checks, drawn by
`ig_widget.plot.method_comparison`; a method not yet computed is an empty panel saying so) and a
`text/plain` line (the target, how many methods are computed, and how many pass the sanity check).

The picture is the comparison at display time, drawn from what is done then: displaying does not wait
(the explainers' views wait up to `static_picture.PICTURE_WAIT_S` for their one result; a comparison
takes longer, and waiting would hold back the live view that shows the cards as they come: measured, a
JupyterLab view then appeared with all eight cards at once). Display the widget again after `w.wait()`
for a picture of every method, or draw `ig_widget.plot.method_comparison(w.compared)`.
"""

from __future__ import annotations

from typing import Any

from .static_picture import DPI, _png

COLUMN_INCHES = 1.25
HEIGHT_INCHES = 2.5


def mime_bundle(widget: Any) -> dict[str, Any]:
    """`text/plain` and `image/png` (bytes) for `widget`'s comparison as computed so far; `text/plain`
    alone (saying why) if the picture cannot be drawn."""
    name = type(widget).__name__
    try:
        return {"text/plain": f"{name}: {summary(widget)}", "image/png": picture(widget)}
    except Exception as exc:  # displaying the live view never fails for the picture's sake
        return {"text/plain": f"{name} (no picture: {type(exc).__name__}: {exc})"}


def summary(widget: Any) -> str:
    """One line: the target, the methods computed so far, the sanity verdicts, or the error."""
    result = widget.result
    done, total = len(result["methods"]), len(result["names"])
    text = f"“{result['target_label']}”, {done} of {total} methods computed"
    checked = [method["sanity_passed"] for method in result["methods"] if method["sanity_passed"] is not None]
    if checked:
        text += f", {sum(checked)} of {len(checked)} pass the sanity check"
    if result["error"]:
        text += f"; failed: {result['error']}"
    elif done < total:
        text += " (the live view shows the rest)"
    return text


def picture(widget: Any) -> bytes:
    """The PNG: the input, then one column per method in the view's order, the computed ones drawn with
    their checks, the others empty and labelled."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from .. import plot  # matplotlib only when a picture is drawn

    compared = list(widget.compared)
    names = widget.result["names"]
    columns = 1 + len(names)
    with matplotlib.rc_context({"font.size": 7, "figure.dpi": DPI}):
        figure = matplotlib.figure.Figure(figsize=(COLUMN_INCHES * columns, HEIGHT_INCHES), dpi=DPI)
        FigureCanvasAgg(figure)
        axes = figure.subplots(1, columns, squeeze=False)[0]
        plot.method_comparison(compared, image=widget._x[0], axes=axes[: 1 + len(compared)])
        for ax, name in zip(axes[1 + len(compared) :], names[len(compared) :]):
            ax.set_title(name, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(0.5, 0.5, "not computed\nwhen displayed", ha="center", va="center", transform=ax.transAxes)
        figure.suptitle(f"target: {widget.result['target_label']}", fontsize=8, parse_math=False)
        figure.tight_layout(pad=0.3)
        return _png(figure)
