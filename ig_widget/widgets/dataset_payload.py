"""The gallery's payloads, defined once here (the JS view and its vitest fixtures read these shapes).

meta (sent once):
    {"count", "labels": [str], "shape": [C, H, W], "settings": str (the method and its settings),
     "choices": {"sort": [[key, text]], "correct": [[key, text]], "page_size": [int]},
     "limits": {"confidence" | "relative_gap" | "concentration": {"min", "max"}},
     "palette": {"diverging": [hex], "sequential": [hex]},
     "static_note": str (shown on an exported page, where what needs the kernel is disabled)}
page (one page of thumbnails, never the whole store):
    {"page", "pages", "matches", "indices": [int],
     "images": uint8 [n, H, W] (or [n, H, W, 3]) per-example min-max scaled, encode.py's contract,
     "maps":   int8 [n, H, W] attributions summed over channels, symmetric scale per example,
     "rows": [{"index", "label", "prediction", "correct": bool, "text": {"confidence", "gap", "concentration"}}]}
detail (the clicked example):
    {"index", "image": uint8 [H, W(, 3)], "map": float32 [H, W] (the stored attributions summed over
     channels), "rows": [[name, printed value]], "top": [[label, printed probability]]}
summary (per class):
    {"classes": [{"label", "count", "errors"}], "class_mean": uint8 [C, H, W], "error_mean": uint8 [C, H, W]}

Every number the view prints arrives as text printed here; arrays are only drawn.
"""

from __future__ import annotations

import numpy as np

from .. import schema
from ..attribution.rounding import reads_as_rounding, rounding_note
from ..encode import encode_array

SORT_KEYS = (
    ("index", "index"),
    ("confidence", "confidence"),
    ("gap", "|completeness gap|"),
    ("relative_gap", "|relative gap|"),
    ("concentration", "concentration"),
)
CORRECT = (("all", "all"), ("correct", "correct only"), ("wrong", "misclassified only"))
PAGE_SIZES = (12, 24, 48, 96)
# Shown on an exported page (no kernel), where the gallery disables what only the kernel can answer.
STATIC_NOTE = (
    "Static page: the examples of this page, the opened example and the per-class summary are shown as "
    "saved; sorting, filtering, paging and opening another example need the notebook with a running kernel."
)
# The views' palette (purple-white-orange diverging for signed maps, viridis for magnitudes), from the contract.
PALETTE = {"diverging": list(schema.DIVERGING), "sequential": list(schema.SEQUENTIAL)}


NOT_DEFINED = "n/a"  # F(x') and the gap of a method without a baseline (saliency, say) are NaN in the store


def percent(value: float) -> str:
    return NOT_DEFINED if np.isnan(value) else f"{100 * value:.1f}%"


def number(value: float) -> str:
    return NOT_DEFINED if np.isnan(value) else f"{value:.4g}"


def settings_text(config: dict) -> str:
    """The run's method and its settings, as the gallery's header prints them."""
    if config["steps"] is not None:
        return f"{config['method']}, {config['steps']} steps ({config['rule']}), baseline {config['baseline_name']}"
    if config["method"] == "smoothgrad":
        return f"smoothgrad, {config['samples']} samples, noise {config['noise_level']:g}"
    if config["method"] == "expected_gradients":
        return f"expected_gradients, {config['samples']} draws from the data"
    return config["method"]


def meta_payload(store) -> dict:
    config = store.config
    return {
        "count": len(store),
        "labels": store.labels,
        "shape": list(store.example_shape),
        "settings": settings_text(config),
        "choices": {
            "sort": [list(pair) for pair in SORT_KEYS],
            "correct": [list(pair) for pair in CORRECT],
            "page_size": list(PAGE_SIZES),
        },
        "limits": {
            "confidence": {"min": 0.0, "max": 1.0},
            "relative_gap": {"min": 0.0, "max": 1.0},
            "concentration": {"min": 0.0, "max": 1.0},
        },
        "palette": PALETTE,
        "static_note": STATIC_NOTE,
    }


def display_images(inputs: np.ndarray) -> np.ndarray:
    """[n, C, H, W] -> [n, H, W] (one channel) or [n, H, W, 3], for uint8 encoding per example."""
    if inputs.shape[1] == 1:
        return inputs[:, 0]
    if inputs.shape[1] == 3:
        return np.moveaxis(inputs, 1, -1)
    return inputs.mean(axis=1)


def page_payload(store, table, indices: np.ndarray, page: int, pages: int, matches: int) -> dict:
    part = store.page(indices)
    maps = part["attributions"].sum(axis=1)
    labels = store.labels
    rows = []
    for index in indices:
        row = table.iloc[int(index)]
        label, prediction = int(row["label"]), int(row["prediction"])
        rows.append(
            {
                "index": int(index),
                "label": labels[label] if label >= 0 else "",
                "prediction": labels[prediction],
                "correct": bool(row["correct"]),
                "text": {
                    "confidence": percent(float(row["confidence"])),
                    "gap": number(float(row["gap"]))
                    + (" (rounding)" if reads_as_rounding(row["relative_gap"], row["gap_within_rounding"]) else ""),
                    "concentration": percent(float(row["concentration"])),
                },
            }
        )
    return {
        "page": page,
        "pages": pages,
        "matches": matches,
        "indices": [int(i) for i in indices],
        # an empty page (no example matches) has nothing to quantise: empty float32 arrays
        "images": encode_array(display_images(part["inputs"]), "uint8" if len(indices) else "float32", per_slice=True),
        "maps": encode_array(maps, "int8" if len(indices) else "float32", per_slice=True),
        "rows": rows,
    }


def detail_payload(store, table, index: int) -> dict:
    part = store.page([index])
    row = table.iloc[index]
    relative = float(row["relative_gap"])
    labels = store.labels
    k = sum(1 for name in table.columns if name.startswith("top") and name[3:].isdigit())
    label = int(row["label"])
    return {
        "index": index,
        "image": encode_array(display_images(part["inputs"])[0], "uint8"),
        "map": encode_array(part["attributions"].sum(axis=1)[0], "float32"),
        "rows": [
            ["label", labels[label] if label >= 0 else "none"],
            ["prediction", f"{labels[int(row['prediction'])]} ({percent(float(row['confidence']))})"],
            ["explained", labels[int(row["target"])] if int(row["target"]) >= 0 else store.config["target"]],
            ["F(x)", number(float(row["score"]))],
            ["F(x')", number(float(row["baseline_score"]))],
            ["gap", number(float(row["gap"]))],
            ["relative gap", percent(abs(relative)) + rounding_note(relative, bool(row["gap_within_rounding"]))],
            ["concentration", percent(float(row["concentration"]))],
        ],
        "top": [[labels[int(row[f"top{r}"])], percent(float(row[f"p_top{r}"]))] for r in range(1, k + 1)],
    }


def summary_payload(store) -> dict:
    summary = store.summary()
    labels = store.labels
    return {
        "classes": [
            {"label": labels[c], "count": int(summary["count"][c]), "errors": int(summary["errors"][c])}
            for c in range(len(summary["count"]))
        ],
        "class_mean": encode_array(summary["class_mean"].sum(axis=1), "uint8", per_slice=True),
        "error_mean": encode_array(summary["error_mean"].sum(axis=1), "uint8", per_slice=True),
    }
