"""What is explained: one scalar per input row, picked from the model's output."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .errors import AttributionInputError

OUTPUTS = ("logit", "probability", "log_probability")

TargetSpec = None | int | Sequence[int] | Tensor | Callable[[Any], Tensor]


def output_tensor(raw: Any) -> Tensor:
    """The score tensor inside whatever the model returned (a tensor, or a `.logits` / ["logits"])."""
    if isinstance(raw, Tensor):
        return raw
    logits = getattr(raw, "logits", None)
    if logits is None and isinstance(raw, Mapping):
        logits = raw.get("logits")
    if isinstance(logits, Tensor):
        return logits
    kind = type(raw).__name__
    raise AttributionInputError(
        f"the model returned a {kind}, not a tensor of scores [batch, outputs]; wrap the model so it "
        f"returns one (e.g. `lambda x: model(x)[0]`), or pass a callable target that maps the {kind} "
        "to one scalar per row"
    )


def transform_scores(scores: Tensor, output: str) -> Tensor:
    """Logits as they are, or (log-)probabilities over the output dimension.

    A model with one score per row ([batch] or [batch, 1]) is read as a binary classifier's logit: its
    probability is the sigmoid (a softmax over one output would be 1 everywhere, with zero gradient)."""
    if output == "logit":
        return scores
    single = scores.ndim == 1 or scores.shape[1] == 1
    if output == "probability":
        return scores.sigmoid() if single else scores.softmax(dim=1)
    if output == "log_probability":
        return nn.functional.logsigmoid(scores) if single else scores.log_softmax(dim=1)
    raise AttributionInputError(f"output={output!r} is unknown; use one of {', '.join(OUTPUTS)}")


def check_output(output: str) -> None:
    """`output` names one of OUTPUTS."""
    if output not in OUTPUTS:
        raise AttributionInputError(f"output={output!r} is unknown; use one of {', '.join(OUTPUTS)}")


def check_target_spec(target: TargetSpec, output: str) -> None:
    """Validate what can be validated without calling the model.

    A callable target returns its own score, which is explained as it is: `output` cannot reach it, so a
    callable with another `output` than "logit" is refused rather than silently explained unchanged."""
    check_output(output)
    if callable(target):
        if output != "logit":
            raise AttributionInputError(
                f"output={output!r} does not apply to a callable target: the callable returns its own score, "
                "which is explained as it is. Pass output='logit' (the default) and return the score you want "
                "from the callable, e.g. a probability: lambda out: out.softmax(dim=-1)[:, k]"
            )
        return
    if target is None:
        return
    if isinstance(target, int) and not isinstance(target, bool):  # checked on the host, no tensor
        if target < 0:
            raise AttributionInputError(f"target={target!r} is negative; class indices start at 0")
        return
    if isinstance(target, str) or (isinstance(target, Sequence) and any(isinstance(t, str) for t in target)):
        raise AttributionInputError(
            f"target={target!r} is a label; the attribution functions take class indices, e.g. "
            "labels.index(name) (the widgets accept labels)"
        )
    try:
        values = torch.as_tensor(target)
    except (TypeError, ValueError, RuntimeError):
        values = None
    if (
        values is None
        or values.dtype.is_floating_point
        or values.dtype == torch.bool
        or values.ndim > 1
        or values.numel() == 0
    ):
        raise AttributionInputError(
            f"target={target!r} is not a class index; give an int, one int per row, None (the top "
            "prediction) or a callable returning one score per row"
        )
    if (values < 0).any():
        raise AttributionInputError(f"target={target!r} is negative; class indices start at 0")


@dataclass(frozen=True)
class TargetScore:
    """Turns a model output for a batch of path points into the scalar explained for each point."""

    target: TargetSpec
    output: str
    classes: Tensor | None  # one class index per input row, None for a callable or scalar model
    index: int | None = None  # the one class of every row, when the target was given as an int

    def __call__(self, raw: Any, rows: Tensor) -> Tensor:
        if callable(self.target):
            return self.target(raw)
        scores = transform_scores(output_tensor(raw), self.output)
        if self.classes is None:
            return scores
        if self.index is not None:  # one select instead of an index and a gather (same values)
            return scores[:, self.index]
        picked = self.classes.to(scores.device)[rows]
        return scores.gather(1, picked[:, None])[:, 0]


def resolve_target(target: TargetSpec, output: str, raw: Any, batch: int) -> TargetScore:
    """Fix the class of each row from the model's output at the input (top class when None).

    The output's rank and size are checked here, on the one forward pass needed to see them, before
    any path is evaluated.
    """
    if callable(target):
        scores = target(raw)
        _check_row_scores(scores, batch, "the callable target")
        return TargetScore(target, output, None)
    scores = output_tensor(raw)
    if scores.ndim == 1:
        if target is not None:
            raise AttributionInputError(
                f"target={target!r} was given, but the model returns one score per row (shape "
                f"{tuple(scores.shape)}); leave target=None"
            )
        _check_row_scores(scores, batch, "the model")
        return TargetScore(None, output, None)
    if scores.ndim != 2 or scores.shape[0] != batch:
        raise AttributionInputError(
            f"the model output has shape {tuple(scores.shape)}; it needs [batch={batch}, outputs] or "
            "[batch]; for other outputs pass a callable target returning one score per row"
        )
    count = scores.shape[1]
    if target is None:
        classes = scores.argmax(dim=1)
    elif isinstance(target, int) and not isinstance(target, bool) and 0 <= target < count:
        # one class for every row: made on the device at once (no host tensor to copy and expand)
        return TargetScore(target, output, torch.full((batch,), target, dtype=torch.long, device=scores.device), target)
    else:
        classes = torch.as_tensor(target, dtype=torch.long).flatten()
        if classes.numel() == 1:
            classes = classes.expand(batch)
        if classes.numel() != batch:
            raise AttributionInputError(
                f"target has {classes.numel()} entries for a batch of {batch}; give one int, or one per row"
            )
        out_of_range = (
            target >= count if isinstance(target, int) and not isinstance(target, bool) else (classes >= count).any()
        )  # an int is checked on the host
        if out_of_range:
            raise AttributionInputError(
                f"target={target!r} is out of range: the model has {count} outputs (0 to {count - 1})"
            )
    index = target if isinstance(target, int) and not isinstance(target, bool) else None
    return TargetScore(target, output, classes.to(scores.device).clone(), index)


def _check_row_scores(scores: Any, batch: int, source: str) -> None:
    if not isinstance(scores, Tensor) or tuple(scores.shape) != (batch,):
        shape = tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
        raise AttributionInputError(f"{source} gave {shape}; it must give one score per row, shape ({batch},)")
