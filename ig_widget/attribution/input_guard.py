"""The model never writes into a tensor of the user's: calls hand it copies where autograd would not stop a write.

A forward that normalises its input in place (`x.sub_(mean)`) would change the user's image in a
gradient-free pass (a probe at x, the baseline's score), where x itself is what the model receives. So
every tensor argument that autograd would not protect (all of them in a gradient-free pass; those that
do not require gradients otherwise, such as a text model's attention mask), passed directly or by
keyword, is handed over as a copy: the write lands in the copy, and the pass computes what the model
computes. In a pass with gradients the
points are leaves that require them, and autograd refuses the write before it happens, with a message
about leaf variables that names neither the model nor what to do; that refusal becomes an
`AttributionInputError` that says what the model did and how to write it instead. A copy costs a memory
copy of the input, small beside the pass it feeds; the points of a gradient pass, the bulk of every
walk, are not copied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .errors import AttributionInputError

_LEAF_WRITE = "a leaf Variable that requires grad is being used in an in-place operation"


def call_with_copies(function: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """`function(*args, **kwargs)` with the tensors among the arguments that autograd does not guard
    handed over as copies; raises `AttributionInputError` when autograd refused a write into a point."""
    guarded = torch.is_grad_enabled()
    args = tuple(_handed(value, guarded) for value in args)
    kwargs = {name: _handed(value, guarded) for name, value in kwargs.items()}
    try:
        return function(*args, **kwargs)
    except RuntimeError as error:
        if _LEAF_WRITE in str(error):
            raise _input_written() from error
        raise


def _handed(value: Any, guarded: bool) -> Any:
    """A copy of a tensor argument autograd does not guard; anything else as it is (containers too: a
    language model's cache is updated in place by design, and its tensors are the walk's own)."""
    if isinstance(value, torch.Tensor) and not (guarded and value.requires_grad):
        return value.clone()
    return value


def _input_written() -> AttributionInputError:
    return AttributionInputError(
        "model changes its input in place (an in-place operation such as x.sub_(mean), x.clamp_(0, 1) or "
        "nn.ReLU(inplace=True) applied to the input itself); your tensors are unchanged (the model was "
        "handed a copy), but attributions need a forward that leaves its input as it is: write "
        "x = x - mean instead"
    )
