"""The base of every explainer widget: traits shared with the browser and the compute machinery.

A control change (target, baseline, rule, steps) becomes a request. A cached result is shown at once;
otherwise a background thread computes it, so the kernel stays responsive while the view shows
progress. A newer request replaces an older one: the engine's progress callback stops a computation
that is no longer wanted.

Once the wanted result is shown, the same thread computes every other listed output at the same
baseline, rule and steps in one multi-target walk (one forward pass over the path, one backward pass
per target) and caches them, so clicking between the listed outputs needs no recomputation. The
wanted target goes first on its own: a lone target is ready sooner than a walk for all of them
(ResNet-18 on 2 CPU cores, 32 steps: 14 s alone, 22 s for five in one walk, 80 s for five alone).
"""

from __future__ import annotations

import numbers
import pathlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import anywidget
import traitlets

from ..attribution import RULES
from ..attribution.errors import AttributionInputError
from ..attribution.targets import check_output
from ..attribution.validation import check_model
from .outputs import check_score_kind

BUNDLE = pathlib.Path(__file__).parent.parent / "static" / "widget.js"
BASELINES = ("black", "blur", "uniform", "gaussian", "max_distance")
SIGN_MODES = ("both", "positive", "negative", "absolute")
CACHE_SIZE = 8  # at least; room for the listed outputs at two settings of baseline, rule and steps
MAX_STEPS = 1024
CLIP_RANGE = (50.0, 100.0)  # the clip percentile of attribution mass


def check_explainer_arguments(model: Callable, output: str, score_kind: str | None) -> None:
    """What every explainer checks before it touches the model: the engine's own checks, and the view's."""
    check_model(model)
    check_output(output)
    check_score_kind(score_kind)


def index_of_label(label: str, labels: Sequence[str], index_word: str = "a class index") -> int:
    """The class index of `label`; a ValueError that shows the labels when it is not one of them."""
    if label not in labels:
        raise AttributionInputError(f"target={label!r} is not one of the labels ({shown(labels)}); give a label or {index_word}")
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


class Superseded(Exception):
    """Raised inside the engine's progress callback when a newer request has arrived."""


class ExplainerWidget(anywidget.AnyWidget):
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

    choices = traitlets.Dict().tag(sync=True)  # {"baseline": [...], "rule": [...]} for the view's menus
    limits = traitlets.Dict().tag(sync=True)  # {"steps"|"clip": {"min", "max"}}: the ranges the validators accept
    outputs = traitlets.List(traitlets.Dict()).tag(sync=True)  # top-k: {index, label, score, probability}
    result = traitlets.Dict().tag(sync=True)  # the encoded payload of the current request
    status = traitlets.Enum(("idle", "computing", "done", "error"), "idle").tag(sync=True)
    progress = traitlets.Float(0.0).tag(sync=True)  # 0..1 while computing
    error = traitlets.Unicode("").tag(sync=True)  # readable message of the last failed request

    def __init__(self, **kwargs: Any):
        self._wanted: Request | None = None  # the newest request: what the view should show
        self._walking: frozenset[Request] = frozenset()  # requests the multi-target walk in flight computes
        self._state_lock = threading.Lock()  # guards the three above with the cache, and what is shown
        self._compute_lock = threading.Lock()
        self._cache: OrderedDict[Request, tuple[Any, dict]] = OrderedDict()
        self._worker: threading.Thread | None = None
        self.last_exception: BaseException | None = None
        self._started = False
        super().__init__(choices={"baseline": list(self.baseline_names), "rule": list(RULES)},
                         limits={"steps": {"min": 1, "max": MAX_STEPS},
                                 "clip": {"min": CLIP_RANGE[0], "max": CLIP_RANGE[1]}}, **kwargs)

    def _start(self) -> None:
        """Called by a subclass once its model and input are in place: from now on controls compute."""
        self._started = True
        self.request()

    # -- what subclasses provide -------------------------------------------------------------
    def _compute(self, request: Request, progress: Callable[[int, int], None]) -> tuple[Any, dict]:
        """Return (attribution result, encoded payload) for `request`; call `progress(done, total)`."""
        raise NotImplementedError

    def _compute_many(self, requests: list[Request], progress: Callable[[int, int], None]) -> list[tuple[Any, dict]]:
        """`_compute` for requests that differ only in target, in one walk along the path."""
        raise NotImplementedError

    def _label_names(self) -> list[str]:
        """One name per class, in class order (what a target given as a string is looked up in)."""
        raise NotImplementedError

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

    @traitlets.validate("rule")
    def _check_rule(self, proposal: dict) -> str:
        if proposal["value"] not in RULES:
            raise traitlets.TraitError(f"rule={proposal['value']!r} is unknown; use one of {', '.join(RULES)}")
        return proposal["value"]

    @traitlets.validate("steps")
    def _check_steps(self, proposal: dict) -> int:
        minimum = 2 if self.rule == "riemann_trapezoid" else 1
        if not minimum <= proposal["value"] <= MAX_STEPS:
            raise traitlets.TraitError(f"steps={proposal['value']!r} is out of range; use an int in {minimum}..{MAX_STEPS}")
        return proposal["value"]

    @traitlets.validate("clip")
    def _check_clip(self, proposal: dict) -> float:
        if not CLIP_RANGE[0] <= proposal["value"] <= CLIP_RANGE[1]:
            raise traitlets.TraitError(f"clip={proposal['value']!r} is a percentile of attribution mass; use {CLIP_RANGE[0]:g}..{CLIP_RANGE[1]:g}")
        return proposal["value"]

    def set_state(self, sync_data: dict) -> None:
        """A change from the view that a validator refuses is answered, not only logged: the view gets
        the kernel's values back (it snaps back) and a `refused` message naming the traits and why."""
        try:
            super().set_state(sync_data)
        except traitlets.TraitError as exc:
            names = [name for name in sync_data if name in self.keys]
            self.send_state(names)
            self.send({"type": "refused", "names": names, "message": str(exc)})

    # -- requests --------------------------------------------------------------------------------
    @traitlets.observe("target", "baseline", "rule", "steps")
    def _on_control_change(self, change: dict) -> None:
        if self._started:
            self.request()

    def request(self) -> None:
        """Show the result for the current controls: from the cache, or computed in the background."""
        request = Request(self.target, self.baseline, self.rule, self.steps)
        with self._state_lock:
            self._wanted = request
            cached = self._cache.get(request)
            if cached is not None:
                self._cache.move_to_end(request)
                self._show(cached[1])
            else:
                self.status, self.progress = "computing", 0.0
            if request in self._walking:  # the walk in flight shows it when done
                return
            if cached is not None and not self._missing(request):
                return
        self._worker = threading.Thread(target=self._work, args=(request,), daemon=True)
        self._worker.start()

    def wait(self, timeout: float | None = 60.0) -> None:
        """Block until the newest request, and the other listed outputs at its settings, are computed
        (for scripts and tests; the view never waits)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            if worker.is_alive():
                raise TimeoutError(f"the attribution did not finish within {timeout} s")

    @property
    def explanation(self) -> Any:
        """The attribution result behind the view, or None while it is being computed."""
        request = Request(self.target, self.baseline, self.rule, self.steps)
        cached = self._cache.get(request)
        return cached[0] if cached else None

    def _work(self, request: Request) -> None:
        with self._compute_lock:  # one computation at a time; one no longer wanted stops at its next chunk
            if self._wanted != request:  # replaced while queued: the newer request has its own worker
                return
            if request not in self._cache and not self._compute_wanted(request):
                return
            self._compute_listed(request)

    def _compute_wanted(self, request: Request) -> bool:
        """Compute the wanted request alone and show it; False when it failed or was replaced."""
        try:
            computed = self._compute(request, self._progress_reporter(lambda: self._wanted == request))
        except Superseded:
            return False
        except Exception as exc:  # shown in the view: the user's model can raise anything
            with self._state_lock:
                if self._wanted == request:
                    self._show_error(exc)
            return False
        with self._state_lock:
            self._remember(request, computed)
            if self._wanted == request:
                self._show(computed[1])
        return True

    def _compute_listed(self, request: Request) -> None:
        """Compute the listed outputs not yet cached at the request's settings, in one walk."""
        with self._state_lock:
            missing = self._missing(request)
            self._walking = frozenset(missing)
        if not missing:
            return

        def still_useful() -> bool:  # the wanted result is cached or in this walk, at these settings
            wanted = self._wanted
            return wanted is not None and wanted.settings() == request.settings() and (
                wanted in self._walking or wanted in self._cache)

        try:
            computed = self._compute_many(missing, self._progress_reporter(still_useful, missing))
        except Superseded:
            computed = None
        except Exception as exc:  # only news to the view when it waits for one of these targets
            computed = None
            with self._state_lock:
                if self._wanted in self._walking:
                    self._show_error(exc)
        with self._state_lock:
            self._walking = frozenset()
            for each, result in zip(missing, computed or []):
                self._remember(each, result)
                if self._wanted == each:
                    self._show(result[1])

    def _missing(self, request: Request) -> list[Request]:
        """The listed outputs at the request's settings that are not cached yet."""
        listed = [Request(output["index"], *request.settings()) for output in self.outputs]
        return [each for each in listed if each not in self._cache]

    def _progress_reporter(self, still_useful: Callable[[], bool], shown: Sequence[Request] | None = None
                           ) -> Callable[[int, int], None]:
        """Stops the computation once it is no longer useful; moves the view's progress bar while the
        wanted request is among those computed (`shown`, or any when None)."""
        def report(done: int, total: int) -> None:
            if not still_useful():
                raise Superseded()
            if shown is None or self._wanted in shown:
                self.progress = done / max(1, total)

        return report

    def _remember(self, request: Request, computed: tuple[Any, dict]) -> None:
        self._cache[request] = computed
        while len(self._cache) > max(CACHE_SIZE, 2 * len(self.outputs)):
            self._cache.popitem(last=False)

    def _show(self, payload: dict) -> None:
        with self.hold_sync():
            self.result = payload
            self.error = ""
            self.progress = 1.0
            self.status = "done"

    def _show_error(self, exc: BaseException) -> None:
        self.last_exception = exc
        self.error = f"{type(exc).__name__}: {exc}"
        self.status = "error"
