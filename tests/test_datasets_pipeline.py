"""The run's pipeline around the engine: a map-style dataset is read in the loader thread, one unit
ahead of the computation, in order, and gives the same store as the tensors themselves."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

pytest.importorskip("zarr")

import ig_widget as igw  # noqa: E402


class Recorded(torch.utils.data.Dataset):
    """A map-style dataset that notes which thread reads each item, and in which order."""

    def __init__(self, inputs, labels):
        self.inputs, self.labels, self.reads = inputs, labels, []

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, index):
        self.reads.append((index, threading.current_thread().name))
        return self.inputs[index], int(self.labels[index])


def test_a_dataset_is_read_ahead_in_the_loader_thread_and_gives_the_same_store(digits, tmp_path):
    model, images, labels = digits
    x, y = images[:23], labels[:23]
    dataset = Recorded(x, y)
    store = igw.attribute_dataset(model, dataset, out=tmp_path / "d", steps=4, unit=5, progress=False)
    reads = [(index, name) for index, name in dataset.reads if not (index == 0 and name == "MainThread")]
    assert [index for index, _ in reads] == list(range(23))  # every example once, in order
    assert {name.split("_")[0] for _, name in reads} == {"ig-widget loader"}
    plain = igw.attribute_dataset(model, (x, y), out=tmp_path / "t", steps=4, unit=5, progress=False)
    np.testing.assert_array_equal(store.page(range(23))["attributions"], plain.page(range(23))["attributions"])
    np.testing.assert_array_equal(store.table["gap"], plain.table["gap"])
