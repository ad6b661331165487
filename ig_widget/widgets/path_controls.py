"""The controls every explainer view shares with the kernel (rule, steps, clip), validated one way, and
a change the kernel refuses answered so the view snaps back instead of showing a state it is not in."""

from __future__ import annotations

import traitlets

from ..attribution import RULES
from ..schema import CLIP_RANGE, MAX_STEPS
from .refusals import AnswersRefusals


class PathControls(AnswersRefusals, traitlets.HasTraits):
    """Mixed into an anywidget that declares `rule`, `steps` and `clip` traits."""

    @traitlets.validate("rule")
    def _check_rule(self, proposal: dict) -> str:
        if proposal["value"] not in RULES:
            raise traitlets.TraitError(f"rule={proposal['value']!r} is unknown; use one of {', '.join(RULES)}")
        return proposal["value"]

    @traitlets.validate("steps")
    def _check_steps(self, proposal: dict) -> int:
        minimum = 2 if self.rule == "riemann_trapezoid" else 1
        if not minimum <= proposal["value"] <= MAX_STEPS:
            raise traitlets.TraitError(
                f"steps={proposal['value']!r} is out of range; use an int in {minimum}..{MAX_STEPS}"
            )
        return proposal["value"]

    @traitlets.validate("clip")
    def _check_clip(self, proposal: dict) -> float:
        if not CLIP_RANGE[0] <= proposal["value"] <= CLIP_RANGE[1]:
            raise traitlets.TraitError(
                f"clip={proposal['value']!r} is a percentile of attribution mass; "
                f"use {CLIP_RANGE[0]:g}..{CLIP_RANGE[1]:g}"
            )
        return proposal["value"]
