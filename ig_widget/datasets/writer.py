"""Writing finished units to the store in a thread of its own, while the next unit is computed.

The compute loop hands over each unit's arrays (store.ROWS) as tensors being copied to the host
(asynchronously from a GPU: the loop does not wait for the copy; a CUDA event says when it is done),
and goes on to the next unit. This thread waits for the copy, writes the unit's chunk of each array
(its files written directly, as Zarr would write them: store.UnitChunks), then marks the unit done: a
unit is still written whole or not counted. At most `depth` units
wait; `close()` writes what is queued (also after Ctrl-C) and raises any error the thread met.
Given `sums`, the thread also adds each unit it writes to the per-class summary (store.ClassSums), so
that a run that computed every unit need not read the store back for it.
"""

from __future__ import annotations

import pathlib
import queue
import threading
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .store import CODES, NUMBERS, ROWS, ClassSums, open_arrays

_DONE = np.ones(1, dtype=bool)  # a unit's done mark, its own chunk of the done array


class UnitWriter:
    """A background writer of units into the store at `path` (its arrays opened once); units are added
    to `sums` (when given) in the order they are put."""

    def __init__(self, path: pathlib.Path, depth: int = 1, sums: ClassSums | None = None):
        self._arrays = open_arrays(path)
        self._sums = sums
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="ig-widget store writer", daemon=True)
        self._thread.start()

    def put(self, unit_index: int, tensors: dict[str, Tensor]) -> None:
        """Queue unit `unit_index` (the store's chunk of that index): `tensors` on any device, as
        `run._unit_tensors` makes them."""
        self._raise()
        copies, event = _to_host(tensors)
        self._queue.put((unit_index, copies, event))

    def close(self) -> None:
        """Write what is queued, stop the thread, raise any error it met."""
        self._queue.put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"writing the store failed: {self._error}") from self._error

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the main thread raises on its next put or close
            try:
                self._write(*item)
            except BaseException as error:  # noqa: BLE001 (handed to the main thread)
                self._error = error

    def _write(self, unit_index: int, copies: dict[str, Tensor], event: Any) -> None:
        if event is not None:
            event.synchronize()
        arrays = {name: copies[name].numpy() for name in ROWS}
        for name in ROWS:
            self._arrays[name].write(unit_index, arrays[name])
        self._arrays["done"].write(unit_index, _DONE)
        if self._sums is not None:
            numbers, codes = arrays["numbers"], arrays["codes"]
            self._sums.add(
                arrays["attributions"],
                numbers[:, NUMBERS.index("scale")],
                codes[:, CODES.index("label")],
                codes[:, CODES.index("prediction")],
            )


def _to_host(tensors: dict[str, Tensor]) -> tuple[dict[str, Tensor], Any]:
    """Copies on the host (non-blocking from a GPU) and the CUDA event that marks them done, or None."""
    copies = {name: tensor.detach().to("cpu", non_blocking=True) for name, tensor in tensors.items()}
    event = None
    if any(tensor.device.type == "cuda" for tensor in tensors.values()):
        event = torch.cuda.Event()
        event.record()
    return copies, event
