"""A walk's settings: checked once by the entry point, then carried down as one frozen object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .batching import Progress
from .errors import AttributionInputError
from .progress import ProgressSpec, progress_callback
from .targets import check_output
from .trace_reduce import Reducer
from .validation import check_adaptive, check_batch_size, check_steps

Steps = int | Literal["auto"]

DEFAULT_TOL = 0.01
AUTO_MAX_STEPS = 255  # steps="auto" stops at this many points unless max_steps says otherwise


@dataclass(frozen=True)
class PathOptions:
    """How a walk along a path runs.

    steps: points on the path, or "auto" (refine until the relative gap is at most `tol`, at most
        `max_steps` points). rule: the quadrature (see `quadrature.RULES`). batch_size: path points per
        forward pass, None for a memory budget. output: "logit", "probability" or "log_probability".
    reducer: how the trace shrinks each point's maps; None records no trace. progress: called as
        progress(done, total) after each chunk. idgi: keep only each gradient's component along its
        own important direction (IDGI, see `walk.DirectPath`).
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
        check_steps(2 if steps == "auto" else steps, rule)
        if steps == "auto":
            check_adaptive(tol, max_steps)
        check_batch_size(batch_size)
        check_output(output)
        return cls(
            steps, rule, batch_size, output, reducer, progress_callback(progress, description), tol, max_steps, idgi
        )
