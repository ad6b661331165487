"""Nothing of the user's is changed: after any call, successful or failing, the model's weights,
buffers, modes, flags, gradients and hooks and the user's input tensors are exactly as before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

import ig_widget as igw
from ig_widget.attribution.text import text_integrated_gradients

HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_backward_pre_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_pre_hooks_with_kwargs",
    "_state_dict_hooks",
)


class Tripwire(nn.Module):
    """Identity that raises on its `trip_at`-th forward pass that builds a graph (a path point)."""

    def __init__(self):
        super().__init__()
        self.trip_at: int | None = None
        self.graph_calls = 0

    def forward(self, x):
        if torch.is_grad_enabled() and x.requires_grad:
            self.graph_calls += 1
            if self.graph_calls == self.trip_at:
                raise RuntimeError("model failed mid-path")
        return x


class UserImageNet(nn.Module):
    """A CNN in the state a user leaves one: in training mode, one submodule in eval, a frozen
    layer, stale .grad fields and a hook of the user's own."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.trip = Tripwire()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.norm = nn.BatchNorm2d(3)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(3 * 6 * 6, 4)

    def forward(self, x):
        return self.head(self.drop(torch.tanh(self.norm(self.conv(self.trip(x))))).flatten(1))


def _user_image_net() -> UserImageNet:
    net = UserImageNet().train()
    net.norm.running_mean.normal_()  # statistics that any update would move
    net.norm.running_var.uniform_(0.5, 2.0)
    net.drop.eval()
    net.conv.bias.requires_grad_(False)
    net(torch.rand(3, 1, 6, 6)).sum().backward()  # stale .grad fields, as after a training step
    net.user_hook_calls = 0

    def count(module, args, output):
        net.user_hook_calls += 1

    net.head.register_forward_hook(count)
    return net


def _snapshot(model: nn.Module) -> dict[str, Any]:
    return {
        "tensors": {name: value.clone() for name, value in model.state_dict(keep_vars=True).items()},
        "objects": {name: id(p) for name, p in model.named_parameters()},
        "training": {name: m.training for name, m in model.named_modules()},
        "requires_grad": {name: p.requires_grad for name, p in model.named_parameters()},
        "grads": {name: None if p.grad is None else p.grad.clone() for name, p in model.named_parameters()},
        "hooks": {(name, kind): dict(getattr(m, kind, {})) for name, m in model.named_modules() for kind in HOOK_DICTS},
        "tensor_hooks": {name: dict(p._backward_hooks or {}) for name, p in model.named_parameters()},
        "global_hooks": _global_hooks(),
        "grad_mode": torch.is_grad_enabled(),
    }


def _global_hooks() -> dict[str, dict]:
    module = nn.modules.module
    names = (
        "_global_forward_hooks",
        "_global_forward_pre_hooks",
        "_global_backward_hooks",
        "_global_backward_pre_hooks",
    )
    return {name: dict(getattr(module, name)) for name in names if hasattr(module, name)}


def _assert_same(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert before["tensors"].keys() == after["tensors"].keys()
    for name, value in before["tensors"].items():
        assert torch.equal(value, after["tensors"][name]), f"{name} changed"
    for key in ("objects", "training", "requires_grad", "hooks", "tensor_hooks", "global_hooks", "grad_mode"):
        assert before[key] == after[key], f"{key} changed"
    for name, grad in before["grads"].items():
        now = after["grads"][name]
        assert (grad is None) == (now is None), f"{name}.grad appeared or vanished"
        assert grad is None or torch.equal(grad, now), f"{name}.grad changed"


class UserInput:
    """The user's tensors; checks they were neither written to nor had requires_grad flipped."""

    def __init__(self, *tensors: torch.Tensor):
        self.tensors = tensors
        self.copies = [t.detach().clone() for t in tensors]
        self.versions = [t._version for t in tensors]
        self.requires = [t.requires_grad for t in tensors]
        self.grads = [t.grad for t in tensors]

    def assert_untouched(self) -> None:
        for tensor, copy, version, requires, grad in zip(
            self.tensors, self.copies, self.versions, self.requires, self.grads
        ):
            assert torch.equal(tensor.detach(), copy)
            assert tensor._version == version, "written in place"
            assert tensor.requires_grad == requires
            assert tensor.grad is grad, "a gradient was accumulated into the user's input"


def _images() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(2, 1, 6, 6, generator=torch.Generator().manual_seed(3)).requires_grad_(True)
    data = torch.rand(5, 1, 6, 6, generator=torch.Generator().manual_seed(4))
    return x, data


# name -> call(model, x, data, progress); progress is None where the method takes none.
IMAGE_METHODS: dict[str, Callable] = {
    "integrated_gradients": lambda m, x, d, p: igw.integrated_gradients(m, x, steps=8, batch_size=4, progress=p),
    "interior_gradients": lambda m, x, d, p: igw.interior_gradients(m, x, batch_size=4),
    "saliency": lambda m, x, d, p: igw.saliency(m, x),
    "gradient_x_input": lambda m, x, d, p: igw.gradient_x_input(m, x),
    "smoothgrad": lambda m, x, d, p: igw.smoothgrad(m, x, samples=4, batch_size=4),
    "smoothgrad_ig": lambda m, x, d, p: igw.smoothgrad(
        m, x, samples=2, method="integrated_gradients", steps=4, batch_size=4
    ),
    "expected_gradients": lambda m, x, d, p: igw.expected_gradients(m, x, data=d, samples=6, batch_size=4, progress=p),
}
# The graph-building forward that raises: the second where the path has several chunks.
TRIP_AT = {"saliency": 1, "gradient_x_input": 1}
WITH_PROGRESS = ("integrated_gradients", "expected_gradients")


def _run_and_check(method: str, trip_at: int | None, progress: Callable | None, expect: type[BaseException] | None):
    model = _user_image_net()
    model.trip.trip_at = trip_at
    x, data = _images()
    before, inputs = _snapshot(model), UserInput(x, data)
    if expect is None:
        IMAGE_METHODS[method](model, x, data, progress)
    else:
        with pytest.raises(expect):
            IMAGE_METHODS[method](model, x, data, progress)
    _assert_same(before, _snapshot(model))
    inputs.assert_untouched()
    _assert_hook_kept_and_silent(model, x[:1])


def _assert_hook_kept_and_silent(model: nn.Module, x: torch.Tensor) -> None:
    """The user's hook never fired from our passes (it would from a background thread) and still
    fires on the user's own call."""
    assert model.user_hook_calls == 0, "the user's hook ran inside the attribution's passes"
    with torch.no_grad():
        model.eval()(x)
    assert model.user_hook_calls == 1, "the user's own hook was not left in place"


@pytest.mark.parametrize("method", IMAGE_METHODS)
def test_successful_call_leaves_model_and_inputs_untouched(method: str) -> None:
    _run_and_check(method, None, None, None)


@pytest.mark.parametrize("method", IMAGE_METHODS)
def test_exception_inside_the_model_mid_path_leaves_everything_untouched(method: str) -> None:
    _run_and_check(method, TRIP_AT.get(method, 2), None, RuntimeError)


@pytest.mark.parametrize("method", WITH_PROGRESS)
def test_keyboard_interrupt_from_progress_leaves_everything_untouched(method: str) -> None:
    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    _run_and_check(method, None, interrupt, KeyboardInterrupt)


def test_bad_target_after_the_probe_leaves_everything_untouched() -> None:
    model = _user_image_net()
    x, data = _images()
    before, inputs = _snapshot(model), UserInput(x, data)
    with pytest.raises(igw.AttributionInputError):
        igw.integrated_gradients(model, x, target=9)
    _assert_same(before, _snapshot(model))
    inputs.assert_untouched()


def test_modules_behind_a_lambda_run_in_eval_mode_and_keep_their_statistics() -> None:
    model = _user_image_net()
    before = _snapshot(model)
    x, _ = _images()
    igw.integrated_gradients(lambda t: model(t), x, steps=4)
    _assert_same(before, _snapshot(model))


class UserTextNet(nn.Module):
    """A token classifier with a BatchNorm over the pooled embedding, left in training mode."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(12, 8, padding_idx=0)
        self.trip = Tripwire()
        self.norm = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 3)

    def forward(self, input_ids):
        return self.head(self.norm(self.trip(self.embed(input_ids)).mean(dim=1)))


def _user_text_net() -> UserTextNet:
    net = UserTextNet().train()
    net.norm.running_mean.normal_()
    net(torch.randint(1, 12, (4, 5))).sum().backward()
    net.head.weight.requires_grad_(False)
    net.user_hook_calls = 0

    def count(module, args, output):
        net.user_hook_calls += 1

    net.embed.register_forward_hook(count)
    return net


@pytest.mark.parametrize("failure", [None, "model", "progress"])
def test_text_integrated_gradients_leaves_model_and_ids_untouched(failure: str | None) -> None:
    model = _user_text_net()
    ids = torch.randint(1, 12, (2, 5), generator=torch.Generator().manual_seed(5))
    before, inputs = _snapshot(model), UserInput(ids)
    # a chunk in the middle of the walk (the first carries x and x' too; a failure there retries the plain way)
    model.trip.trip_at = 3 if failure == "model" else None

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    call = lambda: text_integrated_gradients(  # noqa: E731
        model, ids, baseline=0, steps=8, batch_size=4, progress=interrupt if failure == "progress" else None
    )
    if failure is None:
        call()
    else:
        with pytest.raises(RuntimeError if failure == "model" else KeyboardInterrupt):
            call()
    _assert_same(before, _snapshot(model))
    inputs.assert_untouched()
    _assert_hook_kept_and_silent(model, ids[:1])


class WritesIntoItsInput(nn.Module):
    """Normalises its input in place, as some user code does: x.sub_(0.5).mul_(2)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv, self.head = nn.Conv2d(1, 3, 3, padding=1), nn.Linear(3, 2)

    def forward(self, x):
        x.sub_(0.5).mul_(2)
        return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))


WRITING_CALLS: dict[str, Callable] = {
    **IMAGE_METHODS,
    "adaptive steps (a gradient-free probe first)": lambda m, x, d, p: igw.integrated_gradients(
        m, x, target=1, steps="auto", baseline=d[:2]
    ),
    "a baseline tensor": lambda m, x, d, p: igw.integrated_gradients(m, x, target=1, steps=4, baseline=d[:2]),
    "blur_integrated_gradients": lambda m, x, d, p: igw.blur_integrated_gradients(m, x, target=1, steps=4),
    "guided_integrated_gradients": lambda m, x, d, p: igw.guided_integrated_gradients(m, x, target=1, steps=4),
}


@pytest.mark.parametrize("method", WRITING_CALLS)
def test_a_model_that_writes_into_its_input_never_writes_into_the_users(method: str) -> None:
    """The model is handed copies where autograd does not guard the points, and autograd's refusal of a
    write into a point is reported as what it is, naming the model and what to write instead."""
    model = WritesIntoItsInput().eval()
    x, data = _images()
    inputs = UserInput(x, data)
    with pytest.raises(igw.AttributionInputError, match="model changes its input in place"):
        WRITING_CALLS[method](model, x, data, None)
    inputs.assert_untouched()


def test_gradient_free_checks_run_on_a_model_that_writes_into_its_input() -> None:
    """Deletion and insertion curves need no gradients: the copies take the writes and the curves are
    the model's own scores."""
    model = WritesIntoItsInput().eval()
    x = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(5))
    inputs = UserInput(x)
    curves = igw.deletion_insertion(model, x, torch.rand(1, 1, 6, 6), target=1, steps=4, output="logit")
    inputs.assert_untouched()
    with torch.no_grad():
        expected = model(x.clone())[0, 1]
    assert curves.fractions[0] == 0 and abs(float(curves.deletion[0, 0]) - float(expected)) < 1e-6
