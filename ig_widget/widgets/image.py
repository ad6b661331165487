"""ImageExplainer: Integrated Gradients for an image classifier, live in the notebook."""

from __future__ import annotations

import math
import numbers
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import traitlets
from torch import Tensor

from ..attribution import (
    AttributionResult,
    blur_integrated_gradients,
    guided_integrated_gradients,
    integrated_gradients,
    integrated_gradients_multi,
)
from ..attribution.batching import CPU_MIN_POINTS, auto_batch_size
from ..attribution.class_scores import check_output_on_scores, class_probabilities, score_name
from ..attribution.errors import AttributionInputError
from ..attribution.model_state import isolated_model, model_device, model_dtype
from ..attribution.targets import output_tensor
from ..attribution.validation import check_input, first_model_call
from ..encode import encode_array, encode_image
from ..evaluation import deletion_insertion, sanity_check
from ..schema import DISPLAY_MODES
from . import background
from .display_grid import DisplayGrid
from .explainer import ExplainerWidget, Request, check_explainer_arguments, index_of_label
from .image_input import display_map, prepare_input, to_display
from .model_watch import no_longer_fits
from .outputs import check_top_k, output_rows, resolve_score_kind
from .payload import completeness, floats, printed_input, trace_payload

PROGRESS_UPDATES = 8  # path chunks per computation, for a moving progress bar, unless too small (walk_batch_size)
PATHS = ("straight", "blur", "guided")  # the path control's choices: IG, Blur IG, Guided IG
# The controls a path ignores, with the reason the view gives when it disables them.
UNUSED_BY_PATH = {
    "blur": {"baseline": "Blur IG starts from the input blurred at the largest sigma: no baseline is used"},
    "guided": {
        "rule": "Guided IG takes one gradient per step at the step's start (its own Riemann sum): no rule is used"
    },
}
# What a checks result was computed for: the panel marks it stale when one of these changes.
CHECKED_SETTINGS = ("target", "baseline", "rule", "steps", "path", "idgi")
BLUR_SIGMA = 50.0  # Blur IG's start (the paper's), or half the image's longer side when that is less
# The coarse preview (issue 15: a first map within 2 s on a slow model). A request whose estimate is above
# PREVIEW_ABOVE_S shows a PREVIEW_STEPS-step result of the same path, baseline and rule first. The
# estimate is the constructor's prediction pass times PASSES_PER_STEP per path point: a backward pass
# costs about two forward ones, and that first pass is the slowest (one-off allocations), so the estimate
# errs towards a preview. A tiny model's estimate is milliseconds: it never pays for one.
PREVIEW_ABOVE_S = 2.0
PREVIEW_STEPS = 4
PASSES_PER_STEP = 3


class ImageExplainer(ExplainerWidget):
    """Explain why `model` gave its output for `image`: heatmaps, the alpha path, the top outputs.

    `image` is a tensor C x H x W (1 or 3 channels) that the model takes as is, or a PIL image /
    uint8 array with a `preprocess` callable that turns it into such a tensor. `target=None`
    explains the top prediction (a label from `labels` works too). `score_kind`: "probability"
    lists the outputs as softmax percentages (class logits), "score" as raw values (regression,
    similarities); by default "score" for a single output, else "probability". `top_k` (a positive int,
    default 5): how many of the best outputs the list shows, the explained one added when it is not
    among them. Changing `target`, `baseline`, `rule` or `steps` (here or in the
    view) recomputes in the background; `wait()` blocks until the newest result is ready.

    `path` picks the path method: "straight" (IG), "blur" (Blur IG: from the image blurred at sigma =
    min(50, half its longer side) to the image; the baseline does not apply) or "guided" (Guided IG from
    the baseline; its own left Riemann sum, so the rule does not apply). `idgi=True` applies IDGI on
    any of them (its gap is zero by construction). The alpha slider shows each path's own points.

    `preview`: a slow model first shows a coarse result of the same path, baseline and rule at fewer
    steps, then replaces it in place with the requested one; the badge says "preview" meanwhile and
    `explanation` is the preview's result until the final one lands (`wait()` waits for that). "auto"
    (default) previews at PREVIEW_STEPS steps when the constructor's prediction pass says a request
    takes more than PREVIEW_ABOVE_S seconds; an int previews every uncached request at that many steps
    (when fewer than `steps`); None never previews.
    """

    display = traitlets.Enum(DISPLAY_MODES, "heat").tag(sync=True)  # its colours are the legend's (README)
    opacity = traitlets.Float(0.6, min=0.0, max=1.0).tag(sync=True)
    path = traitlets.Unicode("straight").tag(sync=True)  # one of PATHS; each path keeps its own results
    idgi = traitlets.Bool(False).tag(sync=True)  # IDGI on the chosen path
    # The checks panel: {"for": the settings checked, "sanity": ..., "deletion": ...} from `run_checks`
    # (numbers for the curves, and each printed number as the text Python prints); {} until run.
    checks = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        model: Callable,
        image: Any,
        labels: Sequence[str] | None = None,
        *,
        preprocess: Callable | None = None,
        target: int | str | None = None,
        baseline: str = "black",
        steps: int = 32,
        rule: str = "gausslegendre",
        path: str = "straight",
        idgi: bool = False,
        output: str = "logit",
        top_k: int = 5,
        score_kind: str | None = None,
        preview: str | int | None = "auto",
        **kwargs: Any,
    ):
        check_explainer_arguments(model, output, score_kind)
        check_top_k(top_k)
        self._preview_setting = _check_preview(preview)
        x, original = prepare_input(image, preprocess, model_dtype(model))
        device = model_device(model)
        self._model, self._output = model, output
        self._x = x.to(device) if device is not None else x
        self._logits = self._predict()
        check_output_on_scores(output, self._logits)
        self._labels = _check_labels(labels, len(self._logits))
        self._top_k = top_k
        self._score_kind = resolve_score_kind(score_kind, model, len(self._logits))
        self._scale, self._offset = display_map(self._x, original)
        self._grid = DisplayGrid.for_image(*self._x.shape[-2:])
        self._image = encode_image(to_display(self._grid.means(self._x[0]), self._scale, self._offset))
        # what hover needs to print the input: the same in every payload, made once (24 ms a payload, 224 x 224, load 8)
        self._printed_input = printed_input(self._grid.means(self._x[0]), self._scale, self._offset, self._image)
        top = int(self._logits.argmax())
        target = index_of_label(target, self._labels, self.index_word) if isinstance(target, str) else target
        super().__init__(
            _view="image",
            target=top if target is None else target,
            baseline=baseline,
            steps=steps,
            rule=rule,
            path=path,
            idgi=idgi,
            **kwargs,
        )
        self.choices = {
            **self.choices,
            "path": list(PATHS),
            "display": list(DISPLAY_MODES),
            "unused": UNUSED_BY_PATH,
            "checked": list(CHECKED_SETTINGS),
        }
        self._caches = {(self.path, self.idgi): self._cache}  # each path keeps its results (the base's cache)
        self.outputs = self._top_outputs()
        self.on_msg(self._on_message)
        self._start()

    def _on_message(self, _widget: Any, content: dict, _buffers: Any) -> None:
        """The view's Run checks button: the checks run in the background, the kernel stays free."""
        if isinstance(content, dict) and content.get("type") == "run_checks":
            background.start(self._run_checks_safely)

    def _run_checks_safely(self) -> None:
        try:
            self.run_checks()
        except Exception as exc:  # shown in the panel: the user's model can raise anything
            self.checks = {"error": f"{type(exc).__name__}: {exc}"}

    def run_checks(self) -> dict:
        """Sanity check (cascading randomization of a copy of the model) and deletion/insertion curves for
        the shown explanation (its target, path, baseline, rule and steps); the view's checks panel shows
        them and an exported page keeps them. Returns the payload it sets on `checks`. A model changed
        since the shown explanation is caught up with first (`refresh`): checks of a map of earlier weights
        against the new ones would mean nothing."""
        self.refresh()
        self.wait()
        request, path, idgi = Request(self.target, self.baseline, self.rule, self.steps), self.path, self.idgi
        result = self.explanation
        if result is None:
            raise AttributionInputError("no explanation to check yet: the last computation failed (see .error)")
        values = {**request._asdict(), "path": path, "idgi": idgi}
        settings = {name: values[name] for name in CHECKED_SETTINGS}
        self.checks = {"for": settings, "running": True}

        def method(model, x, target=None):
            return self._attribute(model, x, target, request, path, idgi)

        sanity = (
            sanity_check(self._model, self._x, target=request.target, method=method)
            if isinstance(self._model, torch.nn.Module)
            else None
        )
        curves = deletion_insertion(self._model, self._x, result, target=request.target)
        payload = {"for": settings, "deletion": _curves_payload(curves)}
        if sanity is not None:
            payload["sanity"] = _sanity_payload(sanity, self._x.shape[-2:])
        self.checks = payload
        return payload

    def _attribute(self, model: Callable, x: Tensor, target: int, request: Request, path: str, idgi: bool) -> Tensor:
        """The shown method's attributions on another model (a randomized copy), without a trace."""
        if path == "straight":
            return integrated_gradients(
                model,
                x,
                target=target,
                baseline=request.baseline,
                steps=request.steps,
                rule=request.rule,
                output=self._output,
                trace=False,
                idgi=idgi,
            ).attributions
        if path == "blur":
            return blur_integrated_gradients(
                model,
                x,
                target=target,
                steps=request.steps,
                rule=request.rule,
                max_sigma=self._blur_sigma(),
                output=self._output,
                trace=False,
                idgi=idgi,
            ).attributions
        return guided_integrated_gradients(
            model,
            x,
            target=target,
            baseline=request.baseline,
            steps=request.steps,
            output=self._output,
            trace=False,
            idgi=idgi,
        ).attributions

    @traitlets.validate("path")
    def _check_path(self, proposal: dict) -> str:
        if proposal["value"] not in PATHS:
            raise traitlets.TraitError(f"path={proposal['value']!r} is unknown; use one of {', '.join(PATHS)}")
        return proposal["value"]

    @traitlets.observe("path", "idgi")
    def _on_path(self, change: dict) -> None:
        """Another path shows its own results: its cache replaces the shown one, then the usual request."""
        if not hasattr(self, "_caches"):
            return
        with self._state_lock:
            self._cache = self._caches.setdefault((self.path, self.idgi), OrderedDict())
        if self._started:
            self.request()

    def _remember(self, request, computed: tuple) -> None:
        """Keep a result with the path it was computed on (the user may have switched since)."""
        payload = computed[1]
        shown = self._cache
        self._cache = self._caches.setdefault((payload["path"], payload["idgi"]), OrderedDict())
        try:
            super()._remember(request, computed)
        finally:
            self._cache = shown

    def _show(self, payload: dict) -> None:
        if (payload.get("path"), payload.get("idgi")) != (self.path, self.idgi):
            return  # computed on a path the view has left
        super()._show(payload)

    def _show_preview(self, request: Request, computed: tuple) -> None:
        if (computed[1]["path"], computed[1]["idgi"]) == (self.path, self.idgi):  # else a path the view has left
            super()._show_preview(request, computed)

    def preview_steps(self, request: Request) -> int | None:
        """The steps of the preview shown before `request` is computed, or None for no preview."""
        setting = self._preview_setting
        if setting == "auto":
            estimate = self._forward_seconds * PASSES_PER_STEP * request.steps
            setting = PREVIEW_STEPS if estimate > PREVIEW_ABOVE_S else None
        return setting if setting is not None and setting < request.steps else None

    def _preview(self, request: Request, progress: Callable[[int, int], None]) -> tuple | None:
        """The same path, baseline and rule at `preview_steps` steps, in one chunk where memory allows (4
        forward and 4 backward passes: an eighth of the 32-step map's); its payload's `preview` names the
        steps of the result that will replace it."""
        steps = self.preview_steps(request)
        if steps is None:
            return None
        batch_size = min(steps, auto_batch_size(self._x[0], 1, steps))
        result, payload = self._compute(request._replace(steps=steps), progress, batch_size)
        return result, {**payload, "preview": {"final_steps": request.steps}}

    def _label_names(self) -> list[str]:
        return self._labels

    @traitlets.observe("target")
    def _on_target(self, change: dict) -> None:
        self.outputs = self._top_outputs()

    def _model_changed(self) -> None:
        logits = self._predict()
        if len(logits) != len(self._labels):
            raise no_longer_fits(len(logits), len(self._labels))
        self._logits = logits
        self.outputs = self._top_outputs()

    def _forget_results(self) -> None:
        """Every path's results and the checks panel, all computed from the earlier weights."""
        super()._forget_results()
        with self._state_lock:
            for cache in self._caches.values():
                cache.clear()
        self.checks = {}

    def _predict(self) -> Tensor:
        check_input(self._x, self._model, name="image")
        model = isolated_model(self._model)
        with torch.no_grad():
            started = time.perf_counter()
            raw = output_tensor(first_model_call(lambda x, rows: model(x), self._x, None))
            self._forward_seconds = time.perf_counter() - started  # the model's own pass: what "auto" goes by
        if not isinstance(raw, Tensor) or raw.ndim != 2 or raw.shape[0] != 1:
            shape = tuple(raw.shape) if isinstance(raw, Tensor) else type(raw).__name__
            raise AttributionInputError(
                f"model(image) gave {shape}; ImageExplainer needs class scores of shape [1, classes]"
            )
        return raw[0].detach().cpu().float()

    def _top_outputs(self) -> list[dict]:
        name = score_name(self._logits)
        return output_rows(
            self._logits,
            class_probabilities(self._logits, name=name),
            self._score_kind,
            self._top_k,
            self.target,
            self._labels.__getitem__,
            score_name=name,
        )

    def _compute(
        self, request: Request, progress: Callable[[int, int], None], batch_size: int | None = None
    ) -> tuple[AttributionResult, dict]:
        """(result, payload) of `request` on the shown path; `batch_size`: path points per chunk (default
        `_batch_size`: enough chunks for a moving progress bar)."""
        path, idgi = self.path, self.idgi
        if path != "straight":
            return self._compute_many([request], progress, batch_size)[0]
        result = integrated_gradients(
            self._model,
            self._x,
            target=request.target,
            baseline=request.baseline,
            steps=request.steps,
            rule=request.rule,
            batch_size=batch_size or self._batch_size(request.steps),
            output=self._output,
            progress=progress,
            trace_reduce=self._grid.trace_reducer(),
            idgi=idgi,
        )
        return result, self._encode(result, request, path, idgi)

    def _compute_many(
        self, requests: list[Request], progress: Callable[[int, int], None], batch_size: int | None = None
    ) -> list[tuple[AttributionResult, dict]]:
        path, idgi = self.path, self.idgi  # read once: the results say which path they were computed on
        first = requests[0]
        batch_size = batch_size or self._batch_size(first.steps)
        common = dict(output=self._output, progress=progress, trace_reduce=self._grid.trace_reducer(), idgi=idgi)
        if path == "straight":
            results = integrated_gradients_multi(
                self._model,
                self._x,
                targets=[request.target for request in requests],
                baseline=first.baseline,
                steps=first.steps,
                rule=first.rule,
                batch_size=batch_size,
                **common,
            )
        elif path == "blur":  # one walk per target: the blur path has no multi-target walk yet
            results = [
                blur_integrated_gradients(
                    self._model,
                    self._x,
                    target=request.target,
                    steps=request.steps,
                    rule=request.rule,
                    max_sigma=self._blur_sigma(),
                    batch_size=batch_size,
                    **common,
                )
                for request in requests
            ]
        else:
            results = [
                guided_integrated_gradients(
                    self._model,
                    self._x,
                    target=request.target,
                    baseline=request.baseline,
                    steps=request.steps,
                    **common,
                )
                for request in requests
            ]
        return [(result, self._encode(result, request, path, idgi)) for result, request in zip(results, requests)]

    def _blur_sigma(self) -> float:
        return min(BLUR_SIGMA, max(self._x.shape[-2:]) / 2)

    def _batch_size(self, steps: int) -> int:
        return walk_batch_size(self._x, steps)

    def _encode(self, result: AttributionResult, request: Request, path: str = "straight", idgi: bool = False) -> dict:
        _, channels, height, width = self._x.shape
        grid = self._grid
        return {
            "path": path,
            "idgi": idgi,
            "path_label": _path_label(path, idgi, self._blur_sigma()),
            **self._path_images(result),
            "kind": "image",
            "height": grid.rows,  # what is drawn: the display grid (the input itself up to MAX_DISPLAY_SIDE a side)
            "width": grid.columns,
            "map_height": grid.rows,
            "map_width": grid.columns,
            "cell": [grid.cell, grid.cell],  # input pixels per drawn pixel, each way
            "source_height": height,
            "source_width": width,
            "channels": channels,
            "target": request.target,
            "target_label": self._labels[request.target],
            "baseline": request.baseline,
            "rule": request.rule,
            "steps": request.steps,
            "output": self._output,
            "image": self._image,
            "baseline_image": encode_image(to_display(grid.means(result.baseline[0]), self._scale, self._offset)),
            "input_scale": [float(s) for s in self._scale],  # model value = offset + scale * byte
            "input_offset": [float(o) for o in self._offset],
            **self._printed_input,
            "attributions": floats(grid.sums(result.attributions[0].sum(dim=0))),
            "completeness": completeness(result),
            "trace": trace_payload(result.trace),
        }

    def _path_images(self, result: AttributionResult) -> dict:
        """A curved path's points as display images, [steps, H, W, 3] uint8 on the display grid (the slider
        shows them); nothing for the straight path, whose points the view blends from x' and x."""
        points = None if result.trace is None else result.trace.points
        if points is None:
            return {}
        frames = np.stack([to_display(self._grid.means(point), self._scale, self._offset) for point in points[:, 0]])
        return {"path_images": encode_image(frames)}


def walk_batch_size(x: Tensor, steps: int) -> int:
    """Path points per chunk of a `steps`-point walk on `x` ([1, C, H, W]): PROGRESS_UPDATES chunks, so that
    the progress bar moves and a superseded walk stops within an eighth of its work, but never fewer than
    the engine's CPU_MIN_POINTS points a chunk, nor more than its memory budget allows (`auto_batch_size`).
    Smaller chunks cost more per point: ResNet-50 at 224 x 224, 32 points, a forward and a backward pass
    each, chunks of 4 took 1.09 x (1 thread) and 1.54 x (2 threads) the time of chunks of 8 (medians of 3
    interleaved rounds on a loaded 2-core machine, benchmarks/README.md), and the widget's 8 chunks of 4
    were what its five maps walked in before.
    `benchmarks/heldout.py`'s floor of the five maps walks in the same chunks."""
    return min(max(math.ceil(steps / PROGRESS_UPDATES), CPU_MIN_POINTS), auto_batch_size(x[0], 1, steps))


def _curves_payload(curves) -> dict:
    """Deletion and insertion of row 0: the curves (drawn) and the two areas (printed, as text)."""
    return {
        "fractions": [float(v) for v in curves.fractions],
        "deletion": [float(v) for v in curves.deletion[:, 0]],
        "insertion": [float(v) for v in curves.insertion[:, 0]],
        "deletion_area": f"{float(curves.deletion_area[0]):.3f}",
        "insertion_area": f"{float(curves.insertion_area[0]):.3f}",
        "output": curves.output,
    }


THUMBNAIL_SIDE = 64  # the checks panel's maps: at most this many pixels a side (blocks summed)


def _sanity_payload(sanity, size: Sequence[int]) -> dict:
    """Per randomized layer (output layer first) the SSIM and rank correlation with the original map, as
    printed; whether the map changed once every layer was random; and the maps themselves, `maps[0]` the
    trained model's and `maps[i + 1]` the map after layer i, int8 [layers + 1, rows, columns] with a scale
    per map, summed over channels and blocks of at most THUMBNAIL_SIDE a side (drawn, never printed)."""
    grid = DisplayGrid.for_image(*size, max_side=THUMBNAIL_SIDE)
    return {
        "maps": encode_array(grid.sums(sanity.maps[:, 0].float()), "int8", per_slice=True),
        "layers": [f"{name} ({kind})" for name, kind in zip(sanity.layers, sanity.layer_kinds)] or list(sanity.layers),
        "ssim": [f"{float(v):.2f}" for v in sanity.ssim[:, 0]],
        "spearman": [f"{float(v):.2f}" for v in sanity.spearman[:, 0]],
        "threshold": f"{sanity.threshold:g}",
        "passed": bool(sanity.passed[0]),
    }


def _path_label(path: str, idgi: bool, sigma: float) -> str:
    """How the view names the path (its slider panel's caption)."""
    name = {
        "straight": "x′ + α(x − x′)",
        "blur": f"blurred input (σ = {sigma:g} at α = 0 → 0 at α = 1)",
        "guided": "Guided IG's path (features moved so far)",
    }[path]
    return f"{name} · IDGI" if idgi else name


def _check_preview(preview: Any) -> str | int | None:
    if preview is None or preview == "auto":
        return preview
    if isinstance(preview, numbers.Integral) and not isinstance(preview, bool) and preview >= 1:
        return int(preview)
    raise AttributionInputError(
        f"preview={preview!r} is not a preview setting; use 'auto', a number of steps (an int >= 1) or None"
    )


def _check_labels(labels: Sequence[str] | None, count: int) -> list[str]:
    if labels is None:
        return [str(i) for i in range(count)]
    labels = [str(label) for label in labels]
    if len(labels) != count:
        raise AttributionInputError(
            f"labels has {len(labels)} names but the model gives {count} class scores; give one per class"
        )
    return labels
