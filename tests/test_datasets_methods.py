"""Data-set runs with the other local methods, and the model identity a store keeps.

Each method's store is checked against the engine's own function called on its own (one example at a
time for the deterministic methods; one unit at a time, with the unit's seed, for the random ones),
within the store's stated float16 error. A store refuses to be resumed by another model or with other
settings, and says how to go on.
"""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import pytest
import torch

pytest.importorskip("zarr")

import ig_widget as igw  # noqa: E402
from ig_widget.attribution.errors import AttributionInputError  # noqa: E402
from ig_widget.datasets.store import FLOAT16_ABSOLUTE_ERROR, FLOAT16_RELATIVE_ERROR, concentration  # noqa: E402

COUNT, UNIT = 12, 5  # three units, the last one short


def assert_within_float16(stored: torch.Tensor, computed: torch.Tensor) -> None:
    bound = FLOAT16_RELATIVE_ERROR * computed.abs() + (FLOAT16_ABSOLUTE_ERROR + 1e-6) * computed.abs().max()
    assert ((stored - computed).abs() <= bound + 1e-7).all(), float((stored - computed).abs().max())


@pytest.fixture
def small(digits):
    model, images, labels = digits
    return model, images[:COUNT], labels[:COUNT]


@pytest.mark.parametrize("method", ["saliency", "gradient_x_input"])
def test_gradient_methods_store_what_the_engine_gives_one_example_at_a_time(small, tmp_path, method):
    model, x, y = small
    store = igw.attribute_dataset(model, (x, y), out=tmp_path / method, method=method, unit=UNIT, progress=False)
    function = {"saliency": igw.saliency, "gradient_x_input": igw.gradient_x_input}[method]
    assert store.config["method"] == method and store.config["baseline"] is None
    table = store.table
    for i in range(COUNT):
        alone = function(model, x[i : i + 1], target=y[i : i + 1])
        result = store[i]
        assert result.method == method and result.baseline is None and result.baseline_score is None
        assert_within_float16(result.attributions, alone.attributions)
        assert table["score"][i] == pytest.approx(float(alone.score[0]), rel=1e-5, abs=1e-5)
    assert table["baseline_score"].isna().all() and table["gap"].isna().all()


def test_smoothgrad_stores_each_unit_as_one_call_with_the_units_seed(small, tmp_path):
    model, x, y = small
    store = igw.attribute_dataset(
        model,
        (x, y),
        out=tmp_path / "sg",
        method="smoothgrad",
        samples=6,
        noise_level=0.2,
        seed=3,
        unit=UNIT,
        progress=False,
    )
    assert store.config["samples"] == 6 and store.config["noise_level"] == 0.2 and store.config["seed"] == 3
    stored = torch.from_numpy(store.page(range(COUNT))["attributions"])
    for u, start in enumerate(range(0, COUNT, UNIT)):
        rows = slice(start, start + UNIT)
        alone = igw.smoothgrad(model, x[rows], target=y[rows], samples=6, noise_level=0.2, seed=3 + u)
        for offset in range(len(alone.attributions)):
            assert_within_float16(stored[start + offset], alone.attributions[offset])
    # the seed matters: another seed gives another map
    other = igw.smoothgrad(model, x[:UNIT], target=y[:UNIT], samples=6, noise_level=0.2, seed=4)
    assert not torch.allclose(stored[:UNIT], other.attributions, atol=1e-3)


def test_expected_gradients_stores_its_baseline_scores_and_gaps(small, digits, tmp_path):
    model, x, y = small
    background = digits[1][-20:]
    store = igw.attribute_dataset(
        model,
        (x, y),
        out=tmp_path / "eg",
        method="expected_gradients",
        baseline_data=background,
        samples=8,
        unit=UNIT,
        progress=False,
    )
    table = store.table
    for u, start in enumerate(range(0, COUNT, UNIT)):
        rows = slice(start, start + UNIT)
        alone = igw.expected_gradients(model, x[rows], data=background, target=y[rows], samples=8, seed=u)
        np.testing.assert_allclose(table["baseline_score"][rows], alone.baseline_score.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(table["gap"][rows], alone.gap.numpy(), rtol=1e-4, atol=1e-4)
        for offset in range(len(alone.attributions)):
            assert_within_float16(store[start + offset].attributions[0], alone.attributions[offset])
    assert store[0].baseline_name == "data distribution" and store[0].steps == 8
    assert store.config["baseline_data"]["shape"] == list(background.shape)


def test_concentration_is_the_share_of_the_top_tenth():
    values = torch.tensor([[1.0] * 10 + [0.0] * 10, [0.0] * 20, [-5.0, 1.0, 1.0, 1.0] + [1.0] * 16])
    flat = values.abs().numpy()
    top = -np.sort(-flat, axis=1)[:, :2].sum(axis=1)  # 10% of 20 features
    expected = np.where(flat.sum(1) > 0, top / np.maximum(flat.sum(1), 1e-30), 0.0)
    np.testing.assert_allclose(concentration(values).numpy(), expected, rtol=1e-6)
    assert concentration(values)[0] == pytest.approx(0.2) and concentration(values)[1] == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"method": "saliency", "baseline": "blur"}, "baseline='blur' is for method='integrated_gradients'"),
        ({"method": "saliency", "idgi": True}, "idgi=True applies to method='integrated_gradients'"),
        ({"method": "expected_gradients"}, "draws its baselines from baseline_data"),
        ({"method": "expected_gradients", "baseline_data": torch.zeros(4, 3, 8, 8)}, r"\[M, 1, 8, 8\]"),
        ({"method": "smoothgrad", "samples": 0}, "samples must be a positive int"),
        ({"method": "smoothgrad", "noise_level": -1.0}, "noise_level"),
        ({"method": "lime"}, "method='lime' is not available"),
        ({"method": "saliency", "samples": 3}, "samples and baseline_data are for"),
        ({"method": "saliency", "autocast": torch.bfloat16}, "autocast=torch.bfloat16 applies to method="),
        ({"autocast": torch.int8}, "autocast=torch.int8 is not supported"),
    ],
)
def test_method_arguments_are_checked_before_any_work(small, tmp_path, arguments, message):
    model, x, y = small
    with pytest.raises(AttributionInputError, match=message):
        igw.attribute_dataset(model, (x, y), out=tmp_path / "bad", progress=False, **arguments)
    assert not (tmp_path / "bad").exists()


def test_the_store_records_what_identifies_the_model(small, tmp_path):
    model, x, y = small
    store = igw.attribute_dataset(model, (x, y), out=tmp_path / "a", steps=4, unit=UNIT, progress=False)
    identity = store.config["model"]
    assert identity["class"] == type(model).__qualname__
    assert identity["parameters"] == sum(p.numel() for p in model.parameters())
    assert identity["dtype"] == "float32"
    digest = hashlib.sha256()  # names, shapes, dtypes and bytes of the parameters, then the buffers
    for name, tensor in (*model.named_parameters(), *model.named_buffers()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.detach().numpy().tobytes())
    assert identity["digest"] == digest.hexdigest()
    assert store._group.attrs["device"] == "cpu"


def test_a_run_is_not_resumed_with_another_model(small, tmp_path):
    model, x, y = small
    out = tmp_path / "run"
    igw.attribute_dataset(model, (x, y), out=out, steps=4, unit=UNIT, progress=False)
    retrained = copy.deepcopy(model)
    with torch.no_grad():
        next(retrained.parameters()).view(-1)[0] += 1e-6  # one weight, one step of training
    with pytest.raises(
        AttributionInputError,
        match="another model.*digest.*Pass the model that run was made with, "
        "overwrite=True to start afresh, or another out",
    ):
        igw.attribute_dataset(retrained, (x, y), out=out, steps=4, unit=UNIT, progress=False)
    # the same weights in another object (a copy, a checkpoint loaded again) resume it
    again = igw.attribute_dataset(copy.deepcopy(model), (x, y), out=out, steps=4, unit=UNIT, progress=False)
    assert again.complete
    replaced = igw.attribute_dataset(retrained, (x, y), out=out, steps=4, unit=UNIT, overwrite=True, progress=False)
    assert replaced.config["model"]["digest"] != again.config["model"]["digest"]


def test_a_run_is_not_resumed_with_other_method_settings(small, tmp_path):
    model, x, y = small
    out = tmp_path / "run"
    igw.attribute_dataset(model, (x, y), out=out, method="smoothgrad", samples=4, unit=UNIT, progress=False)
    for changed, name in (({"samples": 5}, "samples"), ({"seed": 1}, "seed"), ({"noise_level": 0.3}, "noise_level")):
        with pytest.raises(AttributionInputError, match=f"other settings \\({name}: "):
            igw.attribute_dataset(
                model, (x, y), out=out, method="smoothgrad", unit=UNIT, progress=False, **({"samples": 4} | changed)
            )
    with pytest.raises(AttributionInputError, match="other settings.*method: 'smoothgrad' there, 'saliency' here"):
        igw.attribute_dataset(model, (x, y), out=out, method="saliency", unit=UNIT, progress=False)


def test_autocast_runs_the_path_in_bfloat16_and_keeps_the_gap_in_float32(small, tmp_path):
    """autocast=torch.bfloat16: each unit is what integrated_gradients gives on those rows with the same
    autocast (within the store's float16), F(x), F(x') and the gap at full precision, the setting
    recorded; a run with it is not resumed without it."""
    model, x, y = small
    out = tmp_path / "bf16"
    store = igw.attribute_dataset(model, (x, y), out=out, steps=8, unit=UNIT, autocast=torch.bfloat16, progress=False)
    assert store.config["autocast"] == "bfloat16"
    table, full_precision_gaps = store.table, []
    for start in range(0, COUNT, UNIT):
        rows = slice(start, min(start + UNIT, COUNT))
        unit = igw.integrated_gradients(model, x[rows], target=y[rows], steps=8, autocast=torch.bfloat16, trace=False)
        plain = igw.integrated_gradients(model, x[rows], target=y[rows], steps=8, trace=False)
        for offset, i in enumerate(range(rows.start, rows.stop)):
            assert_within_float16(store[i].attributions, unit.attributions[offset : offset + 1])
        np.testing.assert_allclose(table["score"][rows], plain.score.numpy(), rtol=1e-6)  # not rounded to bf16
        np.testing.assert_allclose(table["gap"][rows], unit.gap.numpy(), rtol=1e-4, atol=1e-5)
        full_precision_gaps.append(plain.gap.numpy())
    # the path really ran in bfloat16: its gaps are not float32's (which differ by 1e-7 run to run)
    assert np.abs(table["gap"] - np.concatenate(full_precision_gaps)).max() > 1e-3
    with pytest.raises(AttributionInputError, match="other settings \\(autocast: 'bfloat16' there, None here"):
        igw.attribute_dataset(model, (x, y), out=out, steps=8, unit=UNIT, progress=False)


class FailsAtUnit(torch.nn.Module):
    """Raises (as Ctrl-C would) on the walk of unit `fail_at`; a probe pass of one row comes first."""

    def __init__(self, model, fail_at: int, error: type[BaseException]):
        super().__init__()
        self.model, self.fail_at, self.error = model, fail_at, error
        self.walks = [0]  # a list: the engine's twin shares it

    def forward(self, x):
        if x.shape[0] >= 4 * UNIT:  # a pass over a full unit's path points (4 steps), not a probe
            self.walks[0] += 1
            if self.walks[0] > self.fail_at:
                raise self.error("stopped")
        return self.model(x)


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_units_computed_before_a_stop_are_written_and_marked_done(small, tmp_path, error):
    model, x, y = small
    stopping = FailsAtUnit(model, fail_at=1, error=error)
    with pytest.raises(error, match="stopped"):
        igw.attribute_dataset(
            stopping, (x, y), out=tmp_path / "run", steps=4, unit=UNIT, batch_size=4 * UNIT, progress=False
        )
    stopped = igw.open_attributions(tmp_path / "run")
    assert stopped.column("done").tolist() == [True, False, False]  # the writer finished what it was given
    reference = igw.attribute_dataset(model, (x, y), out=tmp_path / "whole", steps=4, unit=UNIT, progress=False)
    np.testing.assert_array_equal(
        stopped.page(range(UNIT))["attributions"], reference.page(range(UNIT))["attributions"]
    )


def test_a_store_of_an_older_format_is_refused_until_overwritten(small, tmp_path):
    import zarr

    model, x, y = small
    out = tmp_path / "old"
    zarr.open_group(str(out), mode="w").attrs.update({"format": "ig-widget attributions 1", "config": {}})
    with pytest.raises(AttributionInputError, match="older format.*overwrite=True"):
        igw.open_attributions(out)
    with pytest.raises(AttributionInputError, match="older format.*overwrite=True"):
        igw.attribute_dataset(model, (x, y), out=out, steps=4, unit=UNIT, progress=False)
    assert igw.attribute_dataset(model, (x, y), out=out, steps=4, unit=UNIT, overwrite=True, progress=False).complete
    foreign = tmp_path / "foreign"
    zarr.open_group(str(foreign), mode="w").attrs.update({"format": "somebody's data"})
    with pytest.raises(AttributionInputError, match="something other than an ig-widget"):
        igw.attribute_dataset(model, (x, y), out=foreign, steps=4, unit=UNIT, overwrite=True, progress=False)
