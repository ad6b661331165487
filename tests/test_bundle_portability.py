"""The built bundle (ig_widget/static/widget.js) holds nothing that breaks it outside JupyterLab.

VS Code's notebooks and Colab run anywidget's ES module from a Blob URL beside other outputs: no
requirejs/AMD there (Colab has none, VS Code's renderer has its own), no network (a CDN load fails
offline and in VS Code's sandboxed webview), and no CSS that reaches outside the widget (a page's or a
neighbour output's look must not change). Checked on the built file, which is what a front end gets.
"""

from __future__ import annotations

import re

import pytest

from ig_widget.widgets.explainer import BUNDLE

# The only URLs allowed in the bundle: XML namespaces, which name and never load anything.
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml", "http://www.w3.org/1999/xlink"}
MAX_BUNDLE_BYTES = 150_000  # saved notebooks carry a copy in their widget state


def top_level_parts(selectors: str) -> list[str]:
    """A selector list split at its top-level commas (not those inside :is(...) or [...])."""
    parts, depth, start = [], 0, 0
    for at, char in enumerate(selectors):
        depth += char in "(["
        depth -= char in ")]"
        if char == "," and depth == 0:
            parts.append(selectors[start:at])
            start = at + 1
    return parts + [selectors[start:]]


@pytest.fixture(scope="module")
def bundle() -> str:
    assert BUNDLE.exists(), f"{BUNDLE} is missing: build the frontend (cd js && npm run build)"
    return BUNDLE.read_text()


def test_an_es_module_with_a_render_and_no_amd(bundle):
    assert re.search(r"export\s*\{[^}]*\bas default\b[^}]*\}\s*;?\s*$", bundle), "no ES default export at the end"
    for amd in ("requirejs", "require(", "define(", "define.amd", "module.exports", "__webpack_require__"):
        assert amd not in bundle, f"the bundle uses {amd!r}: front ends without requirejs (Colab, VS Code) fail"


def test_nothing_is_fetched(bundle):
    urls = set(re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"'`)]*", bundle))
    assert urls <= NAMESPACES, f"the bundle names URLs it may load: {sorted(urls - NAMESPACES)}"
    for loader in ("import(", "importScripts", "fetch(", "XMLHttpRequest", "WebSocket(", "@import", "url(http"):
        assert loader not in bundle, f"the bundle loads something at run time ({loader!r})"


def test_css_stays_inside_the_widget(bundle):
    for global_write in (
        "document.head",
        "adoptedStyleSheets",
        "document.body.append",
        "document.body.style",
        "document.documentElement.style",
        "insertRule",
    ):
        assert global_write not in bundle, f"the bundle writes page-wide ({global_write!r})"
    sheets = [
        sheet for sheet in re.findall(r"`([^`]*)`", bundle) if re.search(r"^\s*\.igw[\w-]*\s*[{,:\[ ]", sheet, re.M)
    ]
    assert sheets, "found no style sheet in the bundle (did styles.js change shape?)"
    for sheet in sheets:
        assert "@" not in sheet, "at-rules (@import, @font-face, @media on :root) are not checked here: scope them"
        for selectors in re.findall(r"([^{}]+)\{", re.sub(r"/\*.*?\*/", "", sheet, flags=re.S)):
            for selector in top_level_parts(selectors):
                assert selector.strip().startswith(".igw"), f"CSS rule {selector.strip()!r} reaches outside .igw"


def test_small_enough_to_travel_in_saved_notebooks(bundle):
    assert len(bundle.encode()) < MAX_BUNDLE_BYTES, f"{BUNDLE} is {len(bundle.encode())} bytes"
