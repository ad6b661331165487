"""Cascading model randomization (Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim, "Sanity Checks for
Saliency Maps", NeurIPS 2018).

The layers of a copy of the model are re-initialised one by one from the output down, and the
explanation is recomputed after each. A method that explains the model must change as the model
becomes random; one whose maps survive (an edge detector, say) explains the input, not the model.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..attribution.errors import AttributionInputError
from ..attribution.model_state import isolated_model
from ..attribution.targets import output_tensor
from ..attribution.validation import check_input, check_model
from .methods import Method, attribution_map, check_method, explain
from .similarity import normalised_magnitude, spearman, ssim

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class SanityCheck:
    """The similarity of each randomized model's map to the trained model's, layer by layer.

    `layers[i]` is the layer randomized at cascade step i (the output layer first; each step keeps the
    layers randomized before it). `spearman[i, b]` is the rank correlation of |map| of row b with the
    original's, `ssim[i, b]` the SSIM of the maps normalised to [0, 1] by their largest |value|.
    `maps[0]` is the original map, `maps[i + 1]` the map after step i ([steps + 1, batch, ...], summed
    over channels for images). A row passes when the SSIM after the whole cascade is below
    `threshold`: its map's structure changed once the model was random.

    Why SSIM and not the rank correlation decides: on an 8 x 8 digits CNN, |IG| with a black baseline
    keeps a rank correlation of about 0.9 with the fully randomized model's, since IG is zero wherever
    the input equals the baseline and the input's own strokes dominate the ranking (Adebayo et al. saw
    the same for IG and gradient x input); its SSIM falls to 0.2 - 0.4, while an edge detector that
    ignores the model stays at exactly 1 on both.
    """

    method: str
    target: Tensor
    layers: tuple[str, ...]
    spearman: Tensor  # [layers, batch]
    ssim: Tensor  # [layers, batch]
    maps: Tensor  # [layers + 1, batch, ...]
    threshold: float
    # each randomized layer's class name (an nn.Sequential's layers are named by their index alone)
    layer_kinds: tuple[str, ...] = ()

    @property
    def passed(self) -> Tensor:
        """Per row: did the map change once every layer was random (SSIM below the threshold)?"""
        return self.ssim[-1] < self.threshold


def sanity_check(
    model: nn.Module,
    x: Tensor,
    *,
    target: int | Tensor | None = None,
    method: Method = "integrated_gradients",
    method_options: dict | None = None,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
) -> SanityCheck:
    """Cascading randomization: re-initialise the layers of a copy of `model` from the output down and
    compare each new map with the original. `model` itself is never changed (a deep copy is randomized).

    Parameters
    ----------
    model : an nn.Module (its layers with parameters are what is randomized).
    x : the inputs, [batch, ...].
    target : default None (each row's top class on the trained model, kept for every randomized model).
    method : default "integrated_gradients". A name in `evaluation.methods.METHODS` or a callable
        (model, x, target=...) returning an AttributionResult or a tensor shaped like x.
    method_options : keywords for the method (e.g. {"steps": 16, "baseline": "blur"}).
    seed : default 0. Seeds the re-initialisation: the same seed gives the same random layers.
    threshold : default 0.5. A row passes when the SSIM after the whole cascade is below it.
    """
    if not isinstance(model, nn.Module):
        raise AttributionInputError(
            f"model is a {type(model).__name__}; sanity_check needs an nn.Module, whose layers it randomizes (in a copy)"
        )
    check_model(model)
    check_input(x, model)
    check_method(method)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise AttributionInputError(f"threshold must be a number in (0, 1]; got {threshold!r}")
    layers = [
        (name, module) for name, module in model.named_modules() if any(True for _ in module.parameters(recurse=False))
    ]
    if not layers:
        raise AttributionInputError("model has no layer with parameters; there is nothing to randomize")
    x = x.detach()
    target = _fixed_target(model, x, target)
    original = attribution_map(explain(method, model, x, target, method_options))
    twin = copy.deepcopy(model)
    twin_layers = dict(twin.named_modules())
    maps, rho, structure = [original], [], []
    for step, (name, _) in enumerate(reversed(layers)):
        _reinitialise(twin_layers[name], seed + step)
        randomized = attribution_map(explain(method, twin, x, target, method_options))
        maps.append(randomized)
        rho.append([spearman(original[b].abs(), randomized[b].abs()) for b in range(len(x))])
        structure.append(
            [
                ssim(normalised_magnitude(original[b]), normalised_magnitude(randomized[b]))
                if original.ndim == 3
                else float("nan")
                for b in range(len(x))
            ]
        )
    return SanityCheck(
        method=method if isinstance(method, str) else getattr(method, "__name__", "custom"),
        target=target,
        layers=tuple(name for name, _ in reversed(layers)),
        spearman=torch.tensor(rho, dtype=torch.float64),
        ssim=torch.tensor(structure, dtype=torch.float64),
        maps=torch.stack(maps).cpu(),
        threshold=float(threshold),
        layer_kinds=tuple(type(module).__name__ for _, module in reversed(layers)),
    )


def _fixed_target(model: Callable, x: Tensor, target) -> Tensor:
    """The class each row explains on every model of the cascade."""
    if target is not None and not callable(target):
        return torch.as_tensor(target, device=x.device).expand(len(x)).clone()
    if callable(target):
        raise AttributionInputError("sanity_check needs class targets (an int or one per row), not a callable")
    with torch.no_grad():
        return output_tensor(isolated_model(model)(x)).argmax(dim=1)


def _reinitialise(layer: nn.Module, seed: int) -> None:
    """The layer's own parameters drawn again from its default initialisation (seeded)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with torch.no_grad():
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()
            else:
                for parameter in layer.parameters(recurse=False):
                    nn.init.normal_(parameter, std=0.05)
