"""A saved notebook shows each explanation where no widget runs (GitHub, nbviewer without widget
state, a terminal): the explainer's output carries an image/png and a text/plain line beside the
widget view (ig_widget/widgets/static_picture.py). Executed with nbclient (no browser), read back
from disk, and rendered by nbconvert's plain HTML exporter as nbviewer would."""

from __future__ import annotations

import base64
import io
import json
import re

import nbformat
import pytest

pytestmark = pytest.mark.slow

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CELLS = [
    "import ig_widget as igw\n"
    "from ig_widget.examples import DIGIT_LABELS, train_digits_cnn\n"
    "model, images, labels = train_digits_cnn()\n"
    "image_view = igw.ImageExplainer(model, images[3], labels=DIGIT_LABELS)\n"
    "image_view.wait()\n"
    "image_view",
    "from ig_widget.text_examples import SentenceSimilarity, load_minilm\n"
    "encoder, tokenizer = load_minilm()\n"
    "similarity = SentenceSimilarity(encoder, tokenizer, ['a great film', 'the weather is cold'])\n"
    "text_view = igw.TextExplainer(similarity, tokenizer, 'The movie was wonderful', steps=16,\n"
    "                              labels=['a great film', 'the weather is cold'])\n"
    "text_view.wait()\n"
    "text_view",
]


def test_saved_notebook_carries_a_picture_of_each_explanation(tmp_path, artifacts):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("transformers")
    from PIL import Image

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)
    saved = nbformat.read(path, as_version=4)

    sizes = {}
    for cell, kind in zip(saved.cells, ("image", "text")):
        [shown] = [out for out in cell.outputs if out.output_type == "execute_result"]
        assert WIDGET_MIME in shown.data  # the live view is still what widget front ends render
        assert shown.data["text/plain"].startswith(("ImageExplainer: explaining", "TextExplainer: explaining"))
        assert "completeness gap" in shown.data["text/plain"]
        png = base64.b64decode(shown.data["image/png"])
        picture = Image.open(io.BytesIO(png))
        picture.save(artifacts / f"static_mime_{kind}.png")
        width, height = picture.size
        assert 200 <= width <= 600 and 100 <= height <= 300, picture.size
        assert len(picture.convert("RGB").getcolors(4096)) > 8  # a drawn map and text, not a blank
        sizes[kind] = len(shown.data["image/png"])  # base64 characters, as the .ipynb stores them
    # what the pictures add to the file, measured: the README quotes it
    without = json.loads(path.read_text())
    for cell in without["cells"]:
        for out in cell.get("outputs", []):
            out.get("data", {}).pop("image/png", None)
    added = len(path.read_text()) - len(json.dumps(without, indent=1))
    print(f"static pictures add {added} characters to the notebook: {sizes}")
    assert all(size < 40_000 for size in sizes.values()), sizes

    # nbviewer / GitHub with no widget state: the exported HTML shows the pictures
    from nbconvert import HTMLExporter

    saved.metadata.pop("widgets", None)  # nbclient saved the widget state; a static viewer has none
    html, _ = HTMLExporter().from_notebook_node(saved)
    assert len(re.findall(r'<img[^>]*src="data:image/png;base64,', html)) == 2
