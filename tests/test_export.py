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
    assert not re.search(r'src="https?://|href="https?://|import\(["\']https?://', page), (
        "the page loads from the network"
    )


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


def test_buffers_split_as_the_widget_protocol_splits_them(explainer):
    """export's own split of a state into JSON and binary buffers equals ipywidgets' (private) one."""
    from ipywidgets.widgets.widget import _remove_buffers

    state = {"result": explainer.result, "list": [b"ab", {"x": memoryview(b"cd")}, 3], "status": "done"}
    ours, theirs = export.split_buffers(state), _remove_buffers(state)
    assert ours[0] == theirs[0] and ours[1] == theirs[1]
    assert [bytes(b) for b in ours[2]] == [bytes(b) for b in theirs[2]] and ours[2]


def test_export_goes_through_public_methods_only():
    """No attribute with a leading underscore (the widget's cache, its compute hooks, ipywidgets'
    private helpers) is read in export.py; a request's `_asdict` and `_fields` are named-tuple API."""
    import ast
    import pathlib

    tree = ast.parse(pathlib.Path(export.__file__).read_text(encoding="utf-8"))
    private = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and node.attr not in ("_asdict", "_fields")
    ]  # a named tuple's public API
    private += [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []


def test_computed_payloads_and_compute_payload_leave_the_view_alone(explainer):
    explainer.wait()
    before = dict(explainer.computed_payloads())
    shown = explainer.result
    other = next(row["index"] for row in explainer.outputs if row["index"] != explainer.target)
    request = explainer.current_request(other)
    payload = explainer.compute_payload(request)
    assert payload["target"] == other and explainer.result is shown
    assert explainer.computed_payloads().keys() == before.keys()
    assert request._asdict() == {
        "target": other,
        "baseline": explainer.baseline,
        "rule": explainer.rule,
        "steps": explainer.steps,
    }
