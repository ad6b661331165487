"""An nbconvert exporter whose pages show a notebook's widgets offline.

nbconvert's own HTML fetches a widget manager from a CDN; this one leaves out every remote script
(require.js, MathJax, Mermaid, the widget manager) and renders the saved widget state with the
in-page model of `export_shim.js`. From the command line:

    jupyter nbconvert --to ig_widget_html executed.ipynb
"""

from __future__ import annotations

import jinja2
from nbconvert import HTMLExporter
from traitlets import Dict, default

from .page import page_scripts

TEMPLATE_NAME = "igw_offline.html.j2"
TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block footer_js %}{{ resources.igw_page_scripts }}{% endblock footer_js %}
"""


class OfflineHTMLExporter(HTMLExporter):
    """HTML (JupyterLab look) with the widgets rendered from the notebook's saved state, no network.
    Each explainer shows the result it was saved with; `precomputed` (see
    `ig_widget.export.precomputed_results`) adds others its outputs list can switch to."""

    export_from_notebook = "HTML, widgets offline"
    precomputed = Dict(help="precomputed explainer results by model id, as export.precomputed_results gives")

    @default("template_name")
    def _template_name_default(self) -> str:
        return "lab"

    @default("template_file")
    def _template_file_default(self) -> str:
        return TEMPLATE_NAME

    @default("extra_loaders")
    def _extra_loaders_default(self) -> list:
        return [jinja2.DictLoader({TEMPLATE_NAME: TEMPLATE})]

    def from_notebook_node(self, nb, resources=None, **kw):
        resources = dict(resources or {}, igw_page_scripts=page_scripts(None, self.precomputed))
        return super().from_notebook_node(nb, resources, **kw)
