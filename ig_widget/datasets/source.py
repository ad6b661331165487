"""The examples of a data-set run, addressable by index (which resuming and splitting across ranks need).

`data` may be a tensor [N, ...] (no labels), a pair (inputs, labels) of tensors, a map-style dataset
whose items are `x` or `(x, label, ...)` (a TensorDataset, a torchvision dataset), or a DataLoader over
such a dataset (its dataset is read by index, and its batch size becomes the unit of work). An
iterable-style dataset cannot be resumed or split by index and is refused before any work.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from torch import Tensor

from ..attribution.errors import AttributionInputError


class Examples:
    """Index-addressable examples: `batch(start, stop)` gives (inputs [n, ...], labels [n] or None)."""

    def __init__(self, data: Any):
        self.loader_batch_size: int | None = None
        if isinstance(data, torch.utils.data.DataLoader):
            self.loader_batch_size = data.batch_size
            data = data.dataset
        if isinstance(data, torch.utils.data.IterableDataset):
            raise AttributionInputError(
                "data is an iterable-style dataset; attribute_dataset reads examples by index (to resume and "
                "to split the work across processes): give a map-style dataset, a DataLoader over one, or a tensor"
            )
        self.inputs: Tensor | None = None
        self.labels: Tensor | None = None
        self.dataset: Any = None
        if isinstance(data, Tensor):
            self.inputs = data
        elif isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(part, Tensor) for part in data):
            self.inputs, self.labels = data
            if len(self.labels) != len(self.inputs):
                raise AttributionInputError(
                    f"data=(inputs, labels) has {len(self.inputs)} inputs but {len(self.labels)} labels; give one label per input"
                )
        elif hasattr(data, "__getitem__") and hasattr(data, "__len__"):
            self.dataset = data
        else:
            raise AttributionInputError(
                f"data is a {type(data).__name__}; give a tensor [N, ...], a pair (inputs, labels), a map-style "
                "dataset or a DataLoader over one"
            )
        if len(self) == 0:
            raise AttributionInputError("data has no examples; give at least one")
        first_x, first_label = self._item(0)
        if not isinstance(first_x, Tensor) or not first_x.dtype.is_floating_point:
            raise AttributionInputError(
                f"each example's input must be a floating tensor (the model's input, without the batch dim); "
                f"got {type(first_x).__name__}{'' if not isinstance(first_x, Tensor) else ' of ' + str(first_x.dtype)}"
            )
        self.example_shape = tuple(first_x.shape)
        self.has_labels = first_label is not None

    def __len__(self) -> int:
        return len(self.inputs) if self.inputs is not None else len(self.dataset)

    def _item(self, index: int) -> tuple[Tensor, Any]:
        if self.inputs is not None:
            return self.inputs[index], None if self.labels is None else self.labels[index]
        item = self.dataset[index]
        if isinstance(item, Tensor):
            return item, None
        if isinstance(item, Sequence) and len(item) >= 2:
            return item[0], item[1]
        if isinstance(item, Sequence) and len(item) == 1:
            return item[0], None
        return item, None

    def batch(self, start: int, stop: int) -> tuple[Tensor, Tensor | None]:
        """Inputs [stop - start, ...] and labels (int64) or None."""
        if self.inputs is not None:
            labels = None if self.labels is None else self.labels[start:stop].long()
            return self.inputs[start:stop], labels
        items = [self._item(index) for index in range(start, stop)]
        inputs = torch.stack([torch.as_tensor(x) for x, _ in items])
        if not self.has_labels:
            return inputs, None
        return inputs, torch.as_tensor([_class_index(label, start + i) for i, (_, label) in enumerate(items)])


def _class_index(label: Any, index: int) -> int:
    """A dataset's label as a class index; a label that is none (a name, a float) is refused, naming it."""
    if not isinstance(label, bool):
        try:
            return operator.index(label)  # ints, numpy integers, one-element integer tensors
        except TypeError:
            pass
    raise AttributionInputError(
        f"data's label of example {index} is {label!r}, not a class index; give each label as an int class "
        "index (class names go to labels=, in class order)"
    )


def prefetched(
    examples: Examples, spans: Sequence[tuple[int, int]], device: torch.device
) -> Iterator[tuple[Tensor, Tensor | None]]:
    """The batches of `spans` [(start, stop)] on `device` (inputs and labels), each read (and, for a GPU,
    pinned and copied without a wait) in a thread of its own while the one before is being computed: a dataset that
    decodes files per item does so beside the model's passes, not between them."""

    def load(start: int, stop: int) -> tuple[Tensor, Tensor | None]:
        inputs, labels = examples.batch(start, stop)
        return _moved(inputs, device), None if labels is None else _moved(labels, device)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ig-widget loader") as loader:
        pending = loader.submit(load, *spans[0]) if spans else None
        for following in [*spans[1:], None]:
            ready = pending.result()
            pending = loader.submit(load, *following) if following is not None else None
            yield ready


def _moved(tensor: Tensor, device: torch.device) -> Tensor:
    """`tensor` on `device`; from the host to a GPU through pinned memory, without a wait (a copy from
    pageable memory waits for the device). Data already on the device stays where it is."""
    if device.type == "cuda" and tensor.device.type == "cpu":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)
