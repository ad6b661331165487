"""Large images are shown on a coarser grid: blocks of input pixels become one display pixel.

A 2048 x 2048 photo has 4 million pixels; a map per path point at that size, for every listed output,
is gigabytes in the kernel and in the payload, while the view draws a few hundred pixels a side. So the
view's work happens on a grid of at most MAX_DISPLAY_SIDE pixels a side: attribution maps (and the
trace along the path) are summed over each block, so they still add up to F(x) - F(x'), and the image
and input values are averaged over it. The full-resolution result stays in Python (`w.explanation`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

MAX_DISPLAY_SIDE = 256


@dataclass(frozen=True)
class DisplayGrid:
    """Blocks of `cell` x `cell` input pixels of an image `height` x `width` (partial at the far edges)."""

    height: int
    width: int
    cell: int

    @classmethod
    def for_image(cls, height: int, width: int, max_side: int = MAX_DISPLAY_SIDE) -> DisplayGrid:
        return cls(height, width, max(1, math.ceil(max(height, width) / max_side)))

    @property
    def rows(self) -> int:
        return math.ceil(self.height / self.cell)

    @property
    def columns(self) -> int:
        return math.ceil(self.width / self.cell)

    def sums(self, maps: Tensor) -> Tensor:
        """[..., height, width] -> [..., rows, columns], each the sum over its block."""
        if self.cell == 1:
            return maps
        padded = torch.nn.functional.pad(
            maps, (0, self.columns * self.cell - self.width, 0, self.rows * self.cell - self.height)
        )
        blocks = padded.unflatten(-1, (self.columns, self.cell)).unflatten(-3, (self.rows, self.cell))
        return blocks.sum(dim=(-3, -1))

    def means(self, maps: Tensor) -> Tensor:
        """[..., height, width] -> [..., rows, columns], each the mean over the pixels of its block."""
        if self.cell == 1:
            return maps
        counts = self.sums(torch.ones(self.height, self.width, dtype=maps.dtype, device=maps.device))
        return self.sums(maps) / counts

    def trace_reducer(self):
        """The trace's reduction for the view: maps [points, C, H, W] summed over channels and blocks."""
        return lambda per_point: self.sums(per_point.sum(dim=1))
