"""Bad input, tried systematically: every case gets an error that names the argument and what it needs,
raised before any model call where the input alone shows the mistake.

Each case runs against a counted model. "Before any model call" means zero forwards. Mistakes that only
the model's output can show (target out of range, wrong output rank, a tuple output) are caught on the
first forward pass, which carries x and its baseline in front of the first chunk of path points (see
`batching.RidingEnds`): at most that forward, and no backward pass. NaN or inf from the model at x or
at the baseline is read with the walk's one check at its end (a check of its own would make every call
wait for the device once more), so that error comes after the walk, naming x or the baseline. Mistakes
that only a path point can show (NaN inside the path, no gradient path) stop at the first path chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
import traitlets
from torch import nn

import ig_widget as igw
from ig_widget.attribution.errors import ModelCallError


class Counted(nn.Module):
    """Counts forward passes through `inner`: all of them, and those at path points (with a graph)."""

    def __init__(self, inner: Callable):
        super().__init__()
        self.inner = inner
        # shared with the explainers' twin of the module
        self.counts = {"forwards": 0, "path_forwards": 0, "backwards": 0}

    @property
    def forwards(self) -> int:
        return self.counts["forwards"]

    @property
    def path_forwards(self) -> int:
        return self.counts["path_forwards"]

    @property
    def backwards(self) -> int:
        return self.counts["backwards"]

    def forward(self, x):
        self.counts["forwards"] += 1
        if torch.is_grad_enabled() and x.requires_grad:
            self.counts["path_forwards"] += 1
            x.register_hook(self._count_backward)
        return self.inner(x)

    def _count_backward(self, gradient):
        self.counts["backwards"] += 1


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 4))


def _rows(batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 6, generator=torch.Generator().manual_seed(1))


@dataclass(frozen=True)
class Case:
    name: str
    model: Callable[[], Callable]  # builds the (possibly broken) model; it is wrapped in Counted
    call: Callable[[Callable], Any]  # the bad call, given the counted model
    error: type[BaseException]
    says: tuple[str, ...]  # the message names the argument, what it got and what it needs
    forwards: int = 0  # forwards allowed before the error: 0 = before any model call, 1 = the probe
    path_forwards: int = 0  # forwards at path points allowed before the error
    backwards: int = 0  # backward passes allowed before the error


def _ig(**kwargs) -> Callable[[Callable], Any]:
    x = kwargs.pop("x", None)
    return lambda model: igw.integrated_gradients(model, _rows() if x is None else x, **kwargs)


def _nan_between(low: float, high: float) -> Callable[[], Callable]:
    """An MLP whose score is NaN for points whose mean |value| lies in (low, high): only mid-path."""

    def build():
        mlp = _mlp()

        def forward(t):
            out = mlp(t)
            size = t.abs().mean(dim=1, keepdim=True)
            return torch.where((size > low) & (size < high), torch.full_like(out, float("nan")), out)

        return forward

    return build


class TokenClassifier(nn.Module):
    """Treats its input as token ids (an integer-only first layer): no gradient reaches the input."""

    def __init__(self):
        super().__init__()
        self.embed, self.head = nn.Embedding(10, 4), nn.Linear(4, 3)

    def forward(self, x):
        return self.head(self.embed(x.long().clamp(0, 9)).mean(dim=1))


def _conv() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(72, 3))


IMAGE = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(2))

ENGINE_CASES = [
    # --- the model argument
    Case(
        "model not callable",
        _mlp,
        lambda m: igw.integrated_gradients(3, _rows()),
        igw.AttributionInputError,
        ("model must be", "callable", "got int"),
    ),
    # --- the input: type, dtype, shape, values, device
    Case(
        "x is a list",
        _mlp,
        lambda m: igw.integrated_gradients(m, [[0.0] * 6]),
        igw.AttributionInputError,
        ("x must be a torch.Tensor", "got list"),
    ),
    Case(
        "x is a numpy array",
        _mlp,
        lambda m: igw.integrated_gradients(m, _rows().numpy()),
        igw.AttributionInputError,
        ("x must be a torch.Tensor", "got ndarray"),
    ),
    Case(
        "token ids to an image method",
        _mlp,
        lambda m: igw.integrated_gradients(m, torch.ones(2, 6, dtype=torch.long)),
        igw.AttributionInputError,
        ("x has dtype torch.int64", "floating-point", "text_integrated_gradients"),
    ),
    Case(
        "token ids to saliency",
        _mlp,
        lambda m: igw.saliency(m, torch.ones(2, 6, dtype=torch.int32)),
        igw.AttributionInputError,
        ("x has dtype torch.int32", "floating-point"),
    ),
    Case(
        "bool input",
        _mlp,
        lambda m: igw.gradient_x_input(m, torch.ones(2, 6, dtype=torch.bool)),
        igw.AttributionInputError,
        ("x has dtype torch.bool", "floating-point"),
    ),
    Case(
        "empty batch",
        _mlp,
        _ig(x=torch.zeros(0, 6)),
        igw.AttributionInputError,
        ("x has shape (0, 6)", "at least one row"),
    ),
    Case(
        "no batch dimension (vector)",
        _mlp,
        _ig(x=torch.zeros(6)),
        igw.AttributionInputError,
        ("x has shape (6,)", "batch dimension", "x.unsqueeze(0)"),
    ),
    Case(
        "no batch dimension (image)",
        _conv,
        lambda m: igw.integrated_gradients(m, IMAGE[0]),
        igw.AttributionInputError,
        ("x has shape (1, 8, 8)", "4-d batches", "x.unsqueeze(0)"),
    ),
    Case(
        "NaN in input",
        _mlp,
        _ig(x=torch.tensor([[float("nan")] + [0.0] * 5])),
        igw.AttributionInputError,
        ("x contains NaN or inf", "finite"),
    ),
    Case(
        "inf in input",
        _mlp,
        lambda m: igw.smoothgrad(m, torch.tensor([[float("inf")] + [0.0] * 5])),
        igw.AttributionInputError,
        ("x contains NaN or inf", "finite"),
    ),
    Case(
        "float64 input, float32 model",
        _mlp,
        _ig(x=_rows().double()),
        igw.AttributionInputError,
        ("x has dtype torch.float64", "torch.float32", "x.to(torch.float32)"),
    ),
    Case(
        "input on another device than the model",
        lambda: nn.Linear(6, 4, device="meta"),
        _ig(),
        igw.AttributionInputError,
        ("x is on cpu", "the model is on meta", "x.to('meta')"),
    ),
    # the probe's pass over x and x' stacked fails, then x alone, whose error names the user's input
    Case(
        "input the model rejects (wrong feature count)",
        _mlp,
        _ig(x=torch.zeros(2, 7)),
        ModelCallError,
        ("shape (2, 7)", "mat1 and mat2", "a batch the model accepts"),
        forwards=2,
        path_forwards=1,
    ),
    # --- steps, rule, batch size, output
    Case("steps = 0", _mlp, _ig(steps=0), igw.AttributionInputError, ("steps=0", "steps >= 1")),
    Case("steps negative", _mlp, _ig(steps=-5), igw.AttributionInputError, ("steps=-5", "steps >= 1")),
    Case("steps huge", _mlp, _ig(steps=10**9), igw.AttributionInputError, ("steps=1000000000", "more than 100000")),
    Case("steps not an int", _mlp, _ig(steps=2.5), igw.AttributionInputError, ("steps must be an int", "2.5")),
    Case(
        "trapezoid with one step",
        _mlp,
        _ig(steps=1, rule="riemann_trapezoid"),
        igw.AttributionInputError,
        ("steps=1", "riemann_trapezoid needs steps >= 2"),
    ),
    Case("unknown rule", _mlp, _ig(rule="simpson"), igw.AttributionInputError, ("rule='simpson'", "gausslegendre")),
    Case(
        "batch_size = 0",
        _mlp,
        _ig(batch_size=0),
        igw.AttributionInputError,
        ("batch_size must be a positive int", "got 0"),
    ),
    Case("unknown output", _mlp, _ig(output="prob"), igw.AttributionInputError, ("output='prob'", "probability")),
    Case(
        "unknown trace_reduce",
        _mlp,
        _ig(trace_reduce="pixels"),
        igw.AttributionInputError,
        ("trace_reduce='pixels'", "'channels', 'none' or a callable"),
    ),
    Case(
        "progress not callable",
        _mlp,
        _ig(progress=5),
        igw.AttributionInputError,
        ("progress must be None, True (a tqdm bar) or a callable", "got int"),
    ),
    Case(
        "seed not an int",
        _mlp,
        _ig(baseline="uniform", seed="0"),
        igw.AttributionInputError,
        ("seed must be a non-negative int", "got '0'"),
    ),
    # --- target
    Case(
        "target is a label",
        _mlp,
        _ig(target="cat"),
        igw.AttributionInputError,
        ("target='cat' is a label", "class indices"),
    ),
    Case(
        "target is a float",
        _mlp,
        _ig(target=1.5),
        igw.AttributionInputError,
        ("target=1.5", "not a class index", "give an int"),
    ),
    Case("target negative", _mlp, _ig(target=-1), igw.AttributionInputError, ("target=-1", "class indices start at 0")),
    Case(
        "target out of range",
        _mlp,
        _ig(target=7),
        igw.AttributionInputError,
        ("target=7 is out of range", "4 outputs (0 to 3)"),
        forwards=1,
        path_forwards=1,
    ),
    Case(
        "one target per row, wrong count",
        _mlp,
        _ig(target=[0, 1, 2]),
        igw.AttributionInputError,
        ("target has 3 entries for a batch of 2", "one per row"),
        forwards=1,
        path_forwards=1,
    ),
    Case(
        "target for a one-score model",
        lambda: nn.Sequential(nn.Linear(6, 1), nn.Flatten(0)),
        _ig(target=0),
        igw.AttributionInputError,
        ("target=0 was given", "leave target=None"),
        forwards=1,
        path_forwards=1,
    ),
    Case(
        "callable target of the wrong shape",
        _mlp,
        _ig(target=lambda out: out),
        igw.AttributionInputError,
        ("the callable target gave (2, 4)", "shape (2,)"),
        forwards=1,
    ),
    # --- baseline and input_range
    Case(
        "unknown baseline name",
        _mlp,
        _ig(baseline="white"),
        igw.AttributionInputError,
        ("baseline='white'", "black, zero, blur"),
    ),
    Case(
        "baseline of the wrong shape",
        _mlp,
        _ig(baseline=torch.zeros(5)),
        igw.AttributionInputError,
        ("baseline has shape (5,)", "shape (2, 6) or (6,)"),
    ),
    Case(
        "integer baseline tensor",
        _mlp,
        _ig(baseline=torch.zeros(6, dtype=torch.long)),
        igw.AttributionInputError,
        ("baseline tensor has dtype torch.int64", "floating dtype"),
    ),
    Case(
        "NaN baseline number",
        _mlp,
        _ig(baseline=float("nan")),
        igw.AttributionInputError,
        ("baseline=nan", "finite number"),
    ),
    Case(
        "inf in baseline tensor",
        _mlp,
        _ig(baseline=torch.tensor([float("inf")] * 6)),
        igw.AttributionInputError,
        ("baseline='tensor' contains NaN or inf", "finite values"),
    ),
    Case(
        "baseline is a list",
        _mlp,
        _ig(baseline=[0.0] * 6),
        igw.AttributionInputError,
        ("baseline=list is not a baseline", "a tensor shaped like the input"),
    ),
    Case(
        "baseline is a bool",
        _mlp,
        _ig(baseline=True),
        igw.AttributionInputError,
        ("baseline=True is not a baseline", "name, number or tensor"),
    ),
    Case(
        "blur baseline for tabular rows",
        _mlp,
        _ig(baseline="blur"),
        igw.AttributionInputError,
        ("baseline='blur' needs images", "got shape (2, 6)"),
    ),
    Case(
        "blur with negative sigma",
        _conv,
        lambda m: igw.integrated_gradients(m, IMAGE, baseline=igw.Blur(sigma=-1.0)),
        igw.AttributionInputError,
        ("Blur(sigma=-1.0)", "positive sigma"),
    ),
    Case(
        "input_range not a pair",
        _mlp,
        _ig(baseline="uniform", input_range=(0, 1, 2)),
        igw.AttributionInputError,
        ("input_range=(0, 1, 2)", "(low, high) pair"),
    ),
    Case(
        "input_range inverted",
        _mlp,
        _ig(baseline="max_distance", input_range=(1.0, 0.0)),
        igw.AttributionInputError,
        ("input_range=(1.0, 0.0)", "low < high"),
    ),
    # --- what the model returns
    Case(
        "model returns a tuple",
        lambda: lambda t, mlp=_mlp(): (mlp(t), None),
        _ig(),
        igw.AttributionInputError,
        ("the model returned a tuple", "lambda x: model(x)[0]"),
        forwards=1,
        path_forwards=1,
    ),
    Case(
        "model returns a dict without logits",
        lambda: lambda t, mlp=_mlp(): {"scores": mlp(t)},
        _ig(),
        igw.AttributionInputError,
        ("the model returned a dict", "callable target"),
        forwards=1,
        path_forwards=1,
    ),
    Case(
        "model output of rank 3",
        lambda: lambda t, mlp=_mlp(): mlp(t)[:, None],
        _ig(),
        igw.AttributionInputError,
        ("the model output has shape (2, 1, 4)", "[batch=2, outputs]"),
        forwards=1,
        path_forwards=1,
    ),
    Case(
        "model gives NaN at the input",
        lambda: lambda t, mlp=_mlp(): mlp(t) * float("nan"),
        _ig(),
        igw.NonFiniteError,
        ("score at the input x is NaN or inf", "finite scores"),
        forwards=1,
        path_forwards=1,
        backwards=1,
    ),
    Case(
        "model gives NaN at the baseline",
        _nan_between(-1.0, 1e-6),
        _ig(),
        igw.NonFiniteError,
        ("score at the baseline is NaN or inf", "choose a baseline"),
        forwards=2,
        path_forwards=1,
        backwards=1,
    ),
    Case(
        "model gives NaN mid-path",
        _nan_between(0.2, 0.4),
        _ig(x=torch.ones(2, 6), steps=16),
        igw.NonFiniteError,
        ("NaN or inf on the path", "another baseline"),
        forwards=3,
        path_forwards=1,
        backwards=1,
    ),
    Case(
        "model detaches its input",
        lambda: lambda t, mlp=_mlp(): mlp(t.detach()),
        _ig(),
        igw.GradientPathError,
        ("no gradient path to the input", "differentiable in its input"),
        forwards=3,
        path_forwards=1,
        backwards=1,
    ),
    Case(
        "integer-only first layer",
        TokenClassifier,
        _ig(x=torch.rand(2, 6) * 9),
        igw.GradientPathError,
        ("no gradient path to the input", "differentiable in its input"),
        forwards=3,
        path_forwards=1,
        backwards=1,
    ),
    # Only the whole path shows that every gradient was zero while the score moved.
    Case(
        "piecewise-constant model (round)",
        lambda: lambda t, mlp=_mlp(): mlp((3 * t).round()),
        _ig(steps=8),
        igw.GradientPathError,
        ("gradient is zero at all 8 path points", "differentiable in its input"),
        forwards=10,
        path_forwards=8,
        backwards=8,
    ),
    # --- the other methods' own arguments
    Case(
        "smoothgrad samples = 0",
        _mlp,
        lambda m: igw.smoothgrad(m, _rows(), samples=0),
        igw.AttributionInputError,
        ("samples must be a positive int", "got 0"),
    ),
    Case(
        "smoothgrad negative noise",
        _mlp,
        lambda m: igw.smoothgrad(m, _rows(), noise_level=-0.1),
        igw.AttributionInputError,
        ("noise_level must be a finite number >= 0", "-0.1"),
    ),
    Case(
        "smoothgrad unknown method",
        _mlp,
        lambda m: igw.smoothgrad(m, _rows(), method="deeplift"),
        igw.AttributionInputError,
        ("method='deeplift'", "saliency, gradient_x_input, integrated_gradients"),
    ),
    Case(
        "expected_gradients data of another shape",
        _mlp,
        lambda m: igw.expected_gradients(m, _rows(), data=torch.zeros(4, 5)),
        igw.AttributionInputError,
        ("data has samples of shape (5,)", "match the input's (6,)"),
    ),
    Case(
        "expected_gradients empty data",
        _mlp,
        lambda m: igw.expected_gradients(m, _rows(), data=torch.zeros(0, 6)),
        igw.AttributionInputError,
        ("data has shape (0, 6)", "at least one row"),
    ),
    Case(
        "expected_gradients data with NaN",
        _mlp,
        lambda m: igw.expected_gradients(m, _rows(), data=torch.full((3, 6), float("nan"))),
        igw.AttributionInputError,
        ("data contains NaN or inf", "finite"),
    ),
    Case(
        "interior_gradients empty alphas",
        _mlp,
        lambda m: igw.interior_gradients(m, _rows(), alphas=[]),
        igw.AttributionInputError,
        ("alphas must be a non-empty sequence", "got []"),
    ),
    Case(
        "interior_gradients alphas outside the path",
        _mlp,
        lambda m: igw.interior_gradients(m, _rows(), alphas=[-2.0, 0.5, 3.0]),
        igw.AttributionInputError,
        ("alphas=[-2.0, 0.5, 3.0] has values outside [0, 1] (-2, 3)", "0 at the baseline and 1 at x"),
    ),
    Case(
        "steps neither an int nor 'auto'",
        _mlp,
        _ig(steps="fast"),
        igw.AttributionInputError,
        ("steps must be an int", "'auto'", "got 'fast'"),
    ),
    Case(
        "adaptive steps with a negative tol",
        _mlp,
        _ig(steps="auto", tol=-0.1),
        igw.AttributionInputError,
        ("tol must be a number between 0 and 1", "got -0.1"),
    ),
    Case(
        "multi: top_k = 0",
        _mlp,
        lambda m: igw.integrated_gradients_multi(m, _rows(), top_k=0),
        igw.AttributionInputError,
        ("top_k must be a positive int", "got 0"),
    ),
    Case(
        "multi: targets and top_k both",
        _mlp,
        lambda m: igw.integrated_gradients_multi(m, _rows(), targets=[0], top_k=2),
        igw.AttributionInputError,
        ("give targets or top_k", "not both"),
    ),
    Case(
        "multi: empty targets",
        _mlp,
        lambda m: igw.integrated_gradients_multi(m, _rows(), targets=[]),
        igw.AttributionInputError,
        ("targets must be a non-empty list", "or pass top_k=k", "got []"),
    ),
    Case(
        "multi: top_k above the class count",
        _mlp,
        lambda m: igw.integrated_gradients_multi(m, _rows(), top_k=9),
        igw.AttributionInputError,
        ("top_k=9", "the model's 4 outputs"),
        forwards=1,
        path_forwards=1,
    ),
    Case(
        "interior_gradients alphas not numbers",
        _mlp,
        lambda m: igw.interior_gradients(m, _rows(), alphas="half"),
        igw.AttributionInputError,
        ("alphas must be a non-empty sequence of finite numbers", "'half'"),
    ),
]


def _check(case: Case) -> None:
    model = Counted(case.model())
    with pytest.raises(case.error) as caught:
        case.call(model)
    message = str(caught.value)
    if not isinstance(caught.value, traitlets.TraitError):  # a trait refused by traitlets' own protocol
        assert isinstance(caught.value, igw.AttributionError), (
            f"{case.name}: {type(caught.value)} is outside the family"
        )
    for phrase in case.says:
        assert phrase in message, f"{case.name}: {phrase!r} not in {message!r}"
    assert model.forwards <= case.forwards, f"{case.name}: {model.forwards} forwards before the error"
    assert model.path_forwards <= case.path_forwards, f"{case.name}: {model.path_forwards} path forwards"
    assert model.backwards <= case.backwards, f"{case.name}: {model.backwards} backward passes"


@pytest.mark.parametrize("case", ENGINE_CASES, ids=[c.name for c in ENGINE_CASES])
def test_engine_rejects_bad_input_clearly(case: Case) -> None:
    _check(case)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_input_on_cpu_model_on_cuda_is_named() -> None:
    model = Counted(_mlp().cuda())
    with pytest.raises(
        igw.AttributionInputError, match=r"x is on cpu but the model is on cuda:0; move the input: x.to\('cuda:0'\)"
    ):
        igw.integrated_gradients(model, _rows())
    assert model.forwards == 0


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda out: {"logits": out}, id="dict with logits"),
        pytest.param(lambda out: type("ModelOutput", (), {"logits": out})(), id="object with .logits (ModelOutput)"),
    ],
)
def test_model_outputs_holding_logits_are_explained(wrap) -> None:
    mlp = _mlp()
    x = _rows()
    wrapped = igw.integrated_gradients(lambda t: wrap(mlp(t)), x, steps=16)
    plain = igw.integrated_gradients(mlp, x, steps=16)
    torch.testing.assert_close(wrapped.attributions, plain.attributions)


# --- ImageExplainer ------------------------------------------------------------------------------

LABELS = ["cat", "dog", "bird", "fish"]


def _image_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 6 * 6, 4))


def _explainer(**kwargs) -> Callable[[Callable], Any]:
    image = kwargs.pop("image", None)
    return lambda model: igw.ImageExplainer(model, torch.rand(1, 8, 8) if image is None else image, **kwargs)


def _raise(error: Exception) -> Callable:
    def preprocess(image):
        raise error

    return preprocess


def _setting(name: str, value: Any) -> Callable[[Callable], Any]:
    """Set a control on a working explainer; only forwards after the setting are counted."""

    def call(model):
        widget = igw.ImageExplainer(model, torch.rand(1, 8, 8), labels=LABELS, steps=4)
        widget.wait()
        model.counts.update(forwards=0, path_forwards=0, backwards=0)
        setattr(widget, name, value)

    return call


IMAGE_WIDGET_CASES = [
    Case(
        "widget: model not callable",
        _image_cnn,
        lambda m: igw.ImageExplainer("resnet", torch.rand(1, 8, 8)),
        igw.AttributionInputError,
        ("model must be an nn.Module or a callable", "got str"),
    ),
    Case(
        "widget: image is a file name",
        _image_cnn,
        _explainer(image="cat.png"),
        igw.AttributionInputError,
        ("image is a str", "a tensor or array H x W, C x H x W or H x W x C", "a PIL image"),
    ),
    Case(
        "widget: token ids as image",
        _image_cnn,
        _explainer(image=torch.ones(1, 8, 8, dtype=torch.long)),
        igw.AttributionInputError,
        ("image became a torch.int64 tensor", "needs to be a float tensor C x H x W"),
    ),
    Case(
        "widget: image with 2 channels",
        _image_cnn,
        _explainer(image=torch.rand(2, 8, 8)),
        igw.AttributionInputError,
        ("shape (2, 8, 8)", "1 or 3 channels"),
    ),
    Case(
        "widget: array with 2 channels last",
        _image_cnn,
        _explainer(image=np.random.rand(8, 8, 2)),
        igw.AttributionInputError,
        ("shape (8, 8, 2)", "C = 1 or 3"),
    ),
    Case(
        "widget: NaN in image",
        _image_cnn,
        _explainer(image=torch.full((1, 8, 8), float("nan"))),
        igw.AttributionInputError,
        ("image contains NaN or inf", "finite values"),
    ),
    Case(
        "widget: preprocess raises",
        _image_cnn,
        _explainer(image=np.zeros((8, 8), np.uint8), preprocess=_raise(OSError("no such file"))),
        igw.AttributionInputError,
        ("preprocess raised OSError on the image: no such file", "float tensor C x H x W"),
    ),
    Case(
        "widget: preprocess returns an array",
        _image_cnn,
        _explainer(image=np.zeros((8, 8), np.uint8), preprocess=lambda image: np.asarray(image, np.float32)),
        igw.AttributionInputError,
        ("preprocess returned ndarray", "torch.Tensor C x H x W"),
    ),
    Case(
        "widget: unknown output",
        _image_cnn,
        _explainer(output="probs"),
        igw.AttributionInputError,
        ("output='probs'", "logit, probability, log_probability"),
    ),
    Case(
        "widget: model rejects the image",
        _image_cnn,
        _explainer(image=torch.rand(3, 8, 8)),
        ModelCallError,
        ("shape (1, 3, 8, 8)", "expected input", "a batch the model accepts"),
        forwards=1,
    ),
    Case(
        "widget: model returns a tuple",
        lambda: lambda t, cnn=_image_cnn(): (cnn(t), t),
        _explainer(),
        igw.AttributionInputError,
        ("the model returned a tuple", "lambda x: model(x)[0]"),
        forwards=1,
    ),
    Case(
        "widget: model returns one score",
        lambda: lambda t, cnn=_image_cnn(): cnn(t)[:, 0],
        _explainer(),
        igw.AttributionInputError,
        ("model(image) gave (1,)", "class scores of shape [1, classes]"),
        forwards=1,
    ),
    Case(
        "widget: labels count differs from outputs",
        _image_cnn,
        _explainer(labels=["cat", "dog", "bird"]),
        igw.AttributionInputError,
        ("labels has 3 names but the model gives 4 class scores", "one per class"),
        forwards=1,
    ),
    Case(
        "widget: target not among the labels",
        _image_cnn,
        _explainer(labels=LABELS, target="zebra"),
        igw.AttributionInputError,
        ("target='zebra' is not one of the labels (cat, dog, bird, fish)", "a label or a class index"),
        forwards=1,
    ),
    Case(
        "widget: target index out of range",
        _image_cnn,
        _explainer(labels=LABELS, target=4),
        traitlets.TraitError,
        ("target=4 is not a class index", "0..3"),
        forwards=1,
    ),
    Case(
        "widget: steps = 0",
        _image_cnn,
        _explainer(steps=0),
        traitlets.TraitError,
        ("steps=0 is out of range", "1..1024"),
        forwards=1,
    ),
    Case(
        "widget: steps negative",
        _image_cnn,
        _explainer(steps=-8),
        traitlets.TraitError,
        ("steps=-8 is out of range", "1..1024"),
        forwards=1,
    ),
    Case(
        "widget: steps huge",
        _image_cnn,
        _explainer(steps=10**6),
        traitlets.TraitError,
        ("steps=1000000 is out of range", "1..1024"),
        forwards=1,
    ),
    # The controls are traits, validated when the widget is made: after its one prediction.
    Case(
        "widget: unknown baseline",
        _image_cnn,
        _explainer(baseline="white"),
        traitlets.TraitError,
        ("baseline='white' is unknown", "black, blur"),
        forwards=1,
    ),
    Case(
        "widget: unknown rule",
        _image_cnn,
        _explainer(rule="simpson"),
        traitlets.TraitError,
        ("rule='simpson' is unknown", "gausslegendre"),
        forwards=1,
    ),
    Case(
        "widget: set target out of range",
        _image_cnn,
        _setting("target", 9),
        traitlets.TraitError,
        ("target=9 is not a class index", "0..3"),
    ),
    Case(
        "widget: set steps to 0",
        _image_cnn,
        _setting("steps", 0),
        traitlets.TraitError,
        ("steps=0 is out of range", "1..1024"),
    ),
    Case(
        "widget: set unknown baseline",
        _image_cnn,
        _setting("baseline", "sepia"),
        traitlets.TraitError,
        ("baseline='sepia' is unknown", "black, blur"),
    ),
    Case(
        "widget: set clip below 50",
        _image_cnn,
        _setting("clip", 10.0),
        traitlets.TraitError,
        ("clip=10.0", "use 50..100"),
    ),
]


@pytest.mark.parametrize("case", IMAGE_WIDGET_CASES, ids=[c.name for c in IMAGE_WIDGET_CASES])
def test_image_explainer_rejects_bad_input_clearly(case: Case) -> None:
    _check(case)


def _nan_where_mean_near(out: torch.Tensor, t: torch.Tensor, centre: float) -> torch.Tensor:
    near = (t.flatten(1).mean(dim=1, keepdim=True) - centre).abs() < 0.1
    return torch.where(near, torch.full_like(out, float("nan")), out)


# Failures only a computation can show are not raised into the notebook: the view shows them as text.
SHOWN_IN_WIDGET = [
    (
        "model detaches its input",
        lambda cnn: lambda t: cnn(t.detach()),
        "GradientPathError: the explained score has no gradient path",
    ),
    (
        "piecewise-constant model",
        lambda cnn: lambda t: cnn((4 * t).round()),
        "GradientPathError: the score of row 0 changes",
    ),
    (
        "NaN only inside the path",
        lambda cnn: lambda t: _nan_where_mean_near(cnn(t), t, 0.2),
        "NonFiniteError: the model produced NaN or inf on the path",
    ),
]


@pytest.mark.parametrize("name, broken, says", SHOWN_IN_WIDGET, ids=[case[0] for case in SHOWN_IN_WIDGET])
def test_image_explainer_shows_computation_failures_as_text(name, broken, says) -> None:
    widget = igw.ImageExplainer(broken(_image_cnn()), torch.full((1, 8, 8), 0.5), labels=LABELS, steps=8)
    widget.wait()
    assert widget.status == "error" and widget.error.startswith(says), widget.error
    widget.baseline = "blur"  # the widget stays usable: the next request runs
    widget.wait()
    assert widget.status in ("done", "error")


# --- text_integrated_gradients -------------------------------------------------------------------


class TokenBag(nn.Module):
    """Mean of token embeddings, then a linear head: a text classifier with MiniLM's vocabulary size."""

    def __init__(self, vocabulary: int = 30522):
        super().__init__()
        torch.manual_seed(0)
        self.embed, self.head = nn.Embedding(vocabulary, 8), nn.Linear(8, 3)
        # shared with the explainers' twin of the module
        self.counts = {"forwards": 0, "path_forwards": 0, "backwards": 0}

    @property
    def forwards(self) -> int:
        return self.counts["forwards"]

    @property
    def path_forwards(self) -> int:
        return self.counts["path_forwards"]

    def forward(self, input_ids, attention_mask=None):
        self.counts["forwards"] += 1
        self.counts["path_forwards"] += int(torch.is_grad_enabled())
        return self.head(self.embed(input_ids).mean(dim=1))


@pytest.fixture(scope="module")
def tokenizer():
    transformers = pytest.importorskip("transformers")
    from ig_widget.text_examples import minilm_path

    return transformers.AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)


IDS = torch.tensor([[101, 2204, 3185, 102]])


def _tig(inputs: Any = IDS, *, with_tokenizer: bool = False, **kwargs) -> Callable:
    options = {"target": 0, "baseline": 0, "steps": 4, **kwargs}
    return lambda model, tokenizer: igw.text_integrated_gradients(
        model, inputs, tokenizer=tokenizer if with_tokenizer else None, **options
    )


TEXT_CASES = [
    Case(
        "text: strings without a tokenizer",
        TokenBag,
        _tig("a fine film"),
        igw.AttributionInputError,
        ("inputs are strings", "pass tokenizer="),
    ),
    Case(
        "text: empty text",
        TokenBag,
        _tig("", with_tokenizer=True),
        igw.AttributionInputError,
        ("inputs[0] is an empty text ('')", "at least one word"),
    ),
    Case(
        "text: blank text in a list",
        TokenBag,
        _tig(["a fine film", "   "], with_tokenizer=True),
        igw.AttributionInputError,
        ("inputs[1] is an empty text ('   ')", "at least one word"),
    ),
    Case(
        "text: empty list",
        TokenBag,
        _tig([], with_tokenizer=True),
        igw.AttributionInputError,
        ("inputs is a list", "a list of strings (with tokenizer=)"),
    ),
    Case(
        "text: float tensor (an image) to the text method",
        TokenBag,
        _tig(torch.rand(1, 3, 8, 8)),
        igw.AttributionInputError,
        ("input_ids has dtype torch.float32", "token ids must be integers"),
    ),
    Case(
        "text: ids without a batch dimension",
        TokenBag,
        _tig(IDS[0]),
        igw.AttributionInputError,
        ("input_ids has shape (4,)", "[batch, length]", "ids.unsqueeze(0)"),
    ),
    Case(
        "text: ids outside the vocabulary",
        TokenBag,
        _tig(torch.tensor([[101, 40000, 102]])),
        igw.AttributionInputError,
        ("token ids from 101 to 40000", "ids 0 to 30521"),
    ),
    Case(
        "text: mapping without input_ids",
        TokenBag,
        _tig({"ids": IDS}),
        igw.AttributionInputError,
        ("inputs is a mapping with keys ['ids']", "needs 'input_ids'"),
    ),
    Case(
        "text: target is a label",
        TokenBag,
        _tig(target="positive"),
        igw.AttributionInputError,
        ("target='positive' is a label", "class indices"),
    ),
    Case(
        "text: target out of range",
        TokenBag,
        _tig(target=3),
        igw.AttributionInputError,
        ("target=3 is out of range", "3 outputs (0 to 2)"),
        forwards=1,
        path_forwards=1,
    ),
    Case("text: steps = 0", TokenBag, _tig(steps=0), igw.AttributionInputError, ("steps=0", "steps >= 1")),
    Case(
        "text: image baseline name",
        TokenBag,
        _tig(baseline="blur"),
        igw.AttributionInputError,
        ("baseline='blur'", "unknown for text"),
    ),
    Case(
        "text: pad baseline with no pad token known",
        TokenBag,
        _tig(baseline="pad"),
        igw.AttributionInputError,
        ("baseline='pad' needs a pad token", "pass tokenizer="),
    ),
    Case(
        "text: baseline token outside the vocabulary",
        TokenBag,
        _tig(baseline=10**6),
        igw.AttributionInputError,
        ("baseline has token ids", "30521"),
    ),
    Case(
        "text: unknown token_reduce",
        TokenBag,
        _tig(token_reduce="max"),
        igw.AttributionInputError,
        ("token_reduce='max'", "sum, l2"),
    ),
    Case(
        "text: embedding that is not a submodule",
        TokenBag,
        _tig(embedding="encoder.embed"),
        igw.AttributionInputError,
        ("embedding='encoder.embed'", "not a submodule"),
    ),
    Case(
        "text: model without an embedding",
        lambda: nn.Linear(4, 2),
        _tig(),
        igw.AttributionInputError,
        ("no nn.Embedding", "pass embedding="),
    ),
]


@pytest.mark.parametrize("case", TEXT_CASES, ids=[c.name for c in TEXT_CASES])
def test_text_integrated_gradients_rejects_bad_input_clearly(case: Case, tokenizer) -> None:
    _check_text(case, tokenizer)


def _check_text(case: Case, tokenizer) -> None:
    model = case.model()
    with pytest.raises(case.error) as caught:
        case.call(model, tokenizer)
    for phrase in case.says:
        assert phrase in str(caught.value), f"{case.name}: {phrase!r} not in {str(caught.value)!r}"
    assert getattr(model, "forwards", 0) <= case.forwards
    assert getattr(model, "path_forwards", 0) <= case.path_forwards


def test_text_longer_than_the_model_maximum_is_cut_with_a_warning(tokenizer) -> None:
    model = TokenBag()
    with pytest.warns(UserWarning, match=r"inputs has a text of 602 tokens, more than the tokenizer's maximum of 512"):
        result = igw.text_integrated_gradients(model, "word " * 600, tokenizer=tokenizer, target=0, baseline=0, steps=4)
    assert result.token_scores.shape == (1, 512) and result.input_ids[0, -1] == tokenizer.sep_token_id


# --- TextExplainer ---------------------------------------------------------------------------------

SENTIMENT = ["negative", "neutral", "positive"]


class WrappedBag(TokenBag):
    """A TokenBag whose output is reshaped by `wrap`: tuples, one score per row..."""

    def __init__(self, wrap: Callable):
        super().__init__()
        self.wrap = wrap

    def forward(self, input_ids, attention_mask=None):
        return self.wrap(super().forward(input_ids, attention_mask))


class SmallVocabulary(TokenBag):
    def __init__(self):
        super().__init__(vocabulary=100)


def _text_explainer(text: Any = "a fine film", *, with_tokenizer: bool = True, **kwargs) -> Callable:
    return lambda model, tokenizer: igw.TextExplainer(model, tokenizer if with_tokenizer else None, text, **kwargs)


def _text_setting(name: str, value: Any) -> Callable:
    def call(model, tokenizer):
        widget = igw.TextExplainer(model, tokenizer, "a fine film", labels=SENTIMENT, steps=4)
        widget.wait()
        model.counts.update(forwards=0, path_forwards=0, backwards=0)
        setattr(widget, name, value)

    return call


TEXT_WIDGET_CASES = [
    Case(
        "text widget: model not callable",
        TokenBag,
        lambda m, t: igw.TextExplainer("bert", t, "a fine film"),
        igw.AttributionInputError,
        ("model must be an nn.Module or a callable", "got str"),
    ),
    Case(
        "text widget: empty text",
        TokenBag,
        _text_explainer("   "),
        igw.AttributionInputError,
        ("text must be a non-empty string", "'   '"),
    ),
    Case(
        "text widget: token ids instead of text",
        TokenBag,
        _text_explainer(IDS),
        igw.AttributionInputError,
        ("text must be a non-empty string", "tensor("),
    ),
    Case(
        "text widget: no tokenizer",
        TokenBag,
        _text_explainer(with_tokenizer=False),
        igw.AttributionInputError,
        ("a tokenizer is needed", "pass tokenizer="),
    ),
    Case(
        "text widget: unknown output",
        TokenBag,
        _text_explainer(output="probs"),
        igw.AttributionInputError,
        ("output='probs'", "logit, probability, log_probability"),
    ),
    Case(
        "text widget: model without an embedding",
        lambda: nn.Linear(4, 2),
        _text_explainer(),
        igw.AttributionInputError,
        ("no nn.Embedding", "pass embedding="),
    ),
    Case(
        "text widget: embedding that is not a submodule",
        TokenBag,
        _text_explainer(embedding="bert.embeddings"),
        igw.AttributionInputError,
        ("embedding='bert.embeddings'", "is not a submodule of the model"),
    ),
    Case(
        "text widget: tokenizer of another model",
        SmallVocabulary,
        _text_explainer(),
        igw.AttributionInputError,
        ("text has token ids from 101 to", "ids 0 to 99", "tokenizer belong to this model"),
    ),
    Case(
        "text widget: model returns a tuple",
        lambda: WrappedBag(lambda out: (out,)),
        _text_explainer(),
        igw.AttributionInputError,
        ("the model returned a tuple without scores", "class scores [1, classes]"),
        forwards=1,
    ),
    Case(
        "text widget: model returns one score",
        lambda: WrappedBag(lambda out: out[:, 0]),
        _text_explainer(),
        igw.AttributionInputError,
        ("scores of shape (1,)", "class scores [1, classes]"),
        forwards=1,
    ),
    Case(
        "text widget: labels count differs from outputs",
        TokenBag,
        _text_explainer(labels=["bad", "good"]),
        igw.AttributionInputError,
        ("labels has 2 names but the model gives 3 class scores", "one per class"),
        forwards=1,
    ),
    Case(
        "text widget: target not among the labels",
        TokenBag,
        _text_explainer(labels=SENTIMENT, target="sarcastic"),
        igw.AttributionInputError,
        ("target='sarcastic' is not one of the labels (negative, neutral, positive)", "a label or an index"),
        forwards=1,
    ),
    Case(
        "text widget: target index out of range",
        TokenBag,
        _text_explainer(labels=SENTIMENT, target=3),
        traitlets.TraitError,
        ("target=3 is not a class index", "0..2"),
        forwards=1,
    ),
    Case(
        "text widget: image baseline",
        TokenBag,
        _text_explainer(baseline="blur"),
        traitlets.TraitError,
        ("baseline='blur' is unknown", "pad, mask, unk, zero"),
        forwards=1,
    ),
    Case(
        "text widget: steps = 0",
        TokenBag,
        _text_explainer(steps=0),
        traitlets.TraitError,
        ("steps=0 is out of range", "1..1024"),
        forwards=1,
    ),
    Case(
        "text widget: set steps huge",
        TokenBag,
        _text_setting("steps", 10**6),
        traitlets.TraitError,
        ("steps=1000000 is out of range", "1..1024"),
    ),
    Case(
        "text widget: set target out of range",
        TokenBag,
        _text_setting("target", 7),
        traitlets.TraitError,
        ("target=7 is not a class index", "0..2"),
    ),
]


@pytest.mark.parametrize("case", TEXT_WIDGET_CASES, ids=[c.name for c in TEXT_WIDGET_CASES])
def test_text_explainer_rejects_bad_input_clearly(case: Case, tokenizer) -> None:
    _check_text(case, tokenizer)


def test_text_explainer_cuts_an_over_long_text_with_a_warning(tokenizer) -> None:
    with pytest.warns(UserWarning, match="cut to its first 512 tokens"):
        widget = igw.TextExplainer(TokenBag(), tokenizer, "word " * 600, labels=SENTIMENT, steps=4)
        widget.wait()
    assert widget.status == "done", widget.error
