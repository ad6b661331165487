"""The contract between the kernel and the browser views, written once.

Two parts:

- **Constants the views need** (menus, palettes, which display modes blend or show a legend). The
  widgets send them in their `choices`, `limits` and `palette` traits; `js/src` holds no copy.
  `plot.py` draws the same figures from the same constants.
- **One schema per payload kind** (`PAYLOADS`): each key of a widget's `result` trait with its wire
  type. `check_payload` holds a payload to its schema (the widget tests do, on real payloads), and the
  fixtures the JS tests load are written by Python from real widgets (`tests/test_schema.py`), so a key
  renamed on one side fails the other side's tests.

Wire types: "str", "int", "float", "bool", "array" (an `encode.encode_array` dict: dtype, shape, scale,
offset, data bytes), "image" (the same, uint8 H x W x 3), a nested schema (a dict), "list[T]",
"T|null". Only the standard library is imported here: every layer may read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# -- constants the views and the figures share -----------------------------------------------------
SIGN_MODES = ("both", "positive", "negative", "absolute")  # which part of a map is coloured
DISPLAY_MODES = ("overlay", "heat", "masked", "outline")  # the image view's display (README: why heat)
BLENDED_DISPLAYS = ("overlay",)  # the display modes drawn with the opacity control
LEGEND_DISPLAYS = ("overlay", "heat")  # the display modes coloured by the palette (the legend shows it)
GRANULARITIES = ("tokens", "words")  # text units: subword tokens, or words (sums of their tokens)
MATRIX_SCALES = ("shared", "row")  # generation matrix colours: one scale for every row, or each row its own
MAX_STEPS = 1024  # the views' steps control (a walk's own limit is larger: attribution.options)
# The traits whose change the kernel answers with a new result, by view (`_view`): an explainer's Request
# (widgets/explainer.py), the generation view's request. A static page answers a change of these from
# the results it holds or refuses it; any other change is the view's own (export.py, export_shim.js).
REQUEST_KEYS = {
    "image": ("target", "baseline", "rule", "steps"),
    "text": ("target", "baseline", "rule", "steps"),
    "generation": ("target_kind", "alternative", "baseline", "rule", "steps"),
    "comparison": ("target",),  # MethodComparison (widgets/comparison.py)
}
CLIP_RANGE = (50.0, 100.0)  # the clip percentile of attribution mass

# Colour lookup anchors, interpolated evenly (256 entries). Signed maps: ColorBrewer PuOr, reversed so
# that positive is orange, without its darkest class at each end (both ends stay visible over a dimmed
# image and on a dark theme). Magnitudes: viridis anchors. The path chart's score and sum lines take
# the diverging palette's orange and purple.
DIVERGING = ("#542788", "#8073ac", "#b2abd2", "#d8daeb", "#f7f7f7", "#fee0b6", "#fdb863", "#e08214", "#b35806")
SEQUENTIAL = (
    "#440154",
    "#482878",
    "#3e4989",
    "#31688e",
    "#26828e",
    "#1f9e89",
    "#35b779",
    "#6ece58",
    "#b5de2b",
    "#fde725",
)
SCORE_COLOUR, SUM_COLOUR = "#e08214", "#8073ac"
# The edge of the most attributed region (the "outline" display, plot.py's outline): a red-orange in
# neither palette (CIELAB distance 39 to the nearest colour of either table; amber #ffb000 was 21 from
# PuOr's orange), reading on dark and light pixels alike.
OUTLINE_COLOUR = "#ff4000"
OUTLINE_MASS = 0.5  # the outline display encloses the pixels holding this share of the attribution mass


def palette() -> dict:
    """The `palette` trait every view reads its colours from."""
    return {
        "diverging": list(DIVERGING),
        "sequential": list(SEQUENTIAL),
        "score": SCORE_COLOUR,
        "sum": SUM_COLOUR,
        "outline": OUTLINE_COLOUR,
        "outline_mass": OUTLINE_MASS,
        "legend_displays": list(LEGEND_DISPLAYS),
        "blended_displays": list(BLENDED_DISPLAYS),
    }


def limits() -> dict:
    """The `limits` trait: the ranges the kernel's validators accept."""
    return {"steps": {"min": 1, "max": MAX_STEPS}, "clip": {"min": CLIP_RANGE[0], "max": CLIP_RANGE[1]}}


# -- payload schemas ----------------------------------------------------------------------------------
DIAGNOSIS = {"kind": "str", "alpha_from": "float", "alpha_to": "float", "share": "float", "message": "str"}
COMPLETENESS = {
    "score": "float",
    "baseline_score": "float",
    "total": "float",
    "gap": "float",
    "relative_gap": "float",
    "rounding": "float",
    "within_rounding": "bool",
    "diagnosis": (DIAGNOSIS, "null"),
}
TRACE = {
    "alphas": "array",
    "weights": "array",
    "scores": "array",
    "gradients": "array",
    "cumulative": "array",
    "cumulative_total": "array",
}
OUTPUT_ROW = {"index": "int", "label": "str", "score": "float", "kind": "str"}
OUTPUT_ROW_OPTIONAL = {"probability": "float", "score_name": "str"}

EXPLANATION = {  # what every explanation payload holds (js/src/decode.js decodeExplanation)
    "kind": "str",
    "target": "int",
    "target_label": "str",
    "baseline": "str",
    "rule": "str",
    "steps": "int",
    "output": "str",
    "attributions": "array",
    "completeness": COMPLETENESS,
    "trace": TRACE,
}

IMAGE = {
    **EXPLANATION,
    "path": "str",
    "idgi": "bool",
    "path_label": "str",
    "height": "int",
    "width": "int",  # what is drawn: the display grid
    "map_height": "int",
    "map_width": "int",
    "cell": "list[int]",  # the maps' grid, input pixels per cell
    "source_height": "int",
    "source_width": "int",
    "channels": "int",
    "image": "image",
    "baseline_image": "image",
    "input_scale": "list[float]",
    "input_offset": "list[float]",  # model value = offset + scale * byte
}
IMAGE_OPTIONAL = {
    "path_images": "image",  # a curved path's points, [steps, H, W, 3]
    "input": "array",  # the model's input as float32 where the bytes do not reproduce it
    "input_error": "list[float]",  # else, per channel, the most the bytes miss it by
    "preview": {"final_steps": "int"},  # a coarse preview shown while the request at final_steps computes
}

TEXT = {
    **EXPLANATION,
    "task": "str",  # "classifier" or "next_token"
    "position": ("int", "null"),  # a language model's explained position
    "tokens": "list[str]",
    "special": "list[bool]",
    "space_before": "list[bool]",
    "words": "list[list[int]]",
    "word_texts": "list[str]",
}

ALTERNATIVE = {
    "index": "int",
    "label": "str",
    "probability": "float",
    "score": "float",
    "kind": "str",
    "score_name": "str",
}
CONTRAST = {
    "row": "int",
    "alternative": "int",
    "alternative_label": "str",
    "attributions": "array",
    "completeness": COMPLETENESS,
    "alphas": "array",
    "weights": "array",
    "trace_scores": "array",
    "trace_cumulative": "array",
}
GENERATION = {
    "kind": "str",
    "tokens": "list[str]",
    "special": "list[bool]",
    "prompt_length": "int",
    "generated": "int",
    "words": "list[list[int]]",
    "word_texts": "list[str]",
    "alternatives": "list[list[alternative]]",
    "chosen_tokens": "list[int]",
    "chosen_log_probabilities": "list[float]",
    "matrix_kind": "str",
    "matrix_score_name": "str",
    "baseline": ("str", "int"),
    "rule": "str",
    "steps": "int",
    "target_kinds": "list[str]",
    "scales": "list[str]",
    "granularities": "list[str]",
    "computing": "bool",
    "rows": "list[int]",
    "complete": "bool",
    "contrast": (CONTRAST, "null"),
}
GENERATION_OPTIONAL = {  # once a row is computed
    "matrix": "array",
    "row_completeness": "list[completeness]",
    "alphas": "array",
    "weights": "array",
    "trace_scores": "array",
    "trace_cumulative": "array",
}

COMPARED_METHOD = {  # one method of the comparison view (ig_widget/widgets/comparison.py), as it is computed
    "name": "str",
    "map": "array",  # int8 [rows, columns], summed over channels and display blocks (drawn, never printed)
    "gap": ("str", "null"),  # the completeness gap, printed; null for methods without a path
    "relative_gap": ("str", "null"),
    "deletion_area": "str",
    "insertion_area": "str",
    "sanity": ("str", "null"),  # the sanity check's verdict with its SSIM, printed; null when not run
    "sanity_passed": ("bool", "null"),
}
COMPARISON = {
    "kind": "str",
    "target": "int",
    "target_label": "str",
    "height": "int",  # the maps' grid (the input up to MAX_DISPLAY_SIDE a side)
    "width": "int",
    "image": "image",
    "settings": "str",
    "names": "list[str]",  # every method, in the order they are computed
    "methods": "list[compared_method]",  # those computed so far
    "computing": "bool",
    "error": ("str", "null"),
}

# kind -> (required keys, optional keys)
PAYLOADS: dict[str, tuple[dict, dict]] = {
    "image": (IMAGE, IMAGE_OPTIONAL),
    "text": (TEXT, {}),
    "generation": (GENERATION, GENERATION_OPTIONAL),
    "comparison": (COMPARISON, {}),
}
NAMED = {"completeness": COMPLETENESS, "alternative": ALTERNATIVE, "output_row": OUTPUT_ROW}
NAMED["compared_method"] = COMPARED_METHOD


def describe() -> dict:
    """The whole contract as JSON: constants and schemas (what the JS tests load from a fixture)."""
    return {
        "choices": {
            "sign": list(SIGN_MODES),
            "display": list(DISPLAY_MODES),
            "granularity": list(GRANULARITIES),
            "scale": list(MATRIX_SCALES),
        },
        "limits": limits(),
        "palette": palette(),
        "request_keys": {view: list(keys) for view, keys in REQUEST_KEYS.items()},
        "payloads": {
            kind: {"required": _plain(required), "optional": _plain(optional)}
            for kind, (required, optional) in PAYLOADS.items()
        },
        "named": {name: _plain(schema) for name, schema in NAMED.items()},
    }


def check_payload(payload: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first key of `payload` that its kind's schema does not describe, that
    is missing, or whose value has another wire type."""
    kind = payload.get("kind")
    if kind not in PAYLOADS:
        raise ValueError(f"payload kind {kind!r} has no schema; known: {', '.join(PAYLOADS)}")
    required, optional = PAYLOADS[kind]
    _check_object(payload, required, optional, kind)


def check_output_row(row: Mapping[str, Any]) -> None:
    """An `outputs` row (the outputs list of the image and text views)."""
    _check_object(row, OUTPUT_ROW, OUTPUT_ROW_OPTIONAL, "outputs row")


def _check_object(value: Any, required: Mapping, optional: Mapping, where: str) -> None:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} is a {type(value).__name__}, not an object")
    unknown = sorted(set(value) - set(required) - set(optional))
    missing = sorted(set(required) - set(value))
    if unknown or missing:
        raise ValueError(f"{where}: keys not in the schema {unknown}, keys missing {missing}")
    for key, item in value.items():
        _check_value(item, required.get(key, optional.get(key)), f"{where}.{key}")


def _check_value(value: Any, wire: Any, where: str) -> None:
    if isinstance(wire, tuple):  # one of several wire types
        errors = []
        for each in wire:
            try:
                _check_value(value, each, where)
                return
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(" / ".join(errors))
    if isinstance(wire, Mapping):
        _check_object(value, wire, {}, where)
        return
    if wire in NAMED:
        _check_object(value, NAMED[wire], OUTPUT_ROW_OPTIONAL if wire == "output_row" else {}, where)
        return
    if wire.startswith("list[") and wire.endswith("]"):
        if not isinstance(value, list):
            raise ValueError(f"{where} is a {type(value).__name__}, not a list")
        for index, item in enumerate(value):
            _check_value(item, wire[5:-1], f"{where}[{index}]")
        return
    ok = {
        "null": value is None,
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "array": _is_array(value),
        "image": _is_array(value) and value["dtype"] == "uint8" and value["shape"][-1:] == [3],
    }.get(wire)
    if ok is None:
        raise ValueError(f"{where}: unknown wire type {wire!r}")
    if not ok:
        raise ValueError(f"{where} = {type(value).__name__} is not a {wire}")


def _is_array(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and set(value) == {"dtype", "shape", "scale", "offset", "data"}
        and isinstance(value["data"], (bytes, bytearray, memoryview))
    )


def _plain(schema: Mapping) -> dict:
    """A schema as JSON: nested schemas as objects, alternatives as lists."""

    def plain(wire: Any) -> Any:
        if isinstance(wire, tuple):
            return [plain(each) for each in wire]
        if isinstance(wire, Mapping):
            return {key: plain(item) for key, item in wire.items()}
        return wire

    return {key: plain(wire) for key, wire in schema.items()}
