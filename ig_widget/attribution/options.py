"""A walk's settings: checked once by the entry point, then carried down as one frozen object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from .batching import Progress
from .errors import AttributionInputError
from .progress import ProgressSpec, progress_callback
from .targets import check_output
from .trace_reduce import Reducer
from .validation import check_adaptive, check_batch_size, check_steps

Steps = int | Literal["auto"]

DEFAULT_TOL = 0.01
AUTO_MAX_STEPS = 255  # steps="auto" stops at this many points unless max_steps says otherwise
AUTOCAST_DTYPES = (torch.bfloat16, torch.float16)


@dataclass(frozen=True)
class PathOptions:
    """How a walk along a path runs.

    steps: points on the path, or "auto" (refine until the relative gap is at most `tol`, at most
        `max_steps` points). rule: the quadrature (see `quadrature.RULES`). batch_size: path points per
        forward pass, None for a memory budget. output: "logit", "probability" or "log_probability".
    reducer: how the trace shrinks each point's maps; None records no trace. progress: called as
        progress(done, total) after each chunk. idgi: keep only each gradient's component along its
        own important direction (IDGI, see `walk.DirectPath`). autocast: None, or the dtype the path's
        forward and backward passes run in under `torch.autocast` (F(x), F(x') and the sums stay in
        the input's precision, so the gap shows what the lower precision cost).
    """

    steps: Steps = 50
    rule: str = "gausslegendre"
    batch_size: int | None = None
    output: str = "logit"
    reducer: Reducer | None = None
    progress: Progress | None = None
    tol: float = DEFAULT_TOL
    max_steps: int = AUTO_MAX_STEPS
    idgi: bool = False
    autocast: torch.dtype | None = None

    @classmethod
    def checked(
        cls,
        *,
        steps: Steps,
        rule: str,
        batch_size: int | None,
        output: str,
        reducer: Reducer | None,
        progress: ProgressSpec,
        tol: float,
        max_steps: int,
        description: str,
        idgi: bool = False,
        autocast: torch.dtype | None = None,
    ) -> PathOptions:
        """The options from an entry point's arguments, each checked before any model call; `description`
        names the walk on a progress bar."""
        if not isinstance(idgi, bool):
            raise AttributionInputError(f"idgi must be True or False; got {idgi!r}")
        if idgi and steps == "auto":
            raise AttributionInputError(
                "idgi=True with steps='auto': IDGI's attributions add up to F(x) - F(x') exactly at any number of "
                "steps, so there is no gap to refine on; give steps as an int"
            )
        check_autocast(autocast, steps, idgi)
        check_steps(2 if steps == "auto" else steps, rule)
        if steps == "auto":
            check_adaptive(tol, max_steps)
        check_batch_size(batch_size)
        check_output(output)
        return cls(
            steps,
            rule,
            batch_size,
            output,
            reducer,
            progress_callback(progress, description),
            tol,
            max_steps,
            idgi,
            autocast,
        )


def check_autocast(autocast: object, steps: Steps, idgi: bool) -> None:
    """`autocast` is None or a lower-precision dtype, with settings whose numbers stay honest in it."""
    if autocast is None:
        return
    if autocast not in AUTOCAST_DTYPES:
        raise AttributionInputError(
            f"autocast={autocast!r} is not supported; give torch.bfloat16 (CPU or GPU), torch.float16 (GPU) or None"
        )
    if steps == "auto":
        raise AttributionInputError(
            f"autocast={autocast} with steps='auto': at lower precision the gap stops shrinking at the precision's "
            "own error, so refinement could run to max_steps; give steps as an int"
        )
    if idgi:
        raise AttributionInputError(
            f"autocast={autocast} with idgi=True: IDGI's terms are differences of the path's own scores, which "
            "lower precision would round; use one or the other"
        )
