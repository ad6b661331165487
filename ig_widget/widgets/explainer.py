"""The base of every explainer widget: traits shared with the browser and the compute machinery.

A control change (target, baseline, rule, steps) becomes a request. A cached result is shown at once;
otherwise a background thread computes it, so the kernel stays responsive while the view shows
progress. A newer request replaces an older one: each has a generation number, and the engine's
progress callback stops a computation whose generation is no longer the newest.
"""

from __future__ import annotations

import pathlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import anywidget
import traitlets

from ..attribution import RULES

BUNDLE = pathlib.Path(__file__).parent.parent / "static" / "widget.js"
BASELINES = ("black", "blur", "uniform", "gaussian", "max_distance")
SIGN_MODES = ("both", "positive", "negative", "absolute")
CACHE_SIZE = 8
MAX_STEPS = 1024


class Request(NamedTuple):
    """Everything a result depends on that the user can change from the view."""

    target: int
    baseline: str
    rule: str
    steps: int


class Superseded(Exception):
    """Raised inside the engine's progress callback when a newer request has arrived."""


class ExplainerWidget(anywidget.AnyWidget):
    """Shared traits and compute machinery; subclasses say how to compute and encode one request."""

    # The bundle's text, not its path: for a path anywidget connects every instance to a file watcher
    # that keeps it alive for good (manzt/anywidget#929), so a closed widget would never free its tensors.
    _esm = BUNDLE.read_text(encoding="utf-8")
    _view = traitlets.Unicode("").tag(sync=True)
    baseline_names: tuple[str, ...] = BASELINES  # a subclass for another kind of input names its own

    target = traitlets.Int(None, allow_none=True).tag(sync=True)
    baseline = traitlets.Unicode("black").tag(sync=True)
    rule = traitlets.Unicode("gausslegendre").tag(sync=True)
    steps = traitlets.Int(32).tag(sync=True)
    sign = traitlets.Enum(SIGN_MODES, "both").tag(sync=True)
    clip = traitlets.Float(99.0).tag(sync=True)

    choices = traitlets.Dict().tag(sync=True)  # {"baseline": [...], "rule": [...]} for the view's menus
    outputs = traitlets.List(traitlets.Dict()).tag(sync=True)  # top-k: {index, label, score, probability}
    result = traitlets.Dict().tag(sync=True)  # the encoded payload of the current request
    status = traitlets.Enum(("idle", "computing", "done", "error"), "idle").tag(sync=True)
    progress = traitlets.Float(0.0).tag(sync=True)  # 0..1 while computing
    error = traitlets.Unicode("").tag(sync=True)  # readable message of the last failed request

    def __init__(self, **kwargs: Any):
        self._generation = 0
        self._generation_lock = threading.Lock()
        self._compute_lock = threading.Lock()
        self._cache: OrderedDict[Request, tuple[Any, dict]] = OrderedDict()
        self._worker: threading.Thread | None = None
        self.last_exception: BaseException | None = None
        self._started = False
        super().__init__(choices={"baseline": list(self.baseline_names), "rule": list(RULES)}, **kwargs)

    def _start(self) -> None:
        """Called by a subclass once its model and input are in place: from now on controls compute."""
        self._started = True
        self.request()

    # -- what subclasses provide -------------------------------------------------------------
    def _compute(self, request: Request, progress: Callable[[int, int], None]) -> tuple[Any, dict]:
        """Return (attribution result, encoded payload) for `request`; call `progress(done, total)`."""
        raise NotImplementedError

    def _class_count(self) -> int:
        raise NotImplementedError

    # -- validation ----------------------------------------------------------------------------
    @traitlets.validate("target")
    def _check_target(self, proposal: dict) -> int:
        value = proposal["value"]
        count = self._class_count()
        if value is None or isinstance(value, bool) or not 0 <= value < count:
            raise traitlets.TraitError(f"target={value!r} is not a class index; use an int in 0..{count - 1}")
        return value

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
        if not 50.0 <= proposal["value"] <= 100.0:
            raise traitlets.TraitError(f"clip={proposal['value']!r} is a percentile of attribution mass; use 50..100")
        return proposal["value"]

    # -- requests --------------------------------------------------------------------------------
    @traitlets.observe("target", "baseline", "rule", "steps")
    def _on_control_change(self, change: dict) -> None:
        if self._started:
            self.request()

    def request(self) -> None:
        """Show the result for the current controls: from the cache, or computed in the background."""
        request = Request(self.target, self.baseline, self.rule, self.steps)
        with self._generation_lock:
            self._generation += 1
            generation = self._generation
        if request in self._cache:
            self._cache.move_to_end(request)
            self._show(self._cache[request][1])
            return
        self.status, self.progress = "computing", 0.0
        self._worker = threading.Thread(target=self._work, args=(request, generation), daemon=True)
        self._worker.start()

    def wait(self, timeout: float | None = 60.0) -> None:
        """Block until the newest request has finished (for scripts and tests; the view never waits)."""
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

    def _work(self, request: Request, generation: int) -> None:
        with self._compute_lock:  # one computation at a time; a superseded one stops at its next chunk
            if not self._is_current(generation):
                return
            try:
                computed = self._compute(request, self._progress_reporter(generation))
            except Superseded:
                return
            except Exception as exc:  # shown in the view: the user's model can raise anything
                if self._is_current(generation):
                    self.last_exception = exc
                    self.error = f"{type(exc).__name__}: {exc}"
                    self.status = "error"
                return
            self._remember(request, computed)
            if self._is_current(generation):
                self._show(computed[1])

    def _progress_reporter(self, generation: int) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            if not self._is_current(generation):
                raise Superseded()
            self.progress = done / max(1, total)

        return report

    def _is_current(self, generation: int) -> bool:
        with self._generation_lock:
            return generation == self._generation

    def _remember(self, request: Request, computed: tuple[Any, dict]) -> None:
        self._cache[request] = computed
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def _show(self, payload: dict) -> None:
        with self.hold_sync():
            self.result = payload
            self.error = ""
            self.progress = 1.0
            self.status = "done"
