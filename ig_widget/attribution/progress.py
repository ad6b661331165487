"""How a long walk reports progress: the caller's own callback, or `progress=True` for a tqdm bar
(in a notebook tqdm draws its widget bar, in a terminal a text bar) where tqdm is installed."""

from __future__ import annotations

from typing import Any

from .batching import Progress
from .errors import AttributionInputError

ProgressSpec = Progress | bool | None


def progress_callback(progress: ProgressSpec, description: str) -> Progress | None:
    """The callback `progress(done, total)` a walk reports to, checked before any work."""
    if progress is None or progress is False:
        return None
    if progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError as error:
            raise AttributionInputError(
                "progress=True draws a tqdm bar, but tqdm is not installed; pip install tqdm, or pass a "
                "callable progress(done, total)"
            ) from error
        return ProgressBar(tqdm, description)
    if not callable(progress):
        raise AttributionInputError(
            "progress must be None, True (a tqdm bar) or a callable progress(done, total); "
            f"got {type(progress).__name__}"
        )
    return progress


class ProgressBar:
    """One tqdm bar per walk over the path points; a new walk (the next round of steps="auto")
    starts a new bar. Bars close when their walk completes."""

    def __init__(self, tqdm: Any, description: str):
        self.tqdm, self.description, self.bar = tqdm, description, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None or self.bar.total != total:
            self.close()
            self.bar = self.tqdm(total=total, desc=self.description, unit="point", leave=False)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
