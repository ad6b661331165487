"""The run's pipeline around the engine: a map-style dataset is read in the loader thread, one unit
ahead of the computation, in order, and gives the same store as the tensors themselves."""

from __future__ import annotations

import pathlib
import sys
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
    # The main thread reads the first example (the model's output size and, with the last, the data's
    # identity in the store) and the last; the loader thread reads everything else.
    main = [index for index, name in dataset.reads if name == "MainThread"]
    assert sorted(set(main)) == [0, 22]
    reads = [(index, name) for index, name in dataset.reads if name != "MainThread"]
    assert [index for index, _ in reads] == list(range(23))  # every example once, in order
    assert {name.split("_")[0] for _, name in reads} == {"ig-widget loader"}
    plain = igw.attribute_dataset(model, (x, y), out=tmp_path / "t", steps=4, unit=5, progress=False)
    np.testing.assert_array_equal(store.page(range(23))["attributions"], plain.page(range(23))["attributions"])
    np.testing.assert_array_equal(store.table["gap"], plain.table["gap"])


def test_a_unit_adds_no_host_sync_and_few_operators_to_the_engines_walk(digits):
    """The run's own work per unit (probabilities from the walk's output, quantising, concentration, the
    table) waits for the device nowhere and stays small beside the walk (44 operators on this unit);
    the unit's two waits are the engine's (its target range check and its end check)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
    from op_counts import OpCounter

    from ig_widget.attribution.model_state import isolated_model
    from ig_widget.datasets.methods import checked_method
    from ig_widget.datasets.run import _unit_tensors

    model, images, labels = digits
    x, y = images[:32], labels[:32]
    method = checked_method(
        "integrated_gradients",
        steps=8,
        rule="gausslegendre",
        batch_size=None,
        idgi=False,
        baseline=None,
        samples=None,
        noise_level=0.15,
        seed=0,
        baseline_data=None,
        example_shape=tuple(x.shape[1:]),
    )
    twin = isolated_model(model)
    counted = {}
    for name, work in (
        ("unit", lambda: _unit_tensors(method, model, twin, x, y, "label", 3, 0)),
        ("walk", lambda: method.attribute(model, twin, x, y, 0)),
    ):
        work()
        with OpCounter() as counter:
            work()
        counted[name] = (counter.ops, counter.syncs)
    assert counted["unit"][1] == counted["walk"][1] <= 2  # no wait of our own (the baseline is not checked)
    assert counted["unit"][0] - counted["walk"][0] <= 50


def _table_from_a_pass_of_its_own(model, x, labels, target, unit, top_k=3):
    """The table's columns as the run made them before the walk handed back its output: per unit, a
    gradient-free pass of the model at x, its softmax, the top class and the top k."""
    columns = {name: [] for name in ("prediction", "target", "confidence", "top", "p_top")}
    for start in range(0, len(x), unit):
        with torch.no_grad():
            probabilities = model(x[start : start + unit]).float().softmax(dim=1)
        confidence, prediction = probabilities.max(dim=1)
        top = probabilities.topk(top_k, dim=1)
        columns["prediction"].append(prediction)
        columns["target"].append(labels[start : start + unit] if target == "label" else prediction)
        columns["confidence"].append(confidence)
        columns["top"].append(top.indices)
        columns["p_top"].append(top.values)
    return {name: torch.cat(parts).numpy() for name, parts in columns.items()}


@pytest.mark.parametrize(
    ("method", "target"),
    [("integrated_gradients", "label"), ("integrated_gradients", "prediction"), ("saliency", "prediction")],
)
def test_the_table_is_the_one_a_pass_of_its_own_gives(digits, tmp_path, method, target):
    """Probabilities, prediction and top k come from the walk's own output at x (or, for a method
    that hands none back, one pass of the run's own): the same table as a separate pass gives, the
    classes exactly, the probabilities to float32 rounding (x rides in a larger batch in the walk)."""
    model, images, labels = digits
    x, y = images[:40], labels[:40]
    store = igw.attribute_dataset(
        model, (x, y), out=tmp_path / "run", method=method, target=target, steps=8, unit=16, progress=False
    )
    table, expected = store.table, _table_from_a_pass_of_its_own(model, x, y, target, 16)
    np.testing.assert_array_equal(table["prediction"], expected["prediction"])
    np.testing.assert_array_equal(table["target"], expected["target"])
    np.testing.assert_array_equal(store.column("top_classes"), expected["top"])
    np.testing.assert_allclose(table["confidence"], expected["confidence"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(store.column("top_probabilities"), expected["p_top"], rtol=1e-6, atol=1e-7)
    if method == "integrated_gradients":
        reference = igw.integrated_gradients(model, x, target=y if target == "label" else None, steps=8, trace=False)
        np.testing.assert_array_equal(table["target"], reference.target.numpy())


def test_a_walks_unit_passes_x_through_the_model_only_in_the_walk(digits, tmp_path, count_calls):
    """No forward pass of the run's own per unit for integrated gradients: the walk's passes (one
    chunk per unit here, x and x' riding in it) and the run's one look at the output's width."""
    model, images, labels = digits
    counted = count_calls(model)
    units = 3
    igw.attribute_dataset(
        counted, (images[:24], labels[:24]), out=tmp_path / "run", target="prediction", steps=8, unit=8, progress=False
    )
    assert counted.forwards == 1 + units
    assert counted.backwards == units


def test_the_summary_is_added_up_as_units_are_written_and_equals_a_read_back(digits, tmp_path, monkeypatch):
    """A run that computes every unit adds the per-class summary up in the writer thread (it never reads
    the store back), bit for bit what reading the finished store gives; a resumed run reads it back."""
    import ig_widget.datasets.run as run
    from ig_widget.datasets.store import class_summary

    model, images, labels = digits
    x, y = images[:40], labels[:40]
    reads = []
    monkeypatch.setattr(run, "class_summary", lambda store: reads.append(store) or class_summary(store))
    store = igw.attribute_dataset(
        model, (x, y), out=tmp_path / "run", target="prediction", steps=4, unit=16, progress=False
    )
    assert reads == []
    summary, read_back = store.summary(), class_summary(store)
    for name in ("class_mean", "error_mean", "count", "errors"):
        np.testing.assert_array_equal(summary[name], read_back[name])
    magnitude = np.abs(store.page(range(40))["attributions"])
    by = store.column("prediction")
    for digit in np.unique(by):
        np.testing.assert_allclose(summary["class_mean"][digit], magnitude[by == digit].mean(axis=0), rtol=1e-6)
    assert summary["count"].sum() == 40

    import zarr

    group = zarr.open_group(str(tmp_path / "run"), mode="r+")
    group["done"][1] = False  # as if the run had stopped before its second unit
    group.attrs["complete"] = False
    resumed = igw.attribute_dataset(
        model, (x, y), out=tmp_path / "run", target="prediction", steps=4, unit=16, progress=False
    )
    assert len(reads) == 1
    for name in ("class_mean", "error_mean", "count", "errors"):
        np.testing.assert_array_equal(resumed.summary()[name], summary[name])


def test_a_units_chunk_files_are_the_ones_zarr_writes(tmp_path):
    """The writer writes each unit's chunk files itself (store.UnitChunks), not through Zarr: the files
    must be byte for byte those Zarr writes for the same rows (the last chunk shorter than a unit, so
    filled past the end as Zarr fills it), and Zarr must read them back; an array with codecs the writer
    does not encode is written through Zarr."""
    import zarr

    from ig_widget.datasets.store import ROWS, UnitChunks, create_store, open_arrays

    rng = np.random.default_rng(0)
    count, unit, top_k = 10, 4, 2
    rows = {
        "attributions": rng.standard_normal((count, 1, 3, 3)).astype(np.float16),
        "inputs": rng.random((count, 1, 3, 3)).astype(np.float16),
        "numbers": rng.standard_normal((count, 6 + top_k)).astype(np.float32),
        "codes": rng.integers(-1, 10, (count, 3 + top_k)),
    }
    for name in ("ours", "zarr"):
        create_store(tmp_path / name, {"count": count, "unit": unit}, (1, 3, 3), top_k, "cpu")
    ours, theirs = open_arrays(tmp_path / "ours"), zarr.open_group(str(tmp_path / "zarr"), mode="r+")
    for index in range(-(-count // unit)):
        part = slice(index * unit, (index + 1) * unit)
        for name in ROWS:
            ours[name].write(index, rows[name][part])
            theirs[name][part] = rows[name][part]
        ours["done"].write(index, np.ones(1, dtype=bool))
        theirs["done"][index] = True

    def files(root: pathlib.Path) -> dict[str, bytes]:
        return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}

    written = files(tmp_path / "ours")
    assert any(name.startswith("attributions/c/2/") for name in written)  # the short last chunk
    assert written == files(tmp_path / "zarr")
    back = zarr.open_group(str(tmp_path / "ours"), mode="r")
    for name in ROWS:
        np.testing.assert_array_equal(back[name][:], rows[name])
    assert back["done"][:].all()

    other = zarr.open_group(str(tmp_path / "other"), mode="w")
    other.create_array("done", shape=(3,), chunks=(1,), dtype="bool", fill_value=False, compressors=None)
    UnitChunks(tmp_path / "other", other["done"]).write(1, np.ones(1, dtype=bool))
    np.testing.assert_array_equal(zarr.open_group(str(tmp_path / "other"), mode="r")["done"][:], [False, True, False])
