"""The comparison view's payload (schema.COMPARISON): one input, every method's map and its checks.

Every number the view prints arrives as the text printed here (`printed`); the maps are only drawn, so
they travel as int8 with one scale per map, summed over channels and over the display grid's blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..attribution.rounding import rounding_note
from ..encode import encode_array
from ..evaluation import ComparedMethod
from .display_grid import DisplayGrid


def printed(method: ComparedMethod, threshold: float) -> dict:
    """The texts the view prints for `method`: its gap, relative gap, areas and sanity verdict."""
    sanity = None
    if method.sanity_passed is not None:
        verdict = "passes" if method.sanity_passed else "FAILS"
        relation = "<" if method.sanity_passed else "≥"
        sanity = f"{verdict} (SSIM {method.sanity_ssim:.2f} {relation} {threshold:g})"
    return {
        "gap": None if method.gap is None else f"{method.gap:.3g}",
        "relative_gap": None
        if method.relative_gap is None
        else f"{100 * method.relative_gap:.2f}%" + rounding_note(method.relative_gap, method.gap_within_rounding),
        "deletion_area": f"{method.deletion_area:.3f}",
        "insertion_area": f"{method.insertion_area:.3f}",
        "sanity": sanity,
    }


def method_payload(method: ComparedMethod, grid: DisplayGrid, threshold: float) -> dict:
    """One computed method (schema.COMPARED_METHOD)."""
    attributions = method.attributions.float()
    summed = attributions.sum(dim=0) if attributions.ndim == 3 else attributions
    return {
        "name": method.name,
        "map": encode_array(grid.sums(summed), "int8"),
        **printed(method, threshold),
        "sanity_passed": method.sanity_passed,
    }


def comparison_payload(
    *,
    target: int,
    target_label: str,
    grid: DisplayGrid,
    image: dict,
    settings: str,
    names: Sequence[str],
    methods: Sequence[ComparedMethod],
    threshold: float,
    computing: bool,
    error: str | None = None,
) -> dict:
    """The whole payload (schema.COMPARISON): the methods computed so far, and whether more are coming."""
    return {
        "kind": "comparison",
        "target": target,
        "target_label": target_label,
        "height": grid.rows,
        "width": grid.columns,
        "image": image,
        "settings": settings,
        "names": list(names),
        "methods": [method_payload(method, grid, threshold) for method in methods],
        "computing": computing,
        "error": error,
    }
