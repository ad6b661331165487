"""Static HTML pages that show widgets with no kernel and no network.

A page holds the widgets' state in the standard Jupyter widget-state format (binary buffers
base64-inlined), each widget's front end (its `_esm` bundle) and a small in-page model
(`export_shim.js`) that gives a render function what anywidget would. What the browser can answer on
its own keeps working: the alpha slider, hover, and the targets computed before export. Anything that
needs the kernel says so in the widget.
"""

from __future__ import annotations

import base64
import html
import pathlib
from collections.abc import Iterable, Sequence
from typing import Any

import anywidget
from ipywidgets import Widget

from .page import PRECOMPUTED_TYPE, STATE_TYPE, page_scripts, view_script
from .schema import REQUEST_KEYS

__all__ = ["PRECOMPUTED_TYPE", "STATE_TYPE", "export_html", "export_notebook_html", "precomputed_results"]

PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 960px; padding: 0 1rem; }
.igw-note { color: #555; font-size: 0.9rem; border-left: 3px solid #999; padding-left: 0.6rem; }
.igw-cell { margin: 1.5rem 0; }
"""


def export_html(
    widgets: Widget | Sequence[Widget],
    path: str | pathlib.Path,
    *,
    title: str = "ig-widget",
    targets: Iterable[int] | str | None = "shown",
) -> pathlib.Path:
    """Write a self-contained page showing `widgets` (one or a list of anywidgets) to `path`.

    For explainer widgets, `targets` says which targets are computed in advance so that clicking them
    works in the page: "shown" (the outputs the view lists), a list of class indices, or None (only
    what the widget has already computed). Returns the path written.
    """
    from .widgets.model_watch import FollowsModel

    widgets = _as_widget_list(widgets)
    for widget in widgets:
        if isinstance(widget, FollowsModel):
            widget.refresh()  # a page must not keep maps of weights the model no longer has
        if _is_explainer(widget):
            widget.wait()  # a page saved mid-computation would show "computing" for ever
    state = Widget.get_manager_state(drop_defaults=False, widgets=widgets)
    precomputed = {
        widget.model_id: _precomputed(widget, targets) if _is_explainer(widget) else _answers_nothing(keys)
        for widget in widgets
        if (keys := REQUEST_KEYS.get(getattr(widget, "_view", None))) is not None
    }
    views = "\n".join(f'<div class="igw-cell">{view_script(widget.model_id)}</div>' for widget in widgets)
    body = (
        f"<h1>{html.escape(title)}</h1>\n"
        '<p class="igw-note">A static copy of the widgets: the alpha slider and hover work here, and so do '
        "the targets computed before export; anything else needs the notebook with a running kernel.</p>\n"
        f"{views}\n"
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n"
        f"{body}{page_scripts(state, precomputed)}\n</body>\n</html>\n"
    )
    target = pathlib.Path(path)
    target.write_text(page, encoding="utf-8")
    return target


def _as_widget_list(widgets: Widget | Sequence[Widget]) -> list[Widget]:
    items = [widgets] if isinstance(widgets, Widget) else list(widgets)
    for item in items:
        if not isinstance(item, anywidget.AnyWidget):
            raise TypeError(
                f"export_html got a {type(item).__name__}; it exports anywidget widgets (such as ImageExplainer), "
                "one or a list"
            )
    if not items:
        raise ValueError("export_html got an empty list; give at least one widget")
    return items


def _is_explainer(widget: Widget) -> bool:
    from .widgets.explainer import ExplainerWidget

    return isinstance(widget, ExplainerWidget)


def _answers_nothing(keys: Sequence[str]) -> dict:
    """A view's entry in the page's precomputed results when the page holds none besides the one saved
    with the widget: which changes need the kernel (schema.REQUEST_KEYS), so the page refuses them."""
    return {"keys": list(keys), "entries": []}


def _saved_views(node: Any) -> dict:
    """The request keys of every saved view of a notebook that the schema names, by model id."""
    saved = node.metadata.get("widgets", {}).get(STATE_TYPE, {}).get("state", {})
    return {
        model_id: _answers_nothing(REQUEST_KEYS[record["state"]["_view"]])
        for model_id, record in saved.items()
        if record.get("state", {}).get("_view") in REQUEST_KEYS
    }


def _precomputed(widget: Any, targets: Iterable[int] | str | None) -> dict:
    """Payloads for the requests the page can answer without a kernel: those the widget has already
    computed, plus `targets` at the current baseline, rule and steps (computed now, off the view:
    the widget's traits are not touched)."""
    payloads = widget.computed_payloads()
    if targets == "shown":
        targets = [output["index"] for output in widget.outputs]
    elif isinstance(targets, str):
        raise ValueError(f"targets={targets!r}; use 'shown', a list of class indices, or None")
    for target in targets or []:
        request = widget.current_request(target)
        if request not in payloads:
            payloads[request] = widget.compute_payload(request)
    entries = []
    for request, payload in payloads.items():
        state, paths, buffers = split_buffers({"result": payload, "status": "done", "error": "", "progress": 1.0})
        entries.append(
            {
                "request": request._asdict(),
                "state": state,
                "buffers": [
                    {"path": path, "encoding": "base64", "data": base64.b64encode(bytes(buffer)).decode("ascii")}
                    for path, buffer in zip(paths, buffers)
                ],
            }
        )
    return {"keys": list(widget.current_request()._fields), "entries": entries}


BINARY = (bytes, bytearray, memoryview)


def split_buffers(state: Any, path: list | None = None) -> tuple[Any, list[list], list]:
    """The Jupyter widget protocol's split of a state into JSON and binary buffers: (the state without
    its buffers, each buffer's path of keys and indices, the buffers). A buffer in a dict is left out,
    one in a list leaves None in its place, as ipywidgets sends them and export_shim.js puts them back."""
    path = path or []
    paths: list[list] = []
    buffers: list = []
    if isinstance(state, dict):
        kept: Any = {}
        for key, value in state.items():
            if isinstance(value, BINARY):
                paths.append([*path, key])
                buffers.append(value)
                continue
            kept[key], inner_paths, inner = split_buffers(value, [*path, key])
            paths += inner_paths
            buffers += inner
        return kept, paths, buffers
    if isinstance(state, (list, tuple)):
        kept = []
        for index, value in enumerate(state):
            if isinstance(value, BINARY):
                paths.append([*path, index])
                buffers.append(value)
                kept.append(None)
                continue
            item, inner_paths, inner = split_buffers(value, [*path, index])
            kept.append(item)
            paths += inner_paths
            buffers += inner
        return kept, paths, buffers
    return state, paths, buffers


def precomputed_results(widgets: Iterable[Widget], targets: Iterable[int] | str | None = "shown") -> dict:
    """Results for the explainer widgets among `widgets`, keyed by model id, computed as `export_html`
    computes them (`targets` as there): run it in the kernel that executed a notebook and give it to
    `export_notebook_html(..., precomputed=...)`, and the page switches between them too."""
    explainers = [widget for widget in widgets if _is_explainer(widget)]
    for widget in explainers:
        widget.refresh()
        widget.wait()
    return {widget.model_id: _precomputed(widget, targets) for widget in explainers}


def export_notebook_html(
    notebook: str | pathlib.Path, path: str | pathlib.Path, *, precomputed: dict | None = None
) -> pathlib.Path:
    """Convert an executed notebook to a page whose widgets render offline from its saved widget state
    (nbconvert's own page would fetch a widget manager from a CDN; this one needs no network). Each
    explainer shows the result it was saved with; `precomputed` (from `precomputed_results()` in the
    kernel that ran the notebook) adds the results a click can switch to."""
    import nbformat

    from .offline_html import OfflineHTMLExporter

    node = nbformat.read(str(notebook), as_version=4)
    if STATE_TYPE not in node.metadata.get("widgets", {}):
        raise ValueError(
            f"{notebook} has no saved widget state; execute it with widget state stored "
            "(nbclient: store_widget_state=True; JupyterLab: Save Widget State Automatically)"
        )
    answers = {**_saved_views(node), **(precomputed or {})}  # every saved view says which changes need a kernel
    body, _ = OfflineHTMLExporter(precomputed=answers).from_notebook_node(node)
    target = pathlib.Path(path)
    target.write_text(body, encoding="utf-8")
    return target
