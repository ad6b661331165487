"""The parts of a static page that show widgets without a kernel: the script elements that carry the
widget state, the precomputed results and the view placeholders, and the in-page model
(`export_shim.js`) that renders them. Used by `export.export_html` and by the nbconvert exporter in
`offline_html`.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from .schema import REQUEST_KEYS

SHIM = pathlib.Path(__file__).with_name("export_shim.js")
STATE_TYPE = "application/vnd.jupyter.widget-state+json"
VIEW_TYPE = "application/vnd.jupyter.widget-view+json"
PRECOMPUTED_TYPE = "application/vnd.ig-widget.precomputed+json"
REQUEST_KEYS_TYPE = "application/vnd.ig-widget.request-keys+json"


def view_script(model_id: str) -> str:
    """The placeholder the shim replaces with the widget's view (the same tag nbconvert writes)."""
    return _json_script(VIEW_TYPE, {"version_major": 2, "version_minor": 0, "model_id": model_id})


def page_scripts(state: dict | None, precomputed: dict | None = None) -> str:
    """The data and the shim that render every view placeholder of a page. Every page carries
    schema.REQUEST_KEYS (which changes of each view need the kernel), so the shim copies none."""
    parts = [] if state is None else [_json_script(STATE_TYPE, state)]
    parts.append(_json_script(REQUEST_KEYS_TYPE, {view: list(keys) for view, keys in REQUEST_KEYS.items()}))
    if precomputed:
        parts.append(_json_script(PRECOMPUTED_TYPE, precomputed))
    parts.append(f'<script type="module">\n{_safe_script(SHIM.read_text(encoding="utf-8"))}\n</script>')
    return "\n".join(parts)


def _json_script(kind: str, data: Any) -> str:
    return f'<script type="{kind}">{_safe_script(json.dumps(data))}</script>'


def _safe_script(text: str) -> str:
    """Script content that cannot end its <script> element early (`</` never appears as is)."""
    return text.replace("</", "<\\/")
