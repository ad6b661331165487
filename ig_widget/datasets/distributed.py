"""Which part of a run this process does: one process, or one rank of `torchrun` (torch.distributed).

Under `torchrun --nproc-per-node=N` the environment names the rank and world size; when the script has
not started a process group itself, `attribute_dataset` starts one (gloo on CPUs, NCCL when the model is
on a GPU) and ends it when the run is over. Nothing here is a process pool of our own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

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
