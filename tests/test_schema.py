"""The Python-to-JavaScript contract (ig_widget/schema.py): real payloads hold to their schemas, the
widgets send the constants the views need, and the fixtures the JS tests load are written here from
real widgets and are current.

    .venv/bin/python tests/test_schema.py   # rewrites js/test/fixtures/{contract,image,text,outputs,arrays}.json

The JS tests (js/test/helpers.js) build their models from these files, so a payload key or a constant
changed in Python fails the vitest suite until the views follow, and a view that reads a key the
schema does not define fails there too (helpers.js's `readKeys`).
"""

from __future__ import annotations

import base64
import json
import pathlib

import pytest
import torch
from fixture_compare import assert_fixture_current
from torch import nn

from ig_widget import schema
from ig_widget.encode import decode_array, encode_array

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "js" / "test" / "fixtures"
HOSTILE = ["<script>window.__pwned = 1</script>", '<img src=x onerror="window.__pwned = 2">', "&amp;", "🙂"]
VIEW_STATE = ("choices", "limits", "palette")


# ---------------------------------------------------------------- small real widgets


def image_widget(target: int = 1, top_k: int = 2):
    from ig_widget.widgets.image import ImageExplainer

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 6 * 8, 5))
    image = torch.rand(3, 6, 8, generator=torch.Generator().manual_seed(1))
    widget = ImageExplainer(
        model, image, labels=["zero", "cat <b>", "two", "three", "dog"], target=target, steps=4, top_k=top_k
    )
    widget.wait()
    return widget


def grid_widget():
    """An image wider than the views draw (MAX_DISPLAY_SIDE): maps, trace and image on a grid of 2 x 2
    blocks of input pixels (8 x 260 pixels drawn as 4 x 130 cells)."""
    from ig_widget.widgets.display_grid import MAX_DISPLAY_SIDE
    from ig_widget.widgets.image import ImageExplainer

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 2, 3, padding=1), nn.Tanh(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(8, 3)
    )
    image = torch.rand(3, 8, MAX_DISPLAY_SIDE + 4, generator=torch.Generator().manual_seed(2))
    widget = ImageExplainer(model, image, labels=["a", "b", "c"], target=1, steps=4, top_k=1)
    widget.wait()
    return widget


class TokenBag(nn.Module):
    """Mean of token embeddings, then a linear head: linear along the path, so IG is exact."""

    def __init__(self, vocabulary: int, classes: int):
        super().__init__()
        torch.manual_seed(0)
        self.embed, self.head = nn.Embedding(vocabulary, 4), nn.Linear(4, classes)

    def forward(self, input_ids, attention_mask=None):
        return self.head(self.embed(input_ids).mean(dim=1))


class CausalBag(nn.Module):
    def __init__(self, vocabulary: int):
        super().__init__()
        torch.manual_seed(0)
        self.embed, self.out = nn.Embedding(vocabulary, 8), nn.Linear(8, vocabulary)

    def forward(self, input_ids, attention_mask=None):
        return self.out(self.embed(input_ids).cumsum(dim=1))  # position t sees tokens up to t


def wordpiece(vocabulary: list[str]):
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    ids = {token: index for index, token in enumerate(vocabulary)}
    level = tokenizers.Tokenizer(tokenizers.models.WordPiece(ids, unk_token="[UNK]"))
    level.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    level.post_processor = tokenizers.processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])]
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=level, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"
    )


class HostileTokenizer:
    """Token strings that are markup: the text is those tokens joined by spaces."""

    tokens = ["[PAD]", *HOSTILE]
    pad_token, pad_token_id = "[PAD]", 0
    all_special_ids = [0]

    def __call__(self, texts, **options):
        texts = [texts] if isinstance(texts, str) else texts
        rows = [[self.tokens.index(token) for token in self._split(text)] for text in texts]
        return {
            "input_ids": torch.tensor(rows),
            "attention_mask": torch.ones(len(rows), len(rows[0]), dtype=torch.long),
        }

    def _split(self, text):
        found, rest = [], text
        while rest:
            token = next(t for t in self.tokens[1:] if rest.startswith(t))
            found.append(token)
            rest = rest[len(token) :].lstrip(" ")
        return found

    def convert_ids_to_tokens(self, ids):
        return [self.tokens[i] for i in ids]

    def decode(self, ids):
        return " ".join(self.convert_ids_to_tokens(ids))


BASE = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]


def text_widgets() -> dict:
    import ig_widget as igw

    words = [*BASE, "un", "##believ", "##able", "film"]
    classifier = igw.TextExplainer(
        TokenBag(len(words), 2),
        wordpiece(words),
        "unbelievable film",
        labels=["label 0", HOSTILE[1]],
        target=0,
        steps=4,
    )
    hostile = HostileTokenizer()
    markup = igw.TextExplainer(
        TokenBag(len(hostile.tokens), 2),
        hostile,
        " ".join(HOSTILE),
        labels=["safe", HOSTILE[1]],
        steps=4,
        baseline="zero",
    )
    story = [*BASE, "the", "dog", "ran", "to", "park"]
    language = igw.TextExplainer(
        CausalBag(len(story)), wordpiece(story), "the dog ran to the", position=-2, steps=4, baseline="zero"
    )
    many = [*BASE, *(f"w{i}" for i in range(510))]
    long = igw.TextExplainer(TokenBag(len(many), 2), wordpiece(many), " ".join(many[4:]), steps=4)
    widgets = {"classifier": classifier, "hostile": markup, "next_token": language, "long": long}
    for widget in widgets.values():
        widget.wait()
    return widgets


# ---------------------------------------------------------------- the fixtures


def jsonable(value):
    """bytes as {"base64": ...} (helpers.js turns them back into the DataView a kernel sends)."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def view_state(widget) -> dict:
    """What a view reads besides `result`: the kernel's traits as the widget sends them."""
    names = [*VIEW_STATE, "outputs", "target", "baseline", "rule", "steps", "sign", "clip"]
    return {name: getattr(widget, name) for name in names}


def image_fixture() -> dict:
    first, second = image_widget(1), image_widget(4)
    grid = grid_widget().result
    guided = image_widget(1)
    guided.path = "guided"
    guided.wait()
    payload = first.result
    # what the kernel sends for a large image's trace (int8, a scale per step; payload.signed_maps)
    int8_trace = {
        **payload,
        "trace": {
            **payload["trace"],
            **{
                name: encode_array(decode_array(payload["trace"][name]), dtype="int8", per_slice=True)
                for name in ("gradients", "cumulative")
            },
        },
    }
    return jsonable(
        {
            "state": {
                **view_state(first),
                "display": first.display,
                "opacity": first.opacity,
                "path": first.path,
                "idgi": first.idgi,
            },
            "payloads": {
                "1": payload,
                "4": second.result,
                "int8_trace": int8_trace,
                "grid": grid,
                "guided": guided.result,
            },
            "outputs_4": second.outputs,
            "outputs_all": image_widget(1, top_k=5).outputs,  # every class, as the outputs list sends them
        }
    )


def outputs_fixture() -> dict:
    """Outputs rows as the explainers send them (widgets/outputs.output_rows), one list per kind of score:
    class logits as probabilities, logits whose probabilities print as 100% / 0%, a language model's
    log-probabilities, raw scores (similarities), and a single zero score."""
    from ig_widget.widgets.outputs import output_rows

    def rows(scores, kind, labels, target=0, score_name="logit", probabilities=None):
        scores = torch.tensor(scores, dtype=torch.float32)
        if probabilities is None:
            probabilities = scores.softmax(0) if score_name == "logit" else scores.exp()
        return output_rows(scores, probabilities, kind, len(labels), target, labels.__getitem__, score_name)

    return {
        "probability": rows([4.2, 1.1, 0.3], "probability", ["cat", "dog", "bird"], target=1),
        "saturated": rows([21.5, 9.25], "probability", ["seven", "one"]),
        "log_probability": rows([-0.0004, -8.2], "probability", ["park", "zoo"], score_name="log-probability"),
        "score": rows([0.62, -0.31, 0.155], "score", ["a great film", "cold weather", "a sunny day"]),
        "zero": rows([0.0], "score", ["zero"]),
    }


def text_fixture() -> dict:
    widgets = text_widgets()
    classifier = widgets["classifier"]
    first = classifier.result
    classifier.target = 1
    classifier.wait()
    return jsonable(
        {
            "state": {**view_state(classifier), "target": 0, "granularity": "tokens"},
            "payloads": {
                "0": first,
                "1": classifier.result,
                **{name: widgets[name].result for name in ("hostile", "next_token", "long")},
            },
            "outputs": {name: widgets[name].outputs for name in ("hostile",)},
        }
    )


def arrays_fixture() -> dict:
    """Arrays as encode.encode_array sends them, each with its source values and what decode_array reads
    back: the encodings the views decode (js/src/decode.js)."""
    import numpy as np

    def case(values, dtype, per_slice=False):
        values = np.asarray(values, dtype=np.float64)
        encoded = encode_array(values, dtype=dtype, per_slice=per_slice)
        return {"values": values.tolist(), "payload": encoded, "decoded": decode_array(encoded).tolist()}

    return jsonable(
        {
            "float32": case([1.5, -2.25, 3.0, 1e-8], "float32"),
            "float16": case([1.0, -2.0, 1 / 3, 2.0**-24, 65504.0], "float16"),  # the largest half
            "int8": case([[-12.7, 0.0], [12.7, 0.5]], "int8"),  # one symmetric scale
            "int8_per_slice": case([[0.001, -0.002, 0.0005, 0.0], [50.0, -100.0, 25.0, 3.0]], "int8", per_slice=True),
            "uint8_per_slice": case([[0.0, 127.5], [5.0, 10.0], [10.0, 520.0]], "uint8", per_slice=True),
        }
    )


WRITERS = {
    "contract": schema.describe,
    "image": image_fixture,
    "text": text_fixture,
    "outputs": outputs_fixture,
    "arrays": arrays_fixture,
}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_js_fixtures_are_current(name):
    written = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    assert_fixture_current(written, json.loads(json.dumps(WRITERS[name]())), f".venv/bin/python {__file__}")


# ---------------------------------------------------------------- the payloads hold to their schemas


def test_image_payloads_hold_to_their_schema():
    widget = image_widget()
    schema.check_payload(widget.result)
    grid = grid_widget().result
    schema.check_payload(grid)  # on a grid of blocks
    assert grid["cell"] == [2, 2] and (grid["height"], grid["width"]) == (4, 130) == (
        grid["map_height"],
        grid["map_width"],
    )
    for row in widget.outputs:
        schema.check_output_row(row)
    widget.path = "blur"
    widget.wait()
    schema.check_payload(widget.result)  # with path_images


def test_text_payloads_hold_to_their_schema():
    for widget in text_widgets().values():
        schema.check_payload(widget.result)
        for row in widget.outputs:
            schema.check_output_row(row)


def test_the_outputs_rows_of_the_fixture_hold_to_their_schema():
    for rows in outputs_fixture().values():
        for row in rows:
            schema.check_output_row(row)


def test_generation_payloads_hold_to_their_schema():
    import ig_widget as igw

    story = [*BASE, "the", "dog", "ran", "to", "park"]
    widget = igw.GenerationExplainer(CausalBag(len(story)), wordpiece(story), "the dog", max_new_tokens=2, steps=4)
    widget.wait()
    schema.check_payload(widget.result)
    widget.selected = 1
    widget.alternative = next(
        row["index"] for row in widget.result["alternatives"][1] if row["index"] != widget.result["chosen_tokens"][1]
    )
    widget.target_kind = "contrast"
    widget.wait()
    schema.check_payload(widget.result)  # with its contrast


def test_a_payload_off_its_schema_is_named():
    payload = dict(image_widget().result)
    payload["heat"] = 1
    with pytest.raises(ValueError, match=r"keys not in the schema \['heat'\]"):
        schema.check_payload(payload)
    del payload["heat"], payload["channels"]
    with pytest.raises(ValueError, match=r"keys missing \['channels'\]"):
        schema.check_payload(payload)
    payload["channels"] = "3"
    with pytest.raises(ValueError, match="image.channels = str is not a int"):
        schema.check_payload(payload)


def test_every_view_gets_its_constants_from_the_kernel():
    import ig_widget as igw

    image = image_widget()
    assert image.choices["sign"] == list(schema.SIGN_MODES)
    assert image.choices["display"] == list(schema.DISPLAY_MODES)
    assert image.palette == schema.palette() and image.limits == schema.limits()
    text = text_widgets()["classifier"]
    assert text.choices["granularity"] == list(schema.GRANULARITIES) and text.palette == schema.palette()
    story = [*BASE, "the", "dog", "ran", "to", "park"]
    generation = igw.GenerationExplainer(CausalBag(len(story)), wordpiece(story), "the dog", max_new_tokens=1, steps=2)
    assert generation.palette == schema.palette() and generation.choices["sign"] == list(schema.SIGN_MODES)
    assert generation.limits == schema.limits()
    assert generation.result["scales"] == list(schema.MATRIX_SCALES)


def test_the_figures_draw_with_the_views_palette():
    from matplotlib import colors

    from ig_widget import plot

    assert colors.to_hex(plot.DIVERGING(0.0)) == schema.DIVERGING[0]
    assert colors.to_hex(plot.SEQUENTIAL(1.0)) == schema.SEQUENTIAL[-1]
    assert plot.SIGNS == schema.SIGN_MODES and plot.DISPLAY_MODES == schema.DISPLAY_MODES
    attributions = torch.zeros(6, 6)
    attributions[2:4, 2:4] = 1.0
    fig, ax = plot.image_heatmap(attributions.numpy(), image=torch.zeros(6, 6).numpy(), display="outline")
    edges = [c for c in ax.collections if len(c.get_paths())]  # the outline's contour
    assert edges and colors.to_hex(edges[0].get_edgecolor()[0]) == schema.OUTLINE_COLOUR
    assert schema.palette()["outline"] == schema.OUTLINE_COLOUR  # the views draw it from the palette trait


def test_no_view_constant_is_copied_into_the_frontend():
    """The lists and colours the kernel sends appear nowhere in js/src as literals."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in (FIXTURES.parents[1] / "src").rglob("*.js"))
    for values in (schema.SIGN_MODES, schema.DISPLAY_MODES, schema.GRANULARITIES, schema.MATRIX_SCALES):
        literal = ", ".join(f'"{value}"' for value in values)
        assert f"[{literal}]" not in source, values
    colours = (*schema.DIVERGING, *schema.SEQUENTIAL, schema.OUTLINE_COLOUR)
    for colour in colours:
        red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert colour not in source.lower() and f"[{red}, {green}, {blue}]" not in source, colour
    package = pathlib.Path(schema.__file__).parent
    for path in package.rglob("*.py"):  # nor into another Python module (plot.py, the gallery's payload)
        if path.name != "schema.py":
            text = path.read_text(encoding="utf-8").lower()
            assert not [c for c in colours if c in text], path


def test_request_keys_are_the_views_requests():
    """The traits a static page must not let stand without a result: an explainer's Request fields, the
    generation view's request traits; the offline page's fallback (for pages nbconvert writes without
    them) is the explainers'."""
    import re

    import ig_widget as igw
    from ig_widget.widgets.explainer import Request

    assert schema.REQUEST_KEYS["image"] == schema.REQUEST_KEYS["text"] == Request._fields
    assert schema.describe()["request_keys"]["generation"] == list(schema.REQUEST_KEYS["generation"])
    synced = igw.GenerationExplainer.class_trait_names(sync=True)
    assert set(schema.REQUEST_KEYS["generation"]) <= set(synced)
    shim = (pathlib.Path(schema.__file__).parent / "export_shim.js").read_text(encoding="utf-8")
    assert "REQUEST_KEYS_TYPE" in shim and '"target", "baseline"' not in shim  # no copy of the keys
    from ig_widget.page import REQUEST_KEYS_TYPE, page_scripts

    (written,) = re.findall(rf'<script type="{re.escape(REQUEST_KEYS_TYPE)}">(.*?)</script>', page_scripts(None))
    assert json.loads(written) == {view: list(keys) for view, keys in schema.REQUEST_KEYS.items()}


def test_the_contract_imports_only_the_standard_library():
    """Every layer may read the contract: it imports nothing of the package, nor numpy, torch or Jupyter."""
    import ast

    tree = ast.parse(pathlib.Path(schema.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {(node.module or ".").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "collections", "typing"}, imported


if __name__ == "__main__":
    FIXTURES.mkdir(exist_ok=True)
    for name, write in WRITERS.items():
        (FIXTURES / f"{name}.json").write_text(json.dumps(jsonable(write()), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {FIXTURES / name}.json")
