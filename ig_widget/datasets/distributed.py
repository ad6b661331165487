"""Which part of a run this process does: one process, or one rank of `torchrun` (torch.distributed).

Under `torchrun --nproc-per-node=N` the environment names the rank and world size; when the script has
not started a process group itself, `attribute_dataset` starts one (gloo on CPUs, NCCL when the model is
on a GPU) and ends it when the run is over. Nothing here is a process pool of our own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist


@dataclass
class Ranks:
    rank: int = 0
    world: int = 1
    started_group: bool = False

    @property
    def leader(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def from_leader(self, value: Any) -> Any:
        """The leader's `value` on every rank (a pickled object)."""
        if self.world == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def sum_to_leader(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """The sum over the ranks of each of `arrays` (same shapes and dtypes on every rank, and consumed:
        they may be overwritten), on the leader; what the other ranks get back is not to be used. Every
        rank must call it."""
        if self.world == 1:
            return arrays
        # NCCL reduces tensors on this rank's GPU, gloo on the host (there in place: the arrays are consumed)
        device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
        tensors = [torch.from_numpy(np.ascontiguousarray(array)).to(device) for array in arrays]
        for tensor in tensors:
            dist.reduce(tensor, dst=0)
        return [tensor.cpu().numpy() for tensor in tensors]

    def close(self) -> None:
        if self.started_group and dist.is_initialized():
            dist.destroy_process_group()


def current_ranks(device: torch.device | None) -> Ranks:
    """This process's rank and the world size, starting the process group under torchrun if needed."""
    if not dist.is_available():
        return Ranks()
    started = False
    if not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        backend = "nccl" if device is not None and device.type == "cuda" else "gloo"
        dist.init_process_group(backend)
        started = True
    if not dist.is_initialized():
        return Ranks()
    return Ranks(dist.get_rank(), dist.get_world_size(), started)
