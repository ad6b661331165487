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

import pathlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

import anywidget
import torch
import traitlets
from torch import nn

from ..attribution.errors import AttributionInputError
from ..attribution.model_state import isolated_model, model_device
from ..attribution.targets import output_tensor
from ..attribution.validation import check_input, check_model
from ..encode import encode_image
from ..evaluation import ComparedMethod
from ..evaluation.compare import DEFAULT_BASELINES, iter_compare_methods, method_names
from ..evaluation.sanity import DEFAULT_THRESHOLD
from ..schema import palette
from .comparison_payload import comparison_payload
from .display_grid import DisplayGrid
from .explainer import index_of_label
from .image_input import display_map, prepare_input, to_display

BUNDLE = pathlib.Path(__file__).parent.parent / "static" / "widget.js"


class MethodComparison(anywidget.AnyWidget):
    """The maps of several attribution methods for one image and target, each with its checks.

    Parameters
    ----------
    model : the nn.Module (an nn.Module, since the sanity check randomizes a copy of its layers; with
        `sanity=False` any callable) mapping images [1, C, H, W] to class scores [1, classes].
    image : a tensor C x H x W (1 or 3 channels) that the model takes as is, or a PIL image / uint8 array
        with `preprocess` (as for ImageExplainer).
    labels : default None (class indices as text). One name per class; shown as text, never markup.
    preprocess : default None. Turns `image` into the model's input tensor.
    target : default None (the top class). A class index or a label.
    steps : default 32. Points on each path (IG, Blur IG, Guided IG).
    baselines : default ("black", "blur", "uniform"). One IG column per baseline.
    sanity : default True. Run the cascading-randomization sanity check for each method (the slowest
        part: one explanation per layer with parameters).
    deletion_steps : default 16. Points on the deletion and insertion curves.

    `compared` holds the `ComparedMethod`s computed so far (the numbers the view prints); `wait()`
    blocks until all are computed.
    """

    _esm = BUNDLE.read_text(encoding="utf-8")
    _view = traitlets.Unicode("comparison").tag(sync=True)
    palette = traitlets.Dict().tag(sync=True)  # schema.palette(): the colours the view draws with
    result = traitlets.Dict().tag(sync=True)  # the comparison payload (schema.COMPARISON), grown per method

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
        x, original = prepare_input(image, preprocess)
        device = model_device(model)
        x = x.to(device) if device is not None else x
        check_input(x, model, name="image")
        with torch.no_grad():
            scores = output_tensor(isolated_model(model)(x))
        if not isinstance(scores, torch.Tensor) or scores.ndim != 2 or scores.shape[0] != 1:
            shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
            raise AttributionInputError(
                f"model(image) gave {shape}; MethodComparison needs class scores of shape [1, classes]"
            )
        classes = scores.shape[1]
        self._labels = _labels(labels, classes)
        if isinstance(target, str):
            target = index_of_label(target, self._labels)
        target = int(scores[0].argmax()) if target is None else target
        if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < classes:
            raise AttributionInputError(f"target must be a class index in [0, {classes}) or a label; got {target!r}")
        self.target = target
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
        super().__init__(palette=palette(), result=self._payload(computing=True), **kwargs)
        self._worker = threading.Thread(target=self._run, daemon=True)
        self._worker.start()

    def wait(self, timeout: float | None = 600.0) -> list[ComparedMethod]:
        """Block until every method is computed (for scripts and tests; the view never waits); returns
        `compared`. Raises the computation's error, if it failed."""
        self._worker.join(timeout)
        if self._worker.is_alive():
            raise TimeoutError(f"the comparison did not finish within {timeout} s")
        if self.last_exception is not None:
            raise self.last_exception
        return self.compared

    def _run(self) -> None:
        try:
            for method in iter_compare_methods(self._model, self._x, target=self.target, **self._options):
                self.compared = [*self.compared, method]
                self.result = self._payload(computing=len(self.compared) < len(self._names))
        except Exception as exc:  # shown in the view: the user's model can raise anything
            self.last_exception = exc
            self.result = self._payload(computing=False, error=f"{type(exc).__name__}: {exc}")

    def _payload(self, computing: bool, error: str | None = None) -> dict:
        return comparison_payload(
            target=self.target,
            target_label=self._labels[self.target],
            grid=self._grid,
            image=self._image,
            settings=self._settings,
            names=self._names,
            methods=self.compared,
            threshold=DEFAULT_THRESHOLD,
            computing=computing,
            error=error,
        )


def _labels(labels: Sequence[str] | None, count: int) -> list[str]:
    if labels is None:
        return [str(i) for i in range(count)]
    labels = [str(label) for label in labels]
    if len(labels) != count:
        raise AttributionInputError(
            f"labels has {len(labels)} names but the model gives {count} class scores; give one per class"
        )
    return labels
