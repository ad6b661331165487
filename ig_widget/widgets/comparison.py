"""MethodComparison: every explanation method side by side on one input, each with its checks.

Saliency, gradient x input, IG with each baseline, SmoothGrad, Blur IG and Guided IG, each with its
completeness gap (where the method has a path), deletion and insertion areas and sanity-check verdict,
from `ig_widget.evaluation.iter_compare_methods`: the Distill article on baselines, live on the user's
model. The methods are computed in a background thread and appear in the view one by one; the kernel
stays free. The user's model is never changed (the engine runs a twin; the sanity check randomizes a
copy). The payload is in `result` (schema.COMPARISON), so a saved notebook or `export_html` page shows
it with no kernel.
"""

from __future__ import annotations

import numbers
import pathlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import anywidget
import torch
import traitlets
from torch import nn

from ..attribution.errors import AttributionInputError
from ..attribution.model_state import isolated_model, model_device, model_dtype
from ..attribution.targets import output_tensor
from ..attribution.validation import check_input, check_model
from ..encode import encode_image
from ..evaluation import ComparedMethod
from ..evaluation.compare import DEFAULT_BASELINES, iter_compare_methods, method_names
from ..evaluation.sanity import DEFAULT_THRESHOLD
from ..schema import palette
from . import background, comparison_picture
from .comparison_payload import comparison_payload
from .display_grid import DisplayGrid
from .explainer import index_of_label, shown
from .image_input import display_map, prepare_input, to_display
from .model_watch import FollowsModel, no_longer_fits
from .refusals import AnswersRefusals

BUNDLE = pathlib.Path(__file__).parent.parent / "static" / "widget.js"
FINISHED_KEPT = 8  # finished comparisons kept by target: going back to one shows it at once


class MethodComparison(FollowsModel, AnswersRefusals, anywidget.AnyWidget):
    """The maps of several attribution methods for one image and target, each with its checks.

    Parameters
    ----------
    model : the nn.Module (an nn.Module, since the sanity check randomizes a copy of its layers; with
        `sanity=False` any callable) mapping images [1, C, H, W] to class scores [1, classes].
    image : a tensor C x H x W (1 or 3 channels) that the model takes as is, or a PIL image / uint8 array
        with `preprocess` (as for ImageExplainer).
    labels : default None (class indices as text). One name per class; shown as text, never markup.
    preprocess : default None. Turns `image` into the model's input tensor.
    target : default None (the top class). A class index or a label. Changeable afterwards, from the
        view's Target menu or as `w.target = k` (a label becomes its index): the cards are computed again
        for it (a comparison already finished for that target is shown at once).
    steps : default 32. Points on each path (IG, Blur IG, Guided IG).
    baselines : default ("black", "blur", "uniform"). One IG column per baseline.
    sanity : default True. Run the cascading-randomization sanity check for each method (the slowest
        part: one explanation per layer with parameters).
    deletion_steps : default 16. Points on the deletion and insertion curves.

    `compared` holds the `ComparedMethod`s of the current target computed so far (the numbers the view
    prints); `wait()` blocks until all are computed. A front end that cannot run widgets (GitHub,
    nbviewer without widget state) shows a picture of the methods computed when the output was made.
    `igw.export_html(w, ...)` saves the view as it is at that moment: called while the comparison is
    still running, the page shows the methods computed so far and says of each missing card that it was
    not computed before export (call `w.wait()` first to export every card).
    """

    _esm = BUNDLE.read_text(encoding="utf-8")
    _view = traitlets.Unicode("comparison").tag(sync=True)
    target = traitlets.Any(None, allow_none=True).tag(
        sync=True
    )  # the explained class index (a label becomes its index)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)  # one name per class: the Target menu's entries
    palette = traitlets.Dict().tag(sync=True)  # schema.palette(): the colours the view draws with
    result = traitlets.Dict().tag(sync=True)  # the comparison payload (schema.COMPARISON), grown per method
    # The explainers' status traits (a static page answers or refuses a target change by them, as it does
    # for the explainers): "computing" / "done" / "error", the share of methods done, the error's text.
    status = traitlets.Enum(("computing", "done", "error"), "computing").tag(sync=True)
    progress = traitlets.Float(0.0).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        model: Callable,
        image: Any,
        labels: Sequence[str] | None = None,
        *,
        preprocess: Callable | None = None,
        target: int | str | None = None,
        steps: int = 32,
        baselines: Sequence[str] = DEFAULT_BASELINES,
        sanity: bool = True,
        deletion_steps: int = 16,
        **kwargs: Any,
    ):
        check_model(model)
        if sanity and not isinstance(model, nn.Module):
            raise AttributionInputError(
                f"model is a {type(model).__name__}; MethodComparison's sanity check needs an nn.Module (it "
                "randomizes a copy of its layers); pass sanity=False for another callable"
            )
        x, original = prepare_input(image, preprocess, model_dtype(model))
        device = model_device(model)
        x = x.to(device) if device is not None else x
        check_input(x, model, name="image")
        scores = _class_scores(model, x)
        classes = scores.shape[1]
        names = _labels(labels, classes)
        if isinstance(target, str):
            target = index_of_label(target, names)
        target = int(scores[0].argmax()) if target is None else target
        if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < classes:
            raise AttributionInputError(f"target must be a class index in [0, {classes}) or a label; got {target!r}")
        self._model, self._x = model, x
        self._options = dict(steps=steps, baselines=tuple(baselines), sanity=sanity, deletion_steps=deletion_steps)
        self._names = method_names(tuple(baselines))
        self._grid = DisplayGrid.for_image(*x.shape[-2:])
        scale, offset = display_map(x, original)
        self._image = encode_image(to_display(self._grid.means(x[0]), scale, offset))
        self._settings = f"{steps} steps per path, deletion and insertion over {deletion_steps} steps, " + (
            f"sanity check: SSIM below {DEFAULT_THRESHOLD:g} once every layer is random passes"
            if sanity
            else "no sanity check"
        )
        self.compared: list[ComparedMethod] = []
        self.last_exception: BaseException | None = None
        self._lock = threading.RLock()  # guards the request number, `compared` and the traits they set
        self._one_at_a_time = threading.Lock()  # one comparison computes at a time
        self._request = 0  # the newest request's number: an older computation stops at its next method
        self._finished: OrderedDict[int, list[ComparedMethod]] = OrderedDict()  # by target, newest last
        self._worker: threading.Thread | None = None
        super().__init__(labels=names, target=target, palette=palette(), **kwargs)
        self._follow(model)
        self._compare(target)

    # -- the target: validated, refused changes answered, a change computes ---------------------------
    @traitlets.validate("target")
    def _check_target(self, proposal: dict) -> int:
        value = proposal["value"]
        if isinstance(value, str):
            try:
                return index_of_label(value, self.labels)
            except AttributionInputError as exc:
                raise traitlets.TraitError(str(exc)) from None
        if isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= value < len(self.labels):
            return int(value)
        raise traitlets.TraitError(
            f"target={value!r} is not a class index; use an int in 0..{len(self.labels) - 1} or a label "
            f"({shown(self.labels)})"
        )

    @traitlets.observe("target")
    def _on_target(self, change: dict) -> None:
        if change["old"] is not None and change["new"] != change["old"]:
            self._compare(change["new"])

    # -- computing ---------------------------------------------------------------------------------
    def _compare(self, target: int) -> None:
        """Show the comparison for `target`: a finished one at once, else computed in a background thread
        (the newest request wins: an older computation stops after the method it is computing). A model
        changed since the finished ones were computed is caught up with first (`refresh`)."""
        if not self._followed():
            return
        with self._lock:
            self._request += 1
            request = self._request
            self.last_exception = None
            self.compared = list(self._finished.get(target, []))
            done = target in self._finished
            self._show(target, "done" if done else "computing")
            if done:
                self._finished.move_to_end(target)
                return
            self._worker = background.start(self._run, target, request)

    def _run(self, target: int, request: int) -> None:
        with self._one_at_a_time:
            try:
                for method in iter_compare_methods(self._model, self._x, target=target, **self._options):
                    self._follower.check()  # every method of one comparison is of the same weights
                    with self._lock:
                        if request != self._request or background.stopping.is_set():
                            return
                        self.compared = [*self.compared, method]
                        finished = len(self.compared) == len(self._names)
                        if finished:
                            self._finished[target] = self.compared
                            while len(self._finished) > FINISHED_KEPT:
                                self._finished.popitem(last=False)
                        self._show(target, "done" if finished else "computing")
            except Exception as exc:  # shown in the view: the user's model can raise anything
                with self._lock:
                    if request == self._request:
                        self.last_exception = exc
                        self._show(target, "error", f"{type(exc).__name__}: {exc}")

    def wait(self, timeout: float | None = 600.0) -> list[ComparedMethod]:
        """Block until every method is computed for the current target (for scripts and tests; the view
        never waits); returns `compared`. Raises TimeoutError after `timeout` seconds (None: no limit), and
        the computation's error if it failed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            worker = self._worker
            if worker is not None:
                worker.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if worker is self._worker or (deadline is not None and time.monotonic() >= deadline):
                break
        if self._worker is not None and self._worker.is_alive():
            raise TimeoutError(
                f"the comparison did not finish within {timeout} s ({len(self.compared)} of {len(self._names)} "
                "methods done); call wait() again, or with a longer timeout"
            )
        if self.last_exception is not None:
            raise self.last_exception
        return self.compared

    def _show(self, target: int, status: str, error: str | None = None) -> None:
        with self.hold_sync():
            self.result = comparison_payload(
                target=target,
                target_label=self.labels[target],
                grid=self._grid,
                image=self._image,
                settings=self._settings,
                names=self._names,
                methods=self.compared,
                threshold=DEFAULT_THRESHOLD,
                computing=status == "computing",
                error=error,
            )
            self.status, self.error = status, error or ""
            self.progress = len(self.compared) / len(self._names)

    # -- following the model (model_watch) ----------------------------------------------------------
    def _forget_results(self) -> None:
        with self._lock:
            self._request += 1  # a comparison in flight stops after its current method
            self._finished.clear()

    def _model_changed(self) -> None:
        classes = _class_scores(self._model, self._x).shape[1]
        if classes != len(self.labels):
            raise no_longer_fits(classes, len(self.labels))

    def _ask_again(self) -> None:
        self._compare(self.target)

    def _show_error(self, exc: BaseException) -> None:
        with self._lock:
            self.last_exception = exc
            self.compared = []
            self._show(self.target, "error", f"{type(exc).__name__}: {exc}")

    # -- where widgets cannot run ------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        """The live view, plus a picture and a text line for front ends that cannot run widgets (GitHub,
        nbviewer without widget state, a terminal): see `comparison_picture`."""
        shown_bundle = super()._repr_mimebundle_(**kwargs)
        if shown_bundle is None:
            return None
        data, metadata = shown_bundle
        return {**data, **comparison_picture.mime_bundle(self)}, metadata


def _class_scores(model: Callable, x: torch.Tensor) -> torch.Tensor:
    """The model's class scores [1, classes] for the image; a clear error for any other output."""
    with torch.no_grad():
        scores = output_tensor(isolated_model(model)(x))
    if not isinstance(scores, torch.Tensor) or scores.ndim != 2 or scores.shape[0] != 1:
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise AttributionInputError(
            f"model(image) gave {shape}; MethodComparison needs class scores of shape [1, classes]"
        )
    return scores


def _labels(labels: Sequence[str] | None, count: int) -> list[str]:
    if labels is None:
        return [str(i) for i in range(count)]
    labels = [str(label) for label in labels]
    if len(labels) != count:
        raise AttributionInputError(
            f"labels has {len(labels)} names but the model gives {count} class scores; give one per class"
        )
    return labels
