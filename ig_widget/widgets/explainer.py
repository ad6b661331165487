"""The base of every explainer widget: the traits shared with the browser, their validation, and the
hooks a subclass fills in (compute one request, compute several in one walk, name the classes).

When and where a request is computed is `RequestScheduler`'s job (`scheduler.py`): a cached result is
shown at once, otherwise a background thread computes it, a newer request replaces an older one, and
the other listed outputs at the same settings follow in one multi-target walk. A subclass may offer a
coarse preview of a slow request (`_preview`): shown with status "computing" until the request itself
replaces it (computed then in the walk of the listed outputs, to save their forward passes), and
`explanation` meanwhile returns the preview's result, the one the view shows.

A view follows its model (`model_watch`): a request after the model was changed in place (trained on,
reloaded) predicts again and forgets every result computed from the earlier weights; a change while
nothing is asked sets `model_changed`, which the view shows with a Recompute button (`refresh()`).
"""

from __future__ import annotations

import numbers
import pathlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import anywidget
import traitlets

from ..attribution import RULES
from ..attribution.errors import AttributionInputError
from ..attribution.targets import check_output
from ..attribution.validation import check_model
from ..schema import SIGN_MODES, limits, palette
from . import static_picture
from .model_watch import FollowsModel
from .outputs import check_score_kind
from .path_controls import PathControls
from .scheduler import RequestScheduler, Superseded

__all__ = ["ExplainerWidget", "Request", "Superseded"]

BUNDLE = pathlib.Path(__file__).parent.parent / "static" / "widget.js"
BASELINES = ("black", "blur", "uniform", "gaussian", "max_distance")
CACHE_SIZE = 8  # at least; room for the listed outputs at two settings of baseline, rule and steps


def check_explainer_arguments(model: Callable, output: str, score_kind: str | None) -> None:
    """What every explainer checks before it touches the model: the engine's own checks, and the view's."""
    check_model(model)
    check_output(output)
    check_score_kind(score_kind)


def index_of_label(label: str, labels: Sequence[str], index_word: str = "a class index") -> int:
    """The class index of `label`; a ValueError that shows the labels when it is not one of them."""
    if label not in labels:
        raise AttributionInputError(
            f"target={label!r} is not one of the labels ({shown(labels)}); give a label or {index_word}"
        )
    return list(labels).index(label)


def shown(labels: Sequence[str], count: int = 10) -> str:
    """The first few labels, for an error message."""
    return ", ".join(labels[:count]) + (", ..." if len(labels) > count else "")


class Request(NamedTuple):
    """Everything a result depends on that the user can change from the view."""

    target: int
    baseline: str
    rule: str
    steps: int

    def settings(self) -> tuple[str, str, int]:
        """What the request shares with the other targets computed in the same walk."""
        return self.baseline, self.rule, self.steps


class ExplainerWidget(FollowsModel, PathControls, anywidget.AnyWidget):
    """Shared traits and compute machinery; subclasses say how to compute and encode one request."""

    # The bundle's text, not its path: for a path anywidget connects every instance to a file watcher
    # that keeps it alive for good (manzt/anywidget#929), so a closed widget would never free its tensors.
    _esm = BUNDLE.read_text(encoding="utf-8")
    _view = traitlets.Unicode("").tag(sync=True)
    baseline_names: tuple[str, ...] = BASELINES  # a subclass for another kind of input names its own
    index_word = "a class index"  # what a target is besides a label, in error messages

    target = traitlets.Any(None, allow_none=True).tag(sync=True)  # a class index; a label becomes its index
    baseline = traitlets.Unicode("black").tag(sync=True)
    rule = traitlets.Unicode("gausslegendre").tag(sync=True)
    steps = traitlets.Int(32).tag(sync=True)
    sign = traitlets.Enum(SIGN_MODES, "both").tag(sync=True)
    clip = traitlets.Float(99.0).tag(sync=True)

    choices = traitlets.Dict().tag(sync=True)  # {"baseline": [...], "rule": [...], "sign": [...]} for the view's menus
    limits = traitlets.Dict().tag(sync=True)  # {"steps"|"clip": {"min", "max"}}: the ranges the validators accept
    palette = traitlets.Dict().tag(sync=True)  # schema.palette(): the colours the view draws with
    outputs = traitlets.List(traitlets.Dict()).tag(sync=True)  # top-k: {index, label, score, probability}
    result = traitlets.Dict().tag(sync=True)  # the encoded payload of the current request
    status = traitlets.Enum(("idle", "computing", "done", "error"), "idle").tag(sync=True)
    progress = traitlets.Float(0.0).tag(sync=True)  # 0..1 while computing
    error = traitlets.Unicode("").tag(sync=True)  # readable message of the last failed request

    def __init__(self, **kwargs: Any):
        self.last_exception: BaseException | None = None
        self._started = False
        self._scheduler = RequestScheduler(
            compute=lambda request, progress: self._unchanged(lambda: self._compute(request, progress)),
            compute_many=lambda requests, progress: self._unchanged(lambda: self._compute_many(requests, progress)),
            listed=self._listed,
            show=lambda payload: self._show(payload),
            show_error=self._show_error,
            show_progress=lambda fraction: setattr(self, "progress", fraction),
            show_computing=self._show_computing,
            capacity=lambda: max(CACHE_SIZE, 2 * len(self.outputs)),
            remember=lambda request, computed: self._remember(request, computed),
            preview=lambda request, progress: self._unchanged(lambda: self._preview(request, progress)),
            show_preview=lambda request, computed: self._show_preview(request, computed),
        )
        self._previewed: tuple[Request, tuple[Any, dict]] | None = None  # the preview on screen, if any
        super().__init__(
            choices={"baseline": list(self.baseline_names), "rule": list(RULES), "sign": list(SIGN_MODES)},
            limits=limits(),
            palette=palette(),
            **kwargs,
        )

    # The scheduler's cache and lock: a subclass may swap the cache (ImageExplainer keeps one per path).
    @property
    def _cache(self) -> OrderedDict:
        return self._scheduler.cache

    @_cache.setter
    def _cache(self, cache: OrderedDict) -> None:
        self._scheduler.cache = cache

    @property
    def _state_lock(self):
        return self._scheduler.lock

    def _start(self) -> None:
        """Called by a subclass once its model (`self._model`) and input are in place: from now on controls
        compute, and the model is followed."""
        self._follow(self._model)
        self._started = True
        self.request()

    # -- what subclasses provide -------------------------------------------------------------
    def _compute(self, request: Request, progress: Callable[[int, int], None]) -> tuple[Any, dict]:
        """Return (attribution result, encoded payload) for `request`; call `progress(done, total)`."""
        raise NotImplementedError

    def _compute_many(self, requests: list[Request], progress: Callable[[int, int], None]) -> list[tuple[Any, dict]]:
        """`_compute` for requests that differ only in target, in one walk along the path."""
        raise NotImplementedError

    def _preview(self, request: Request, progress: Callable[[int, int], None]) -> tuple[Any, dict] | None:
        """A coarse (result, payload) to show while `request` computes, or None for no preview (default)."""
        return None

    def _label_names(self) -> list[str]:
        """One name per class, in class order (what a target given as a string is looked up in)."""
        raise NotImplementedError

    def _model_changed(self) -> None:
        """The model changed: predict again and list the outputs anew (raise when it no longer fits)."""
        raise NotImplementedError

    def _forget_results(self) -> None:
        """Drop every result computed so far (a subclass drops what else it derived from them)."""
        self._scheduler.forget()
        self._previewed = None

    def _ask_again(self) -> None:
        self._scheduler.request(self.current_request())

    # -- validation ----------------------------------------------------------------------------
    @traitlets.validate("target")
    def _check_target(self, proposal: dict) -> int:
        value = proposal["value"]
        labels = self._label_names()
        if isinstance(value, str):
            try:
                return index_of_label(value, labels, self.index_word)
            except AttributionInputError as exc:
                raise traitlets.TraitError(str(exc)) from None
        if isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= value < len(labels):
            return int(value)
        raise traitlets.TraitError(
            f"target={value!r} is not a class index; use an int in 0..{len(labels) - 1} or a label ({shown(labels)})"
        )

    @traitlets.validate("baseline")
    def _check_baseline(self, proposal: dict) -> str:
        if proposal["value"] not in self.baseline_names:
            raise traitlets.TraitError(
                f"baseline={proposal['value']!r} is unknown; use one of {', '.join(self.baseline_names)}"
            )
        return proposal["value"]

    # -- requests --------------------------------------------------------------------------------
    @traitlets.observe("target", "baseline", "rule", "steps")
    def _on_control_change(self, change: dict) -> None:
        if self._started:
            self.request()

    def current_request(self, target: int | None = None) -> Request:
        """The request the controls describe now (for another `target` at the same settings if given)."""
        return Request(self.target if target is None else int(target), self.baseline, self.rule, self.steps)

    def request(self) -> None:
        """Show the result for the current controls: from the cache, or computed in the background (after
        catching up with the model when it changed since the cached results were computed)."""
        if self._followed():
            self._ask_again()

    def wait(self, timeout: float | None = 60.0) -> None:
        """Block until the newest request, and the other listed outputs at its settings, are computed
        (for scripts and tests; the view never waits)."""
        self._scheduler.wait(timeout)

    @property
    def explanation(self) -> Any:
        """The attribution result behind the view: the final one, or while a coarse preview of it is on screen
        (its payload says `preview`; the request is computing, or failed after it) the preview's, else None.
        `wait()` waits for the final one; `final_explanation` never returns a preview. A warning says when the
        model has changed since (`refresh()` recomputes)."""
        self._warn_if_model_changed()
        request = self.current_request()
        cached = self._scheduler.cached(request)
        if cached:
            return cached[0]
        previewed = self._previewed
        if previewed is None or previewed[0] != request:
            return None
        return previewed[1][0]

    @property
    def final_explanation(self) -> Any:
        """The final attribution result of the current request, never a preview; None until it is computed.
        A warning says when the model has changed since (`refresh()` recomputes)."""
        self._warn_if_model_changed()
        cached = self._scheduler.cached(self.current_request())
        return cached[0] if cached else None

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        """The live view, plus a picture and a text line for front ends that cannot run widgets
        (GitHub, nbviewer without widget state, a terminal): see `static_picture`."""
        shown = super()._repr_mimebundle_(**kwargs)
        if shown is None:
            return None
        data, metadata = shown
        data = {**data, **static_picture.mime_bundle(self)}
        return data, metadata

    def computed_payloads(self) -> dict[Request, dict]:
        """The encoded payload of every request computed so far and still cached (on the shown path)."""
        return self._scheduler.payloads()

    def compute_payload(self, request: Request) -> dict:
        """The payload of `request`, computed now in this thread, off the view: no trait changes, no caching
        (what `export_html` uses for targets the view has not computed)."""
        return self._scheduler.compute_now(request)[1]

    def _listed(self, request: Request) -> list[Request]:
        """The requests one walk computes with `request`: the listed outputs at its settings."""
        return [Request(output["index"], *request.settings()) for output in self.outputs]

    def _show_computing(self) -> None:
        self._previewed = None
        self.status, self.progress = "computing", 0.0

    def _show_preview(self, request: Request, computed: tuple[Any, dict]) -> None:
        """Show a preview of `request` while the request itself computes (status stays "computing")."""
        self._previewed = (request, computed)
        with self.hold_sync():
            self.result = computed[1]
            self.error = ""
            self.progress = 0.0
            self.status = "computing"

    def _remember(self, request: Request, computed: tuple[Any, dict]) -> None:
        """Keep a computed result (a subclass may pick the cache it goes to)."""
        self._scheduler.store(request, computed)

    def _show(self, payload: dict) -> None:
        self._previewed = None
        with self.hold_sync():
            self.result = payload
            self.error = ""
            self.progress = 1.0
            self.status = "done"

    def _show_error(self, exc: BaseException) -> None:
        self.last_exception = exc
        self.error = f"{type(exc).__name__}: {exc}"
        self.status = "error"
