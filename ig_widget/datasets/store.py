"""The on-disk store of a data-set run: a Zarr (v3) group, one chunk of examples per file.

Layout (N examples, each of shape S, `unit` examples per chunk, k top classes):

    attributions  float16 [N, *S]   attribution / scale, so every value lies in [-1, 1]
    inputs        float16 [N, *S]   the input, for thumbnails and the example's full view
    numbers       float32 [N, 6 + k], one column each (see NUMBERS):
        scale                       max |attribution| of the example (0 for an all-zero map)
        score, baseline_score, gap  F(x), F(x'), sum(attributions) - (F(x) - F(x')), in float32
                                    (F(x') and the gap are NaN for a method without a baseline, saliency say)
        confidence                  softmax probability of the prediction
        concentration               share of sum |attribution| in the top 10% of features
        p_top1 .. p_topk            probabilities of the top k classes
    codes         int64 [N, 3 + k]: label, prediction, target (-1: none), top1 .. topk (see CODES)
    done          bool [units]      one file per unit, written after the unit's data: what resuming skips
    summary/*                       per-class mean |attribution| (and of the class's errors), by the leader;
                                    the counts in the group's attributes

The table's columns share two arrays (not one array each) because every array costs a write per unit:
with 15 arrays the writes took about a sixth of a digits run's CPU time; with 4 about a third of that
(`benchmarks/datasets.py`). `store.column(name)` reads one column by its name.

Quantisation: the attributions are stored as float16 after dividing by the example's max |value|, so
a stored value a' differs from the computed a by at most 2^-11 |a| + 2^-25 max|a| (float16 has an
11-bit significand; the second term is its subnormal spacing), and nothing overflows. The gap and
every number of the table are computed in float32 before quantising and stored in float32.
Inputs are stored as float16 too (relative error <= 2^-11; exact for 8-bit images scaled to [0, 1]
by a power of two, such as the digits / 16).

The group's attributes hold the run's settings (`config`: the method and every setting that changes
its result, and `model`, what identifies the model: see identity.py), so that a run is resumed only
with the same model and settings, and the device type the leader ran on.

Every array is chunked by the unit of work, so one process writes each chunk file exactly once, two
ranks never write the same file, and reading one example or one page reads only its chunks.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..attribution.baselines import make_baseline
from ..attribution.errors import AttributionInputError
from ..attribution.result import AttributionResult
from ..attribution.rounding import rounding_floor

FORMAT = "ig-widget attributions 2"
TOP_SHARE = 0.1  # concentration: the share of |attribution| held by this fraction of the features
FLOAT16_RELATIVE_ERROR = 2.0**-11
FLOAT16_ABSOLUTE_ERROR = 2.0**-25  # times the example's scale


def _zarr():
    try:
        import zarr
    except ImportError as missing:
        raise ImportError(
            "data-set runs store their results with Zarr: pip install 'ig-widget[datasets]' (or pip install zarr)"
        ) from missing
    return zarr


NUMBERS = ("scale", "score", "baseline_score", "gap", "confidence", "concentration")  # then p_top1 .. p_topk
CODES = ("label", "prediction", "target")  # then top1 .. topk
ROWS = ("attributions", "inputs", "numbers", "codes")  # the arrays a unit writes, before its done mark


def create_store(path: pathlib.Path, config: dict, shape: tuple[int, ...], top_k: int, device: str) -> None:
    """Create the group and its empty arrays (the leader only); `device` (the leader's device type) is
    recorded beside the settings, not in them (a run may resume on another machine)."""
    zarr = _zarr()
    count, unit = config["count"], config["unit"]
    group = zarr.open_group(str(path), mode="w")
    # Zarr's default codecs of today, named so that another Zarr version's defaults do not change the
    # format (UnitChunks writes these chunks itself)
    codecs = {"compressors": zarr.codecs.ZstdCodec(level=0, checksum=False)}
    for name in ("attributions", "inputs"):
        group.create_array(name, shape=(count, *shape), chunks=(unit, *shape), dtype="float16", fill_value=0, **codecs)
    columns = len(NUMBERS) + top_k
    group.create_array(
        "numbers", shape=(count, columns), chunks=(unit, columns), dtype="float32", fill_value=np.nan, **codecs
    )
    columns = len(CODES) + top_k
    group.create_array("codes", shape=(count, columns), chunks=(unit, columns), dtype="int64", fill_value=-1, **codecs)
    units = -(-count // unit)
    group.create_array("done", shape=(units,), chunks=(1,), dtype="bool", fill_value=False, **codecs)
    group.attrs.update({"format": FORMAT, "config": config, "complete": False, "device": device})


def existing_config(path: pathlib.Path, *, for_run: bool = False) -> dict | None:
    """The config of a store at `path`, None when there is none. A store of an older format is
    refused, unless `for_run` (a run may replace it with overwrite=True): then its config is
    {"format": that format}, which no run's settings equal."""
    if not (path / "zarr.json").exists():
        return None
    group = _zarr().open_group(str(path), mode="r")
    found = group.attrs.get("format")
    if found == FORMAT:
        return dict(group.attrs["config"])
    if not (isinstance(found, str) and found.startswith("ig-widget attributions")):
        raise AttributionInputError(
            f"out={str(path)!r} holds something other than an ig-widget attribution store; give another path"
        )
    if for_run:
        return {"format": found}
    raise AttributionInputError(
        f"{str(path)!r} holds a store of an older format ({found!r}; this version reads {FORMAT!r}); "
        "run attribute_dataset again with overwrite=True (or another out)"
    )


def open_arrays(path: pathlib.Path) -> dict[str, UnitChunks]:
    """The arrays a unit writes (ROWS) and the done marks, opened once for writing, a chunk at a time."""
    group = _zarr().open_group(str(path), mode="r+")
    return {name: UnitChunks(path, group[name]) for name in (*ROWS, "done")}


class UnitChunks:
    """Writes one chunk of an array (chunked along its first axis only, as create_store makes them)
    straight into its file, encoded as Zarr encodes it: the bytes little-endian, then Zstandard through
    numcodecs' Zstd, which Zarr's own ZstdCodec calls. A write through Zarr costs about 1 ms of CPU,
    most of it Zarr's asyncio machinery and its hops between threads (the encoding of a digits unit's
    chunk: tens of microseconds); a digits unit writes 5 chunks. The files are the ones Zarr writes
    (a test compares them byte for byte), so Zarr reads them as its own. An array with other codecs (a
    store written by other means) is written through Zarr."""

    def __init__(self, root: pathlib.Path, array: Any):
        self._array = array
        self.rows = array.chunks[0]
        metadata = array.metadata
        self._folder = root / array.path
        self._encode = _chunk_encoder(metadata.codecs) if tuple(array.chunks[1:]) == tuple(array.shape[1:]) else None
        self._key = metadata.encode_chunk_key
        self._fill = np.full(array.chunks, metadata.fill_value, dtype=array.dtype)

    def write(self, index: int, rows: np.ndarray) -> None:
        """Chunk `index` (rows index * self.rows onwards) holds `rows`; the last chunk may be shorter."""
        start = index * self.rows
        if self._encode is None:
            self._array[start : start + len(rows)] = rows
            return
        if len(rows) < self.rows:  # Zarr keeps an edge chunk whole, filled past the array's end
            whole = self._fill.copy()
            whole[: len(rows)] = rows
            rows = whole
        file = self._folder / self._key((index,) + (0,) * (rows.ndim - 1))
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(self._encode(np.ascontiguousarray(rows, dtype=self._fill.dtype.newbyteorder("<"))))


def _chunk_encoder(codecs: tuple) -> Any:
    """rows (little-endian) -> file content, for the codecs create_store gives (bytes, then
    Zstandard); None for any others."""
    zarr = _zarr()
    if len(codecs) != 2 or not isinstance(codecs[0], zarr.codecs.BytesCodec):
        return None
    endian, compressor = codecs[0].endian, codecs[1]
    if getattr(endian, "value", endian) not in (None, "little") or not isinstance(compressor, zarr.codecs.ZstdCodec):
        return None
    from numcodecs import Zstd  # a dependency of Zarr's, the encoder its ZstdCodec calls

    zstd = Zstd.from_config({"level": compressor.level, "checksum": compressor.checksum})
    return lambda rows: zstd.encode(rows.tobytes())


def done_units(path: pathlib.Path) -> np.ndarray:
    return _zarr().open_group(str(path), mode="r")["done"][:]


def mark_complete(path: pathlib.Path, summary: dict[str, np.ndarray]) -> None:
    group = _zarr().open_group(str(path), mode="r+")
    for name in ("class_mean", "error_mean"):
        group.create_array(f"summary/{name}", data=summary[name], overwrite=True)
    group.attrs.update({"summary": {name: summary[name].tolist() for name in ("count", "errors")}, "complete": True})


def quantise(attributions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(float16 values in [-1, 1], float32 scale per example), on the attributions' device."""
    flat = attributions.float().flatten(1)
    scale = flat.abs().amax(dim=1)
    divided = flat / torch.where(scale > 0, scale, torch.ones_like(scale)).unsqueeze(1)
    return divided.half().view(attributions.shape), scale


def concentration(attributions: torch.Tensor) -> torch.Tensor:
    """Per example, the share of sum |attribution| held by its top TOP_SHARE of features (float32)."""
    flat = attributions.float().flatten(1).abs()
    keep = max(1, int(round(TOP_SHARE * flat.shape[1])))
    top = flat.topk(keep, dim=1, sorted=False).values.sum(dim=1)
    total = flat.sum(dim=1)
    return torch.where(total > 0, top / torch.where(total > 0, total, torch.ones_like(total)), torch.zeros_like(total))


class AttributionStore:
    """A finished (or partly finished) data-set run on disk.

    `len(store)` examples; `store[i]` one example's `AttributionResult` (batch of one, attributions as
    stored, see the module docstring for their error); `store.table` the per-example table (a pandas
    DataFrame); `store.page(indices)` inputs and attributions of some examples, reading only their chunks.
    """

    def __init__(self, path: str | pathlib.Path):
        self.path = pathlib.Path(path)
        config = existing_config(self.path)
        if config is None:
            raise AttributionInputError(
                f"there is no attribution store at {str(self.path)!r}; run attribute_dataset first"
            )
        self.config = config
        self._group = _zarr().open_group(str(self.path), mode="r")
        self._table = None

    def __len__(self) -> int:
        return int(self.config["count"])

    def __repr__(self) -> str:
        state = (
            "complete"
            if self.complete
            else f"{int(self._group['done'][:].sum())} of {len(self._group['done'])} units done"
        )
        return f"AttributionStore({str(self.path)!r}, {len(self)} examples, {state})"

    @property
    def complete(self) -> bool:
        return bool(_zarr().open_group(str(self.path), mode="r").attrs.get("complete", False))

    @property
    def labels(self) -> list[str]:
        """Class names (from `labels=`), or the class indices as text."""
        return list(self.config.get("labels") or [str(index) for index in range(self.config["classes"])])

    @property
    def example_shape(self) -> tuple[int, ...]:
        return tuple(self.config["shape"])

    def column(self, name: str) -> np.ndarray:
        """One column of the table by name (NUMBERS, CODES, "top_classes" [N, k], "top_probabilities"
        [N, k]) or an array of the store ("done")."""
        if name in NUMBERS:
            return self._group["numbers"][:, NUMBERS.index(name)]
        if name in CODES:
            return self._group["codes"][:, CODES.index(name)]
        if name == "top_probabilities":
            return self._group["numbers"][:, len(NUMBERS) :]
        if name == "top_classes":
            return self._group["codes"][:, len(CODES) :]
        return self._group[name][:]

    @property
    def table(self):
        """index, label, prediction, target, correct, score (F(x)), baseline_score (F(x')), gap,
        relative_gap, gap_within_rounding (the gap no larger than the float rounding of F(x) and F(x'):
        AttributionResult.gap_within_rounding), confidence, concentration, top1..topk and p_top1..p_topk."""
        if self._table is None:
            import pandas as pd

            numbers, codes = self._group["numbers"][:], self._group["codes"][:]
            columns: dict[str, Any] = {"index": np.arange(len(self))}
            columns |= {name: codes[:, index] for index, name in enumerate(CODES)}
            columns |= {name: numbers[:, index] for index, name in enumerate(NUMBERS) if name != "scale"}
            columns["correct"] = (columns["label"] == columns["prediction"]) & (columns["label"] >= 0)
            change = np.abs(columns["score"] - columns["baseline_score"])
            columns["relative_gap"] = columns["gap"] / np.maximum(change, np.finfo(np.float32).eps)
            floor = rounding_floor(torch.from_numpy(columns["score"]), torch.from_numpy(columns["baseline_score"]))
            columns["gap_within_rounding"] = np.abs(columns["gap"]) <= floor.numpy()
            classes, probabilities = codes[:, len(CODES) :], numbers[:, len(NUMBERS) :]
            for rank in range(classes.shape[1]):
                columns[f"top{rank + 1}"] = classes[:, rank]
                columns[f"p_top{rank + 1}"] = probabilities[:, rank]
            self._table = pd.DataFrame(columns)
        return self._table

    def page(self, indices) -> dict[str, np.ndarray]:
        """Inputs and attributions (float32, scale applied) of `indices`; reads only their chunks."""
        indices = np.asarray(indices, dtype=np.int64)
        if len(indices) == 0:
            empty = np.zeros((0, *self.example_shape), np.float32)
            return {"inputs": empty, "attributions": empty}
        attributions = self._group["attributions"].oindex[indices].astype(np.float32)
        scale = self._group["numbers"].oindex[indices, NUMBERS.index("scale")]
        attributions *= scale.reshape((-1,) + (1,) * (attributions.ndim - 1))
        return {"inputs": self._group["inputs"].oindex[indices].astype(np.float32), "attributions": attributions}

    def __getitem__(self, index: int) -> AttributionResult:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(
                f"store[i] takes an int index; got {type(index).__name__} (use store.page(indices) for many)"
            )
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for a store of {len(self)} examples")
        index = int(index) % len(self)
        if not self._group["done"][index // self.config["unit"]]:
            raise IndexError(f"example {index} has not been computed yet (the run stopped before it); resume the run")
        part = self.page([index])
        numbers, codes = self._group["numbers"][index], self._group["codes"][index]
        row = {name: float(numbers[NUMBERS.index(name)]) for name in ("score", "baseline_score", "gap")}
        row["target"] = int(codes[CODES.index("target")])
        inputs = torch.from_numpy(part["inputs"])
        baseline = self.config["baseline"]
        return AttributionResult(
            method=self.config["method"],
            attributions=torch.from_numpy(part["attributions"]),
            inputs=inputs,
            score=torch.tensor([row["score"]], dtype=torch.float32),
            target=None if row["target"] < 0 else torch.tensor([int(row["target"])]),
            baseline=None if baseline is None else make_baseline(baseline, inputs),
            baseline_score=(
                None if np.isnan(row["baseline_score"]) else torch.tensor([row["baseline_score"]], dtype=torch.float32)
            ),
            baseline_name=self.config["baseline_name"],
            rule=self.config["rule"],
            # as the engine's result: expected gradients counts its draws as steps
            steps=self.config["samples"] if self.config["method"] == "expected_gradients" else self.config["steps"],
            # the sum the run computed, before the maps were rounded to float16 (float64, so that the
            # gap read back is the recorded one to its last digit)
            computed_total=None if np.isnan(row["gap"]) else _computed_total(row),
        )

    def summary(self) -> dict[str, np.ndarray]:
        """Per class (by label, else by prediction): `class_mean` [C, *S] mean |attribution|, `error_mean`
        the same over the class's misclassified examples (zeros where none), `count`, `errors`."""
        counts = _zarr().open_group(str(self.path), mode="r").attrs["summary"]  # written after this opened
        return {
            **{name: self._group[f"summary/{name}"][:] for name in ("class_mean", "error_mean")},
            **{name: np.asarray(counts[name], dtype=np.int64) for name in ("count", "errors")},
        }


def open_attributions(path: str | pathlib.Path) -> AttributionStore:
    """Open the store a data-set run wrote at `path` (see `attribute_dataset`)."""
    return AttributionStore(path)


class ClassSums:
    """Per-class sums of |attribution| (as stored: float16 values times their float32 scale) and of each
    class's errors, added up example by example in float64. `class_summary` adds a finished store up
    page by page; a run adds each unit as it writes it (the same values in the same order, so the same
    sums), and then need not read the store back."""

    def __init__(self, classes: int, example_shape: tuple[int, ...]):
        self.sums = np.zeros((classes, *example_shape), np.float64)
        self.error_sums = np.zeros_like(self.sums)
        self.by: list[np.ndarray] = []  # each added example's class (its label, else its prediction)
        self.wrong: list[np.ndarray] = []

    def add(self, stored: np.ndarray, scale: np.ndarray, labels: np.ndarray, predictions: np.ndarray) -> None:
        """Examples' stored attributions [n, ...] (float16), scales [n], labels (-1: none) and predictions."""
        magnitude = stored.astype(np.float32)
        magnitude *= scale.reshape((-1,) + (1,) * (magnitude.ndim - 1))
        magnitude = np.abs(magnitude).astype(np.float64)
        by = np.where(labels >= 0, labels, predictions)
        wrong = (labels >= 0) & (labels != predictions)
        np.add.at(self.sums, by, magnitude)
        np.add.at(self.error_sums, by[wrong], magnitude[wrong])
        self.by.append(by)
        self.wrong.append(wrong)

    def summary(self, combine: Callable[[list[np.ndarray]], list[np.ndarray]] | None = None) -> dict[str, np.ndarray]:
        """class_mean, error_mean (float32 [classes, ...]), count and errors (int64 [classes]). `combine`
        adds up the totals (sums, error sums, count, errors) of several ClassSums (the ranks' of a run:
        `Ranks.sum_to_leader`) before they are divided."""
        classes = self.sums.shape[0]
        by = np.concatenate(self.by) if self.by else np.zeros(0, np.int64)
        wrong = np.concatenate(self.wrong) if self.wrong else np.zeros(0, bool)
        totals = [
            self.sums,
            self.error_sums,
            np.bincount(by, minlength=classes),
            np.bincount(by[wrong], minlength=classes),
        ]
        sums, error_sums, count, errors = combine(totals) if combine is not None else totals
        shape = (-1,) + (1,) * (sums.ndim - 1)
        return {
            "class_mean": (sums / np.maximum(count, 1).reshape(shape)).astype(np.float32),
            "error_mean": (error_sums / np.maximum(errors, 1).reshape(shape)).astype(np.float32),
            "count": count.astype(np.int64),
            "errors": errors.astype(np.int64),
        }


def class_summary(store: AttributionStore, page: int = 1024) -> dict[str, np.ndarray]:
    """Mean |attribution| per class and of each class's errors, read one page at a time."""
    sums = ClassSums(store.config["classes"], store.example_shape)
    labels, predictions = store.column("label"), store.column("prediction")
    stored, scales = store._group["attributions"], store.column("scale")
    for start in range(0, len(store), page):
        stop = min(start + page, len(store))
        sums.add(stored[start:stop], scales[start:stop], labels[start:stop], predictions[start:stop])
    return sums.summary()


def _computed_total(row: dict[str, float]) -> torch.Tensor:
    """An example's attribution sum as its run computed it: gap + F(x) - F(x'), from the table."""
    return torch.tensor(
        [row["gap"] + (np.float32(row["score"]) - np.float32(row["baseline_score"]))], dtype=torch.float64
    )
