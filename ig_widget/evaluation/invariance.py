"""Input invariance (Kindermans, Hooker, Adebayo, Alber, Schütt, Dähne, Erhan, Kim, "The (Un)reliability
of Saliency Methods", 2017).

Shift every input by a constant and let the model undo the shift first (the network's first bias
absorbs it: the same function of the original input, the same gradients). A method is input
invariant when its attributions do not move. Gradients are; gradient x input is not; IG is when its
baseline moves with the input (a blurred copy), not with a fixed black baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..attribution.errors import AttributionInputError
from ..attribution.model_state import isolated_model
from ..attribution.targets import output_tensor
from ..attribution.validation import check_input, check_model
from .methods import Method, check_method, explain

DEFAULT_TOLERANCE = 1e-3


class Shifted(nn.Module):
    """model(z - shift): fed x + shift it is the original model on x, with the same input gradients."""

    def __init__(self, model: Callable, shift: Tensor):
        super().__init__()
        self.model, self.shift = model, shift

    def forward(self, z: Tensor):
        return self.model(z - self.shift)


@dataclass(frozen=True)
class InputInvariance:
    """The attributions on x and on x + shift (through the shift-absorbing model), and how far they moved:
    `change[b]` is max |difference| / max |original| of row b."""

    attributions: Tensor
    shifted_attributions: Tensor
    shift: float
    tolerance: float

    @property
    def change(self) -> Tensor:
        difference = (self.shifted_attributions - self.attributions).flatten(1).abs().amax(dim=1)
        scale = self.attributions.flatten(1).abs().amax(dim=1).clamp_min(torch.finfo(self.attributions.dtype).tiny)
        return difference / scale

    @property
    def invariant(self) -> Tensor:
        """Per row: did the attributions stay within `tolerance` (relative) of the original?"""
        return self.change <= self.tolerance


def input_invariance(
    model: Callable,
    x: Tensor,
    *,
    target: int | Tensor | None = None,
    method: Method = "integrated_gradients",
    method_options: dict | None = None,
    shift: float = 1.0,
    tolerance: float = DEFAULT_TOLERANCE,
) -> InputInvariance:
    """Attributions of `method` on (model, x) and on (model with the shift absorbed, x + shift).

    Parameters
    ----------
    model, x : as for `integrated_gradients`.
    target : default None (each row's top class). A class index or one per row.
    method : default "integrated_gradients". A name or a callable, as for `sanity_check`.
    method_options : keywords for the method (e.g. {"baseline": "blur"}).
    shift : default 1.0. The constant added to every input feature (Kindermans et al. shift MNIST from
        [0, 1] to [-1, 0]: -1.0).
    tolerance : default 1e-3. The largest relative change still called invariant.
    """
    check_model(model)
    check_input(x, model)
    check_method(method)
    if isinstance(shift, bool) or not isinstance(shift, (int, float)):
        raise AttributionInputError(f"shift must be a number (added to every input feature); got {shift!r}")
    x = x.detach()
    if target is None:  # each row's top class, the same for both models (they are the same function)
        with torch.no_grad():
            target = output_tensor(isolated_model(model)(x)).argmax(dim=1)
    moved = torch.full((), float(shift), dtype=x.dtype, device=x.device)
    original = explain(method, model, x, target, method_options)
    shifted = explain(method, Shifted(model, moved), x + moved, target, method_options)
    return InputInvariance(original, shifted, float(shift), float(tolerance))
