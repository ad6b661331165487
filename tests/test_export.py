"""What a static page carries, read back without a browser: the widget state with its buffers, the
front end, the precomputed targets, and nothing fetched from the network."""

from __future__ import annotations

import base64
import json
import re

import pytest

import ig_widget as igw
from ig_widget import export
from ig_widget.encode import decode_array
from ig_widget.examples import DIGIT_LABELS


def scripts(page: str, kind: str) -> list:
    found = re.findall(rf'<script type="{re.escape(kind)}">(.*?)</script>', page, re.S)
    return [json.loads(text.replace("<\\/", "</")) for text in found]


@pytest.fixture(scope="module")
def explainer(digits):
    model, images, _ = digits
    widget = igw.ImageExplainer(model, images[0], labels=DIGIT_LABELS, steps=8)
    widget.wait()
    return widget


def test_page_carries_state_buffers_bundle_and_precomputed_targets(explainer, tmp_path):
    page = igw.export_html(explainer, tmp_path / "page.html", title="digits").read_text()
    (state,) = scripts(page, export.STATE_TYPE)
    record = state["state"][explainer.model_id]
    assert record["state"]["_esm"] == explainer.get_state()["_esm"]  # the front end travels with the page
    buffers = {tuple(b["path"]): base64.b64decode(b["data"]) for b in record["buffers"]}
    assert buffers[("result", "image", "data")] == explainer.result["image"]["data"]

    (precomputed,) = scripts(page, export.PRECOMPUTED_TYPE)
    entries = precomputed[explainer.model_id]["entries"]
    assert sorted(e["request"]["target"] for e in entries) == sorted(o["index"] for o in explainer.outputs)
    assert all(e["request"]["steps"] == 8 and e["request"]["baseline"] == "black" for e in entries)
    other = next(e for e in entries if e["request"]["target"] != explainer.target)
    payload = other["state"]["result"]
    for buffer in other["buffers"]:
        holder = payload
        for key in buffer["path"][1:-1]:
            holder = holder[key]
        holder[buffer["path"][-1]] = base64.b64decode(buffer["data"])
    assert payload["target"] == other["request"]["target"]
    assert decode_array(payload["attributions"]).shape == (8, 8)
    assert not re.search(r'src="https?://|href="https?://|import\(["\']https?://', page), "the page loads from the network"


def test_export_leaves_the_widget_as_it_was(explainer, tmp_path):
    before = {name: getattr(explainer, name) for name in ("target", "baseline", "rule", "steps", "status")}
    result = explainer.result
    igw.export_html(explainer, tmp_path / "page.html", targets=[0, 1, 2])
    assert {name: getattr(explainer, name) for name in before} == before
    assert explainer.result is result


def test_markup_in_state_cannot_close_its_script(tmp_path, explainer):
    page = igw.export_html(explainer, tmp_path / "page.html", title="</script><script>alert(1)</script>").read_text()
    assert "</script><script>alert(1)" not in page
    assert "&lt;/script&gt;" in page  # the title is escaped text


def test_bad_arguments_are_named(tmp_path, explainer):
    with pytest.raises(TypeError, match="export_html got a str"):
        igw.export_html("not a widget", tmp_path / "page.html")
    with pytest.raises(ValueError, match="empty list"):
        igw.export_html([], tmp_path / "page.html")
    with pytest.raises(ValueError, match="targets='all'"):
        igw.export_html(explainer, tmp_path / "page.html", targets="all")
    with pytest.raises(ValueError, match="no saved widget state"):
        notebook = tmp_path / "plain.ipynb"
        notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
        igw.export_notebook_html(notebook, tmp_path / "plain.html")


def test_export_waits_for_a_computation_in_flight(digits, tmp_path):
    model, images, _ = digits
    widget = igw.ImageExplainer(model, images[1], labels=DIGIT_LABELS, steps=1024)  # still computing on return
    page = igw.export_html(widget, tmp_path / "page.html", targets=None).read_text()
    record = scripts(page, export.STATE_TYPE)[0]["state"][widget.model_id]
    assert record["state"]["status"] == "done"
    assert record["state"]["result"]["steps"] == 1024


def test_a_notebook_page_carries_the_precomputed_results_it_is_given(explainer, tmp_path):
    """What the demo does: results gathered in the kernel that ran the notebook (precomputed_results)
    go into the notebook's page, so its outputs list can switch offline."""
    import nbformat

    gathered = export.precomputed_results([explainer, "not a widget"])
    assert list(gathered) == [explainer.model_id]
    assert explainer.model_id in gathered
    mine = gathered[explainer.model_id]
    assert sorted(e["request"]["target"] for e in mine["entries"]) == sorted(o["index"] for o in explainer.outputs)
    book = nbformat.v4.new_notebook()
    book.metadata["widgets"] = {export.STATE_TYPE: {"version_major": 2, "version_minor": 0, "state": {}}}
    notebook = tmp_path / "saved.ipynb"
    nbformat.write(book, notebook)
    page = igw.export_notebook_html(notebook, tmp_path / "saved.html", precomputed=gathered).read_text()
    (embedded,) = scripts(page, export.PRECOMPUTED_TYPE)
    assert embedded[explainer.model_id] == json.loads(json.dumps(mine))
    plain = igw.export_notebook_html(notebook, tmp_path / "plain.html").read_text()
    assert scripts(plain, export.PRECOMPUTED_TYPE) == []
