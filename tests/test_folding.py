"""BatchNorm folded into the convolution before it (attribution/folding.py): same numbers, fewer passes,
the user's model untouched, and every change the user makes to it seen."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

import ig_widget as igw

NORM_OPS = {
    torch.ops.aten.native_batch_norm.default,
    torch.ops.aten._native_batch_norm_legit_no_training.default,
    torch.ops.aten._native_batch_norm_legit.default,
    torch.ops.aten.native_batch_norm_backward.default,
}


class NormCounter(TorchDispatchMode):
    """Counts the BatchNorm operators dispatched (forward and backward)."""

    def __init__(self):
        super().__init__()
        self.norms = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in NORM_OPS or "batch_norm" in func.name():
            self.norms += 1
        return func(*args, **(kwargs or {}))


def _randomise_statistics(model: nn.Module, seed: int = 0) -> nn.Module:
    """Running statistics and affine parameters far from the identity, so a wrong fold shows."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                module.running_mean.copy_(torch.randn(module.num_features, generator=generator))
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) * 3 + 0.2)
                if module.affine:
                    module.weight.copy_(torch.randn(module.num_features, generator=generator))
                    module.bias.copy_(torch.randn(module.num_features, generator=generator))
    return model


class Block(nn.Module):
    """Conv -> BN -> ReLU with a residual, a grouped conv without bias, and a BN without affine."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, padding=1, groups=4, bias=False), nn.BatchNorm2d(8)
        self.conv3, self.bn3 = nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8, affine=False)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = y + torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.head(y.mean(dim=(2, 3)))


class Shared(nn.Module):
    """A conv whose output goes both to its BN and around it: not foldable, must stay exact."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.head = nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.Linear(6, 3)

    def forward(self, x):
        y = self.conv(x)
        return self.head((self.bn(y) + y).mean(dim=(2, 3)))


class Branching(nn.Module):
    """Control flow on the values after the BatchNorm (which a tracer could not follow): the user's code
    runs as written, so the pair still folds."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.head = nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.Linear(6, 3)

    def forward(self, x):
        y = self.bn(self.conv(x))
        if bool(y.sum() > -1e9):
            y = torch.relu(y)
        return self.head(y.mean(dim=(2, 3)))


class TwoNorms(nn.Module):
    """One conv output read by two BatchNorms: folding it into either would be wrong."""

    def __init__(self):
        super().__init__()
        self.conv, self.head = nn.Conv2d(3, 6, 3, padding=1), nn.Linear(6, 3)
        self.bn_a, self.bn_b = nn.BatchNorm2d(6), nn.BatchNorm2d(6)

    def forward(self, x):
        y = self.conv(x)
        return self.head((self.bn_a(y) * self.bn_b(y)).mean(dim=(2, 3)))


class ShiftedNorm(nn.BatchNorm2d):
    def forward(self, x):
        return super().forward(x) * 2 + 1


class StandardisedConv(nn.Conv2d):
    def forward(self, x):
        weight = (self.weight - self.weight.mean(dim=(1, 2, 3), keepdim=True)) / self.weight.std()
        return self._conv_forward(x, weight, self.bias)


class Subclasses(nn.Module):
    """Subclasses compute otherwise than their base: neither pair may fold as if it were plain."""

    def __init__(self):
        super().__init__()
        self.conv_a, self.bn_a = nn.Conv2d(3, 6, 3, padding=1), ShiftedNorm(6)
        self.conv_b, self.bn_b = StandardisedConv(6, 6, 3, padding=1), nn.BatchNorm2d(6)
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        y = torch.relu(self.bn_a(self.conv_a(x)))
        return self.head(self.bn_b(self.conv_b(y)).mean(dim=(2, 3)))


class Sequence1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Conv1d(2, 5, 3, padding=1), nn.BatchNorm1d(5), nn.Tanh())
        self.head = nn.Linear(5 * 12, 3)

    def forward(self, x):
        return self.head(self.layers(x).flatten(1))


class TiedDecoder(nn.Module):
    """A decoder that reads the convolution's weight itself: a fold would hand it the folded weight."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.head = nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.Linear(3 * 8 * 8, 3)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        return self.head(nn.functional.conv_transpose2d(y, self.conv.weight, padding=1).flatten(1))


class WeightNormed(nn.Module):
    """A forward that reads the convolution's bias through `.data` (another tensor object, the same
    memory): the fold would change what it reads."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.head = nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.Linear(6, 3)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x))) + self.conv.bias.data.view(1, -1, 1, 1)
        return self.head(y.mean(dim=(2, 3)))


def _unfolded(model: nn.Module):
    """The same function behind a wrapper that is not a module: the engine does not fold it."""
    return lambda x: model(x)


def _ig(model, x, **kwargs):
    return igw.integrated_gradients(model, x, target=1, steps=16, **kwargs)


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (Block, (2, 3, 10, 10)),
        (Shared, (1, 3, 8, 8)),
        (Branching, (1, 3, 8, 8)),
        (TwoNorms, (1, 3, 8, 8)),
        (Subclasses, (1, 3, 8, 8)),
        (Sequence1d, (2, 2, 12)),
        (TiedDecoder, (1, 3, 8, 8)),
        (WeightNormed, (1, 3, 8, 8)),
    ],
)
def test_folded_attributions_equal_the_unfolded_models(make, shape):
    torch.manual_seed(0)
    model = _randomise_statistics(make().eval())
    x = torch.randn(*shape)
    folded, plain = _ig(model, x), _ig(_unfolded(model), x)
    scale = plain.attributions.abs().max()
    assert torch.allclose(folded.attributions, plain.attributions, rtol=1e-4, atol=1e-5 * scale)
    assert torch.allclose(folded.model_output, plain.model_output, rtol=1e-4, atol=1e-5)
    assert torch.allclose(folded.score, plain.score, rtol=1e-4, atol=1e-5)
    assert folded.relative_gap.abs().max() < 0.05  # 16 steps: completeness holds on the folded model too


def test_foldable_pairs_run_no_batch_norm_and_the_others_still_do():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 8, 8)
    counts = {}
    models = {
        "block": Block(),
        "shared": Shared(),
        "branching": Branching(),
        "two norms": TwoNorms(),
        "subclasses": Subclasses(),
        "tied decoder": TiedDecoder(),
        "weight read through data": WeightNormed(),
    }
    for name, model in models.items():
        model = _randomise_statistics(model.eval())
        _ig(model, x)  # the graph is traced at the first call
        with NormCounter() as counter:
            _ig(model, x)
        counts[name] = counter.norms
    assert counts["block"] == 0 and counts["branching"] == 0  # every pair folded
    left = ("shared", "two norms", "subclasses", "tied decoder", "weight read through data")
    assert all(counts[name] > 0 for name in left), counts  # left as they are


def test_a_plan_whose_fold_changes_the_output_is_dropped(monkeypatch):
    """The safety net behind the dataflow: a plan that claims a pair which may not fold (here the
    conv output that also goes around its BatchNorm) is caught by the first call's comparison of the
    folded twin with the unfolded run, and nothing folds."""
    from ig_widget.attribution import folding

    monkeypatch.setattr(folding._Dataflow, "pairs", lambda self: [("conv", "bn")])
    torch.manual_seed(0)
    model = _randomise_statistics(Shared().eval())
    x = torch.randn(1, 3, 8, 8)
    first = _ig(model, x)
    with NormCounter() as counter:
        second = _ig(model, x)
    plain = _ig(_unfolded(model), x)
    assert counter.norms > 0  # the BatchNorm still runs: the plan was dropped
    for result in (first, second):
        assert torch.allclose(result.score, plain.score, rtol=1e-5, atol=1e-6)
        assert torch.allclose(
            result.attributions, plain.attributions, rtol=1e-4, atol=1e-5 * plain.attributions.abs().max()
        )


def test_the_users_model_is_untouched_and_a_training_model_is_explained_in_eval_mode():
    torch.manual_seed(0)
    model = _randomise_statistics(Block())  # training mode: BN would update its statistics
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    tensors = {name: tensor for name, tensor in model.state_dict(keep_vars=True).items()}
    x = torch.randn(2, 3, 10, 10)
    folded = _ig(model, x)
    assert model.training and all(module.training for module in model.modules())
    for name, tensor in model.state_dict(keep_vars=True).items():
        assert tensor is tensors[name] and torch.equal(tensor, before[name]), name
        assert tensor.grad is None
    assert not any(module._forward_hooks or module._forward_pre_hooks for module in model.modules())
    reference = Block()
    reference.load_state_dict(before)
    plain = _ig(_unfolded(reference.eval()), x)
    assert torch.allclose(
        folded.attributions, plain.attributions, rtol=1e-4, atol=1e-5 * plain.attributions.abs().max()
    )


def test_weights_changed_between_calls_are_seen_even_through_data():
    torch.manual_seed(0)
    model = _randomise_statistics(Block().eval())
    x = torch.randn(1, 3, 10, 10)
    first = _ig(model, x)
    model.conv1.weight.data.mul_(-2.0)  # no version counter sees this
    model.bn2.running_var.data.add_(5.0)
    with torch.no_grad():
        model.bn1.weight.neg_()
    second, plain = _ig(model, x), _ig(_unfolded(model), x)
    assert not torch.allclose(first.attributions, second.attributions)
    assert torch.allclose(
        second.attributions, plain.attributions, rtol=1e-4, atol=1e-5 * plain.attributions.abs().max()
    )


def test_a_module_swapped_after_a_call_is_traced_again():
    torch.manual_seed(0)
    model = _randomise_statistics(Block().eval())
    x = torch.randn(1, 3, 10, 10)
    _ig(model, x)
    model.bn1 = nn.Identity()  # a new structure: the kept graph no longer describes the model
    folded, plain = _ig(model, x), _ig(_unfolded(model), x)
    assert torch.allclose(
        folded.attributions, plain.attributions, rtol=1e-4, atol=1e-5 * plain.attributions.abs().max()
    )
