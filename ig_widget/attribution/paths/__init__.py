"""Path methods beyond the straight line: Blur IG and Guided IG (IDGI is `idgi=True` on any of them).

Each returns the same `AttributionResult` with its `PathTrace` as `integrated_gradients`, so the views,
the completeness badge and the figures work unchanged; the trace also carries the path's points.
"""

from .blur import blur_integrated_gradients
from .guided import guided_integrated_gradients

__all__ = ["blur_integrated_gradients", "guided_integrated_gradients"]
