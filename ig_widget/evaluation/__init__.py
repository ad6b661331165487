"""Checks that an explanation means something: sanity checks, deletion/insertion, input invariance.

Sits above the attribution maths (which it calls) and below the widgets (which show its results).
"""

from .compare import ComparedMethod, compare_methods
from .deletion import DeletionInsertion, deletion_insertion
from .invariance import InputInvariance, input_invariance
from .sanity import SanityCheck, sanity_check
from .similarity import spearman, ssim

__all__ = [
    "ComparedMethod",
    "compare_methods",
    "DeletionInsertion",
    "InputInvariance",
    "SanityCheck",
    "deletion_insertion",
    "input_invariance",
    "sanity_check",
    "spearman",
    "ssim",
]
