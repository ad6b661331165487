"""Data-set runs: attributions for every example of a data set (one process or `torchrun`), stored
on disk in a chunked Zarr store that a gallery can page through. Knows the maths, torch.distributed
and the store format; no widget."""

from .run import attribute_dataset
from .store import AttributionStore, open_attributions

__all__ = ["AttributionStore", "attribute_dataset", "open_attributions"]
