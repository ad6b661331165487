"""A view never shows a result of weights the model no longer has.

A notebook trains on: the model behind a view made three cells ago is updated in place (an optimizer step,
`load_state_dict`, `p.data.mul_(...)`), and a map the view cached before would, clicked again, show
F(x) of the old weights beside outputs of the new ones. Each view keeps a `ModelFollower`:

- before it shows or computes anything on request, `changed()` reads the model's fingerprint (contents
  included, `attribution.model_version`); when it moved, the view forgets every result, predicts again
  and `accept`s the new reading;
- every computation is bracketed by `unchanged_during`: one whose model was written while it ran (a
  training cell run meanwhile) is refused with `ModelChangedError`, never cached or shown as a map;
- one thread for all views polls the cheap reading (`watch`, every POLL_S seconds), so a view whose
  model changed while nobody touched it says so (its `model_changed` trait: the view shows a notice with
  a Recompute button) instead of presenting old maps as current. The poll never computes: recomputing
  while a training loop runs would compete with it and be stale again at once.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar

import traitlets

from ..attribution.errors import AttributionInputError
from ..attribution.model_version import model_fingerprint, model_versions
from . import background

POLL_S = 1.0  # how often the watch thread reads every watched view's model versions

T = TypeVar("T")


class ModelChangedError(RuntimeError):
    """The model was written while a result was computed from it: the result mixes two sets of weights."""


class ModelChangedWarning(UserWarning):
    """A view's result was read after the model changed: it describes the earlier weights."""


class ModelFollower:
    """What a view's results were computed from: the model's fingerprint when the view last accepted it."""

    def __init__(self, model: Callable):
        self._model = model
        self._seen: Hashable = model_fingerprint(model)

    def changed(self) -> Hashable | None:
        """The model's new fingerprint when it differs from the accepted one, else None (no change)."""
        now = model_fingerprint(self._model)
        return None if now == self._seen else now

    def accept(self, reading: Hashable) -> None:
        """From now on results are computed from the model as `reading` (from `changed`) describes it."""
        self._seen = reading

    def moved(self) -> bool:
        """The cheap reading (versions, no device work) differs from the accepted one."""
        return model_versions(self._model) != self._seen[0]  # the fingerprint's first part

    def unchanged_during(self, compute: Callable[[], T]) -> T:
        """`compute()`, refused with ModelChangedError when the model was written meanwhile (or since it was
        accepted: a result of weights the view has not caught up with is not one to show either). A failure
        while the model moved is that error too: autograd's own "modified by an inplace operation", raised
        when an optimizer step writes weights a backward pass still needs, says less."""
        try:
            computed = compute()
        except Exception as exc:
            if self.moved():
                raise _changed() from exc
            raise
        self.check()
        return computed

    def check(self) -> None:
        """ModelChangedError when a parameter or buffer was written since the accepted reading."""
        if self.moved():
            raise _changed()


def no_longer_fits(given: int, made_for: int, what: str = "class scores") -> AttributionInputError:
    """The refusal of a changed model whose outputs the view cannot show (another number of classes)."""
    return AttributionInputError(
        f"the model now gives {given} {what} where this view was made for {made_for}; make a new view for it"
    )


def _changed() -> ModelChangedError:
    return ModelChangedError(
        "the model's weights changed while this result was computed (a training step or load ran meanwhile), "
        "so it would mix two models; press Recompute or call refresh() once they settle"
    )


class FollowsModel(traitlets.HasTraits):
    """Mixed into a view (before anywidget.AnyWidget) whose results come from a model: `_follow(model)` once
    the view can compute; `_followed()` before every request; compute inside `_unchanged`. The view
    provides `_forget_results` (drop every result), `_model_changed` (predict again; raise when the model
    no longer fits the view), `_ask_again` (request what the controls describe) and `_show_error`."""

    # The model was written since the shown results were computed: the view says so, with a Recompute button.
    model_changed = traitlets.Bool(False).tag(sync=True)
    _follower: ModelFollower | None = None  # None until `_follow`

    def _follow(self, model: Callable) -> None:
        self._follower = ModelFollower(model)
        self.on_msg(self._on_refresh_message)
        watch(self)

    def refresh(self) -> bool:
        """Catch up with the model when it changed since the shown results were computed (trained on, weights
        loaded): predict again, forget every earlier result, compute the current request again. True when it
        had changed; False (nothing recomputed) when not. The view's Recompute button calls it, and every
        control change does the same first."""
        changed = self._follow_model()
        if changed:
            self._ask_again()
        return changed

    def notice_model_change(self) -> None:
        """Set `model_changed` when the model's parameters or buffers were written since the shown results
        were computed (the watch thread calls this every POLL_S seconds; cheap, no device work)."""
        if self._follower is not None and not self.model_changed and self._follower.moved():
            self.model_changed = True

    def _followed(self) -> bool:
        """Before a request: catch up with a changed model; False (the error shown, nothing to compute) when
        the changed model no longer fits the view."""
        try:
            self._follow_model()
        except Exception as exc:  # the user's model can raise anything; said in the view
            self._show_error(exc)
            return False
        return True

    def _follow_model(self) -> bool:
        """When the model changed: forget results, predict again, accept the new reading; True if so."""
        reading = self._follower.changed() if self._follower is not None else None
        if reading is None:
            self.model_changed = False
            return False
        self._forget_results()
        try:
            self._model_changed()  # may refuse the new model: then the reading is not accepted, and asked again
        except Exception:
            self.model_changed = True  # what the view still shows is of the earlier weights: it says so
            raise
        self._follower.accept(reading)
        self.model_changed = False
        return True

    def _unchanged(self, compute: Callable[[], T]) -> T:
        return self._follower.unchanged_during(compute) if self._follower is not None else compute()

    def _warn_if_model_changed(self) -> None:
        if self._follower is not None and self._follower.changed() is not None:
            warnings.warn(
                "the model has changed since this view's results were computed: they describe its earlier "
                "weights; call refresh() to recompute",
                ModelChangedWarning,
                stacklevel=3,
            )

    def _on_refresh_message(self, _widget: Any, content: dict, _buffers: Any) -> None:
        """The view's Recompute button; a model that no longer fits the view is shown as the error."""
        if isinstance(content, dict) and content.get("type") == "refresh":
            try:
                self.refresh()
            except Exception as exc:  # the user's model can raise anything; said in the view
                self._show_error(exc)

    def _forget_results(self) -> None:
        raise NotImplementedError

    def _model_changed(self) -> None:
        raise NotImplementedError

    def _ask_again(self) -> None:
        raise NotImplementedError

    def _show_error(self, exc: BaseException) -> None:
        raise NotImplementedError


class Watched(Protocol):
    def notice_model_change(self) -> None: ...


_watched: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()
_poller: threading.Thread | None = None


def watch(view: Watched) -> None:
    """Call `view.notice_model_change()` every POLL_S seconds while the view lives (one thread for all)."""
    global _poller
    with _lock:
        _watched.add(view)
        if _poller is None:
            _poller = background.start(_poll)


def _poll() -> None:
    while not background.stopping.wait(POLL_S):
        for view in list(_watched):
            try:
                view.notice_model_change()
            except Exception:  # a model the poll cannot read is no longer polled; its requests still check it
                _watched.discard(view)
