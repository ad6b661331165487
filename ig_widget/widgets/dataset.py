"""DatasetExplorer: a gallery over a data-set run's store (see ig_widget.datasets).

Pages are loaded as they are shown: the view holds one page of thumbnails (input and map) at a time,
never the store. Sorting and filtering run here, on the store's table; the chosen order and filters
are traits, so Python and the view agree and `selection` gives the indices the view pages through.
Clicking an example shows its stored result; with `model=` it also opens a live ImageExplainer on it
(below the gallery) to change the target, baseline or path. The live view starts where the store's map
was made (the same model, checked against the store's record of it; the same baseline, rule, steps and
IDGI, for the class the stored map explains), so the two maps side by side differ only by the stored
map's float16 rounding (and, for a store made under autocast, by that run's lower precision).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import anywidget
import numpy as np
import traitlets

from ..attribution.errors import AttributionInputError
from ..attribution.rounding import COMPLETE_GAP
from .dataset_payload import CORRECT, PAGE_SIZES, SORT_KEYS, detail_payload, meta_payload, page_payload, summary_payload
from .explainer import BASELINES
from .model_watch import ModelFollower

BUNDLE = pathlib.Path(__file__).parent.parent / "static" / "widget.js"
FILTER_TRAITS = (
    "sort",
    "descending",
    "label_filter",
    "correct",
    "min_confidence",
    "max_confidence",
    "min_relative_gap",
    "min_concentration",
    "page_size",
)


class DatasetExplorer(anywidget.AnyWidget):
    """Browse a store of attributions: thumbnails by page, sorted and filtered, each openable.

    `store` is an AttributionStore (or its path). `model`: the model the store was made with (another is
    refused), to open a live ImageExplainer on a clicked example, at the store's baseline, rule, steps and
    IDGI (a store of a method without a path opens Integrated Gradients at its defaults). `labels`
    overrides the store's class names.
    """

    _esm = BUNDLE.read_text(encoding="utf-8")
    _view = traitlets.Unicode("dataset").tag(sync=True)
    meta = traitlets.Dict().tag(sync=True)  # see dataset_payload: labels, choices, limits, palette
    sort = traitlets.Enum([key for key, _ in SORT_KEYS], "index").tag(sync=True)
    descending = traitlets.Bool(False).tag(sync=True)
    label_filter = traitlets.Int(-1).tag(sync=True)  # a class index (by label, else prediction), -1 for all
    correct = traitlets.Enum([key for key, _ in CORRECT], "all").tag(sync=True)
    min_confidence = traitlets.Float(0.0, min=0.0, max=1.0).tag(sync=True)
    max_confidence = traitlets.Float(1.0, min=0.0, max=1.0).tag(sync=True)
    # keep |relative gap| >= this, and not within float rounding (AttributionResult.gap_within_rounding)
    min_relative_gap = traitlets.Float(0.0, min=0.0, max=1.0).tag(sync=True)
    min_concentration = traitlets.Float(0.0, min=0.0, max=1.0).tag(sync=True)  # keep top-10% share >= this
    page = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(24).tag(sync=True)
    page_data = traitlets.Dict().tag(sync=True)  # the shown page only (dataset_payload.page_payload)
    opened = traitlets.Int(-1).tag(sync=True)  # the clicked example's index, -1 for none
    detail = traitlets.Dict().tag(sync=True)  # the opened example (dataset_payload.detail_payload)
    summary = traitlets.Dict().tag(sync=True)  # per-class mean |attribution| (dataset_payload.summary_payload)

    def __init__(self, store: Any, *, model: Callable | None = None, **kwargs: Any):
        from ..datasets import AttributionStore, open_attributions

        if not isinstance(store, AttributionStore):
            store = open_attributions(store)
        if not store.complete:
            raise AttributionInputError(f"the store at {str(store.path)!r} is not complete; resume its run first")
        self._live_settings = _live_settings(store, model) if model is not None else None
        self._follower = ModelFollower(model) if model is not None else None  # the model checked just now
        self.store, self.model, self.explainer = store, model, None
        self._table = store.table
        self._order = np.arange(len(store))
        self._live = None
        super().__init__(meta=meta_payload(store), summary=summary_payload(store), **kwargs)
        self._reorder()
        self.observe(self._on_filters, names=list(FILTER_TRAITS))
        self.observe(lambda _: self._show_page(), names=["page"])
        self.observe(self._on_opened, names=["opened"])

    @property
    def selection(self) -> np.ndarray:
        """The indices of the examples the filters keep, in the chosen order (what the view pages through)."""
        return self._order.copy()

    @property
    def page_indices(self) -> np.ndarray:
        return self._order[self.page * self.page_size : (self.page + 1) * self.page_size]

    @property
    def pages(self) -> int:
        return max(1, -(-len(self._order) // self.page_size))

    @traitlets.validate("page_size")
    def _valid_page_size(self, proposal):
        if proposal["value"] not in PAGE_SIZES:
            raise traitlets.TraitError(f"page_size must be one of {PAGE_SIZES}; got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("label_filter")
    def _valid_label(self, proposal):
        if not -1 <= proposal["value"] < len(self.store.labels):
            raise traitlets.TraitError(f"label_filter must be -1 (all) or a class index below {len(self.store.labels)}")
        return proposal["value"]

    def _on_filters(self, _change=None) -> None:
        self._reorder()

    def _reorder(self) -> None:
        table = self._table
        keep = np.ones(len(table), bool)
        if self.label_filter >= 0:
            by = np.where(table["label"] >= 0, table["label"], table["prediction"])
            keep &= by == self.label_filter
        if self.correct != "all":
            keep &= table["correct"].to_numpy() == (self.correct == "correct")
        confidence = table["confidence"].to_numpy()
        keep &= (confidence >= self.min_confidence) & (confidence <= self.max_confidence)
        within_rounding = table["gap_within_rounding"].to_numpy().astype(bool)
        if self.min_relative_gap > 0:  # a gap within float rounding is no gap the attributions missed
            keep &= (np.abs(table["relative_gap"].to_numpy()) >= self.min_relative_gap) & ~within_rounding
        if self.min_concentration > 0:
            keep &= table["concentration"].to_numpy() >= self.min_concentration
        kept = np.flatnonzero(keep)
        key = table[self.sort].to_numpy()[kept]
        if self.sort in ("gap", "relative_gap"):
            loud = within_rounding & (np.abs(table["relative_gap"].to_numpy()) >= COMPLETE_GAP)  # reads_as_rounding
            order = _gap_order(np.abs(key), loud[kept], self.descending)
        else:
            order = np.argsort(-key if self.descending else key, kind="stable")
        self._order = kept[order]
        if self.page != 0:
            self.page = 0  # shows the first page through the observer
        else:
            self._show_page()

    def _show_page(self) -> None:
        if not 0 <= self.page < self.pages:
            self.page = min(max(self.page, 0), self.pages - 1)  # shows it through the observer
            return
        self.page_data = page_payload(
            self.store, self._table, self.page_indices, self.page, self.pages, len(self._order)
        )

    def open_example(self, index: int):
        """Open example `index` (as a click does); returns the live ImageExplainer when a model was given."""
        if self.opened == int(index):  # open again (its live view may have been refused before)
            self._on_opened({"new": int(index)})
        else:
            self.opened = int(index)
        return self.explainer

    def _on_opened(self, change) -> None:
        index = change["new"]
        if index < 0:
            self.detail = {}
            return
        if not 0 <= index < len(self.store):
            raise AttributionInputError(f"opened={index} is not an example of this store of {len(self.store)}")
        self.detail = detail_payload(self.store, self._table, index)
        if self.model is not None:
            self._open_live(index)

    def _open_live(self, index: int) -> None:
        import torch

        from .image import ImageExplainer

        reading = self._follower.changed()
        if reading is not None:  # trained or reloaded since it was checked: is it still the store's model?
            try:
                self._live_settings = _live_settings(self.store, self.model)
            except AttributionInputError as exc:
                self.explainer = None
                self._show_live({"text/plain": str(exc)})
                raise
            self._follower.accept(reading)
        result = self.store[index]
        # the class the stored map explains (the label, the prediction or a fixed class); a callable's
        # target (-1) cannot be shown live: its label, else its prediction
        row = self._table.iloc[index]
        target = next(int(row[column]) for column in ("target", "label", "prediction") if int(row[column]) >= 0)
        self.explainer = ImageExplainer(
            self.model, result.inputs[0].to(torch.float32), self.store.labels, target=target, **self._live_settings
        )
        self._show_live(
            {
                "text/plain": repr(self.explainer),
                "application/vnd.jupyter.widget-view+json": {
                    "version_major": 2,
                    "version_minor": 0,
                    "model_id": self.explainer.model_id,
                },
            }
        )

    def _show_live(self, data: dict) -> None:
        """Show `data` (a mime bundle) below the gallery, where the live view goes (once it is displayed)."""
        if self._live is not None:
            self._live.outputs = ({"output_type": "display_data", "metadata": {}, "data": data},)

    def _repr_mimebundle_(self, **kwargs: Any):
        """With a model: the gallery above an output area where a clicked example's live explainer opens."""
        if self.model is None:
            return super()._repr_mimebundle_(**kwargs)
        import ipywidgets

        if self._live is None:
            self._live = ipywidgets.Output()
            self._box = ipywidgets.VBox([self, self._live])
        return self._box._repr_mimebundle_(**kwargs)


def _live_settings(store: Any, model: Callable) -> dict:
    """The ImageExplainer settings that start the live view where the store's maps were made; refuses a
    model other than the store's and a baseline the live view does not offer, rather than show a live map
    of something else beside the stored one."""
    from ..datasets.identity import describe, model_identity

    config = store.config
    recorded, given = config.get("model"), model_identity(model)
    if recorded is not None and given != recorded:
        raise AttributionInputError(
            f"model is not the model this store was made with ({describe(recorded)} there, {describe(given)} "
            "here): its live view would explain another model beside the stored maps. Pass that model, or no "
            "model to browse the stored results"
        )
    if config.get("steps") is None:  # a method without a path: the live view is Integrated Gradients
        return {}
    baseline = config["baseline"]
    name = "black" if baseline in ("zero", 0.0) else baseline
    if name not in BASELINES:
        raise AttributionInputError(
            f"the store's baseline ({baseline!r}) is not one the live view offers ({', '.join(BASELINES)}); pass "
            "no model to browse the stored results"
        )
    return {"steps": config["steps"], "rule": config["rule"], "baseline": name, "idgi": config["method"] == "idgi"}


def _gap_order(magnitudes: np.ndarray, rounding: np.ndarray, descending: bool) -> np.ndarray:
    """The order of rows sorted by |gap| (or |relative gap|), the rows whose gap reads as rounding
    (`rounding.reads_as_rounding`: within the float rounding of F(x) and F(x'), and at least 1% of a score
    that hardly changes, such as 137% of 1.2e-7) after every other row when descending, before them when
    ascending: such a gap is no part of the score the attributions missed, so sorting for the largest gaps
    must not put it first. Each group keeps its own |gap| order, ties in index order."""
    if descending:
        return np.lexsort((-magnitudes, rounding))
    return np.lexsort((magnitudes, ~rounding))
