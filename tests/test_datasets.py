"""Data-set runs (ig_widget.datasets): the store holds what the engine computes, within the stated
float16 error; errors come before any work; a killed run resumes with nothing lost or redone; two
processes under real torchrun write the same store as one."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

pytest.importorskip("zarr")

import ig_widget as igw  # noqa: E402
from ig_widget.attribution.errors import AttributionInputError  # noqa: E402
from ig_widget.datasets.store import FLOAT16_ABSOLUTE_ERROR, FLOAT16_RELATIVE_ERROR  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import datasets_worker as worker  # noqa: E402

WORKER = pathlib.Path(worker.__file__)
ROOT = WORKER.parent.parent


def test_store_round_trips_the_engines_results_within_float16(tmp_path, digits):
    model, images, labels = digits
    x, y = images[:40], labels[:40]
    store = igw.attribute_dataset(
        model, (x, y), out=tmp_path / "run", target="label", steps=16, unit=16, progress=False
    )
    reference = igw.integrated_gradients(model, x, target=y, steps=16, trace=False)
    assert len(store) == 40 and store.complete
    table = store.table
    np.testing.assert_array_equal(table["index"], np.arange(40))
    np.testing.assert_array_equal(table["label"], y.numpy())
    np.testing.assert_array_equal(table["prediction"], model(x).argmax(1).numpy())
    np.testing.assert_allclose(table["score"], reference.score.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(table["baseline_score"], reference.baseline_score.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(table["gap"], reference.gap.numpy(), atol=1e-4)
    np.testing.assert_allclose(table["confidence"], model(x).softmax(1).max(1).values.detach().numpy(), rtol=1e-5)
    for i in (0, 17, 39):
        result = store[i]
        assert isinstance(result, igw.AttributionResult)
        computed = reference.attributions[i : i + 1]
        bound = FLOAT16_RELATIVE_ERROR * computed.abs() + (FLOAT16_ABSOLUTE_ERROR + 1e-6) * computed.abs().max()
        assert ((result.attributions - computed).abs() <= bound + 1e-7).all()
        torch.testing.assert_close(result.inputs, x[i : i + 1])  # digits / 16 are exact in float16
        assert result.steps == 16 and result.rule == "gausslegendre" and int(result.target) == int(y[i])
        # the gap is the computation's, the number the table and the gallery show, not the float16 copy's
        assert float(result.gap[0]) == pytest.approx(float(table["gap"].iloc[i]), rel=1e-6, abs=1e-9)
        assert float(result.relative_gap[0]) == pytest.approx(float(table["relative_gap"].iloc[i]), rel=1e-5, abs=1e-9)
        assert float(result.gap[0]) == pytest.approx(float(reference.gap[i]), abs=1e-4)
    summary = store.summary()
    assert summary["count"].sum() == 40
    assert summary["class_mean"].shape == (10, 1, 8, 8)


def test_reading_one_example_reads_only_its_chunk(tmp_path):
    store = worker.run(str(tmp_path / "run"))
    chunks = sorted((tmp_path / "run" / "attributions" / "c").iterdir())
    assert len(chunks) == worker.COUNT // worker.UNIT  # one file per unit of examples
    read = []
    original = pathlib.Path.read_bytes

    def spy(self, *args, **kwargs):
        read.append(self)
        return original(self, *args, **kwargs)

    pathlib.Path.read_bytes = spy
    try:
        store.page([3])
    finally:
        pathlib.Path.read_bytes = original
    attribution_chunks = [p for p in read if "attributions" in p.parts and "c" in p.parts]
    assert len(attribution_chunks) <= 1


def test_errors_come_before_any_model_call(tmp_path):
    model, inputs, labels = worker.build()
    calls = model.seen
    with pytest.raises(AttributionInputError, match="no labels"):
        igw.attribute_dataset(model, inputs, out=tmp_path / "a", target="label")
    with pytest.raises(AttributionInputError, match="depends on each input alone"):
        igw.attribute_dataset(model, (inputs, labels), out=tmp_path / "a", baseline="uniform")
    with pytest.raises(AttributionInputError, match="iterable-style"):
        igw.attribute_dataset(model, Stream(), out=tmp_path / "a")
    with pytest.raises(AttributionInputError, match="steps"):
        igw.attribute_dataset(model, (inputs, labels), out=tmp_path / "a", steps=0)
    assert not calls and not (tmp_path / "a").exists()


class Stream(torch.utils.data.IterableDataset):
    def __iter__(self):
        yield torch.zeros(1, 8, 8)


def test_other_settings_in_out_are_refused_unless_overwrite(tmp_path):
    model, inputs, labels = worker.build()
    igw.attribute_dataset(model, (inputs[:8], labels[:8]), out=tmp_path / "a", steps=4, progress=False)
    with pytest.raises(AttributionInputError, match="other settings.*steps"):
        igw.attribute_dataset(model, (inputs[:8], labels[:8]), out=tmp_path / "a", steps=8, progress=False)
    store = igw.attribute_dataset(
        model, (inputs[:8], labels[:8]), out=tmp_path / "a", steps=8, overwrite=True, progress=False
    )
    assert store.config["steps"] == 8


@pytest.mark.parametrize(
    "change",
    ["preprocessing", "labels", "order"],
)
def test_a_finished_run_is_not_handed_back_for_other_data(tmp_path, change):
    """A notebook cell run again after its data changed (same model, settings and count) must not get the
    old attributions back as if they were the new data's."""
    model, inputs, labels = worker.build()
    x, y = inputs[:12], labels[:12]
    first = igw.attribute_dataset(model, (x, y), out=tmp_path / "a", steps=4, unit=4, progress=False)
    other = {
        "preprocessing": (x * 0.5, y),
        "labels": (x, (y + 1) % 10),
        "order": (x.flip(0), y.flip(0)),
    }[change]
    with pytest.raises(AttributionInputError, match="other data"):
        igw.attribute_dataset(model, other, out=tmp_path / "a", steps=4, unit=4, progress=False)
    again = igw.attribute_dataset(model, (x.clone(), y.clone()), out=tmp_path / "a", steps=4, unit=4, progress=False)
    np.testing.assert_array_equal(again.page(range(12))["attributions"], first.page(range(12))["attributions"])
    fresh = igw.attribute_dataset(model, other, out=tmp_path / "a", steps=4, unit=4, overwrite=True, progress=False)
    assert fresh.config["data"] != first.config["data"]


def test_a_store_from_before_the_data_was_recorded_resumes_and_is_checked_as_before(tmp_path):
    import zarr

    model, inputs, labels = worker.build()
    x, y = inputs[:8], labels[:8]
    igw.attribute_dataset(model, (x, y), out=tmp_path / "a", steps=4, unit=4, progress=False)
    group = zarr.open_group(str(tmp_path / "a"), mode="r+")
    config = dict(group.attrs["config"])
    del config["data"]  # as an older version wrote it
    group.attrs["config"] = config
    again = igw.attribute_dataset(model, (x, y), out=tmp_path / "a", steps=4, unit=4, progress=False)
    assert "data" not in again.config  # resumed as it was
    with pytest.raises(AttributionInputError, match="other settings.*steps"):
        igw.attribute_dataset(model, (x, y), out=tmp_path / "a", steps=8, unit=4, progress=False)
    fresh = igw.attribute_dataset(model, (x, y), out=tmp_path / "a", steps=8, unit=4, overwrite=True, progress=False)
    assert (
        fresh.config["data"]
        == igw.attribute_dataset(model, (x, y), out=tmp_path / "b", steps=8, unit=4, progress=False).config["data"]
    )


def test_a_refusal_names_the_examples_it_is_about(tmp_path):
    """In 10,000 examples, "x is NaN" or "target out of range" is no help without which example."""
    model, inputs, labels = worker.build()
    x, y = inputs[:12].clone(), labels[:12].clone()
    x[6, 0, 1, 1] = float("nan")
    with pytest.raises(igw.NonFiniteError, match=r"examples 4 to 7 of data \(example 6 holds NaN or inf"):
        igw.attribute_dataset(model, (x, y), out=tmp_path / "nan", steps=4, unit=4, progress=False)
    y[9] = 10
    with pytest.raises(AttributionInputError, match="examples 8 to 11 of data .target='label'.*out of range"):
        igw.attribute_dataset(model, (inputs[:12], y), out=tmp_path / "range", steps=4, unit=4, progress=False)

    class Named(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            return inputs[index], "seven"

    with pytest.raises(AttributionInputError, match="label of example 0 is 'seven', not a class index"):
        igw.attribute_dataset(model, Named(), out=tmp_path / "named", steps=4, progress=False)


def test_the_users_model_is_not_changed(tmp_path):
    model, inputs, labels = worker.build()
    model.train()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    igw.attribute_dataset(model, (inputs[:8], labels[:8]), out=tmp_path / "a", steps=4, progress=False)
    assert model.training and all(m.training for m in model.modules())
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    for name, p in model.named_parameters():
        assert torch.equal(p, before[name])


def test_data_forms_give_the_same_store(tmp_path):
    model, inputs, labels = worker.build()
    dataset = torch.utils.data.TensorDataset(inputs[:16], labels[:16])
    loader = torch.utils.data.DataLoader(dataset, batch_size=8)
    a = igw.attribute_dataset(model, (inputs[:16], labels[:16]), out=tmp_path / "a", steps=4, unit=8, progress=False)
    b = igw.attribute_dataset(model, loader, out=tmp_path / "b", steps=4, progress=False)
    assert b.config["unit"] == 8
    np.testing.assert_array_equal(a.page(range(16))["attributions"], b.page(range(16))["attributions"])
    np.testing.assert_array_equal(a.table["gap"], b.table["gap"])


def _assert_same_store(a, b):
    assert len(a) == len(b)
    for name in ("label", "prediction", "target", "top_classes"):
        np.testing.assert_array_equal(a.column(name), b.column(name))
    for name in ("score", "baseline_score", "gap", "confidence", "concentration", "top_probabilities"):
        np.testing.assert_allclose(a.column(name), b.column(name), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        a.page(range(len(a)))["attributions"], b.page(range(len(b)))["attributions"], rtol=2e-3, atol=1e-6
    )


@pytest.mark.slow
def test_a_killed_run_resumes_with_nothing_lost_or_redone(tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, str(WORKER), str(out), "--slow", "0.05"], cwd=ROOT, env=env)
    done_dir = out / "done" / "c"
    units = worker.COUNT // worker.UNIT
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            finished = len(list(done_dir.iterdir())) if done_dir.exists() else 0
            if finished >= 3:
                break
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    finished = len(list(done_dir.iterdir()))
    assert 3 <= finished < units, f"killed after {finished} of {units} units"
    stopped = igw.open_attributions(out)
    assert not stopped.complete
    done_before = stopped.column("done")
    chunk_files = {
        index: out / "attributions" / "c" / str(index) / "0" / "0" / "0" for index in np.flatnonzero(done_before)
    }
    written = {index: path.stat().st_mtime_ns for index, path in chunk_files.items()}

    model, inputs, labels = worker.build()
    from ig_widget.datasets import attribute_dataset

    torch.set_num_threads(1)
    resumed = attribute_dataset(
        model, (inputs, labels), out=out, target="label", steps=worker.STEPS, unit=worker.UNIT, progress=False
    )
    assert resumed.complete
    # Nothing redone: one path pass (unit x steps rows, with the ends riding along when the engine
    # puts F(x) and F(x') in it) per unit left undone, and the finished units' chunk files untouched.
    path_passes = sum(1 for rows in model.seen if rows >= worker.UNIT * worker.STEPS)
    assert path_passes == units - int(done_before.sum())
    assert {index: path.stat().st_mtime_ns for index, path in chunk_files.items()} == written
    fresh = worker.run(str(tmp_path / "fresh"))
    _assert_same_store(resumed, fresh)


@pytest.mark.slow
def test_two_processes_under_torchrun_write_the_single_process_store(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        str(WORKER),
        str(tmp_path / "two"),
        "--no-read-back",  # each rank adds up its units' summary, the leader the ranks' sums
        *("--slow-reads", "1"),  # rank 1 slow to read the done marks while rank 0 computes
    ]
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]
    two = igw.open_attributions(tmp_path / "two")
    assert two.complete
    one = worker.run(str(tmp_path / "one"))
    _assert_same_store(two, one)
    np.testing.assert_allclose(two.summary()["class_mean"], one.summary()["class_mean"], rtol=2e-3, atol=1e-6)


def test_a_softmax_models_confidence_is_its_own_probability(tmp_path):
    """A model that ends in a softmax: the table's confidence and top-k probabilities are its outputs, not
    a second softmax of them (which flattened 0.41 to 0.29)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 4), torch.nn.Softmax(dim=1)).eval()
    with torch.no_grad():
        model[1].weight.mul_(5)
    x = torch.rand(6, 3, 2, 2)
    store = igw.attribute_dataset(model, x, out=tmp_path / "run", target="prediction", steps=4, top_k=2, progress=False)
    with torch.no_grad():
        given = model(x)
    np.testing.assert_allclose(store.table["confidence"], given.max(1).values.numpy(), rtol=1e-6)
    np.testing.assert_allclose(store.table["p_top2"], given.topk(2).values[:, 1].numpy(), rtol=1e-6)
