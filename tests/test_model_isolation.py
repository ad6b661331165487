"""The user's model is never changed, not even for a moment, while explainers compute in threads.

Real threads throughout: a watcher polls the model's state while the work runs, user code trains the
same model meanwhile, and overlapping calls must agree with serial ones.
"""

from __future__ import annotations

import threading
import types
import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

import ig_widget as igw


class BatchNormNet(nn.Module):
    """A small CNN with the layers whose training mode shows: BatchNorm statistics and dropout."""

    def __init__(self, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(4 * 8 * 8, 5)

    def forward(self, x):
        return self.head(self.drop(torch.relu(self.norm(self.conv(x)))).flatten(1))


def _trained_state_net(seed: int = 0) -> BatchNormNet:
    net = BatchNormNet(seed).train()
    net.norm.running_mean.normal_()
    net.norm.running_var.uniform_(0.5, 2.0)
    return net


def _state(model: nn.Module) -> tuple:
    """Everything of the model's that an explainer could change, cheap enough to poll in a loop."""
    return (
        tuple(m.training for m in model.modules()),
        tuple(p.requires_grad for p in model.parameters()),
        tuple(p.grad is None for p in model.parameters()),
        tuple(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules()),
        tuple(float(b.float().sum()) for b in model.buffers()),
    )


class Watcher:
    """Polls the models' state in a thread; `changes` lists every moment it differed from the start."""

    def __init__(self, *models: nn.Module):
        self.models, self.start = models, [_state(m) for m in models]
        self.changes: list[str] = []
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            for index, (model, start) in enumerate(zip(self.models, self.start)):
                if _state(model) != start:
                    self.changes.append(f"model {index} changed at poll {self.polls}")
            self.polls += 1

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _image(seed: int = 1) -> torch.Tensor:
    return torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_two_image_explainers_never_change_the_model_at_any_moment() -> None:
    net = _trained_state_net()
    with Watcher(net) as watcher:
        first = igw.ImageExplainer(net, _image(), steps=16, top_k=3)
        second = igw.ImageExplainer(net, _image(2), steps=16, top_k=3)
        first.wait()
        second.wait()
    assert watcher.polls > 10, "the watcher did not get to look while the explainers computed"
    assert watcher.changes == []
    assert net.training and net.norm.training and all(p.requires_grad for p in net.parameters())
    assert first.explanation is not None and second.explanation is not None


def test_training_in_another_thread_while_an_explainer_computes() -> None:
    """The user's training step works and trains (dropout on, gradients flow) while the widget computes."""
    net = _trained_state_net()
    optimiser = torch.optim.SGD(net.parameters(), lr=0.01)
    data = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    labels = torch.arange(16) % 5
    explainer = igw.ImageExplainer(net, _image(), steps=64, top_k=5)
    losses, outputs = [], []
    for _ in range(5):
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(net(data), labels)
        loss.backward()  # "element 0 of tensors does not require grad" if the explainer froze the weights
        optimiser.step()
        losses.append(float(loss.detach()))
        assert net.training, "the model was switched out of training mode under the user's training loop"
    with torch.no_grad():  # dropout active: two passes in training mode differ
        outputs = [net(data) for _ in range(2)]
    explainer.wait()
    assert not torch.equal(outputs[0], outputs[1])
    assert all(p.grad is not None for p in net.parameters())


def test_overlapping_calls_on_one_model_equal_serial_calls() -> None:
    net = _trained_state_net()
    inputs = [torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) for seed in range(6)]
    serial = [igw.integrated_gradients(net, x, target=1, steps=24).attributions for x in inputs]
    start_state = _state(net)
    results: dict[int, torch.Tensor] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            results[index] = igw.integrated_gradients(net, inputs[index], target=1, steps=24).attributions
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    with Watcher(net) as watcher:
        for thread in threads:
            thread.start()
        work(0)  # and the main thread at the same time
        for thread in threads:
            thread.join()
    assert errors == []
    for index, expected in enumerate(serial):
        torch.testing.assert_close(results[index], expected, rtol=1e-5, atol=1e-6)
    assert watcher.changes == [] and _state(net) == start_state


NETS = [_trained_state_net(0), _trained_state_net(1)]


def _ensemble_global(t):
    return NETS[0](t) + NETS[1](t)


class Holder:
    def __init__(self, nets):
        self.nets = nets

    def __call__(self, t):
        return self.nets["a"](t) - self.nets["b"](t)


def _wrappers(nets):
    closure_list = list(nets)
    return {
        "global list": _ensemble_global,
        "closure list": lambda t: closure_list[0](t) + closure_list[1](t),
        "dict in a callable object": Holder({"a": nets[0], "b": nets[1]}),
        "plain object": (lambda box: lambda t: box.first(t) * box.second(t))(
            types.SimpleNamespace(first=nets[0], second=nets[1])
        ),
    }


@pytest.mark.parametrize("kind", list(_wrappers(NETS)))
def test_modules_behind_wrappers_run_in_eval_mode_and_keep_their_state(kind: str) -> None:
    model = _wrappers(NETS)[kind]
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(7))
    before = [_state(net) for net in NETS]
    first = igw.integrated_gradients(model, x, target=0, steps=8)
    second = igw.integrated_gradients(model, x, target=0, steps=8)
    assert [_state(net) for net in NETS] == before
    torch.testing.assert_close(first.attributions, second.attributions, rtol=0, atol=0)
    # the same numbers as the wrapper around eval-mode copies: dropout off, running statistics used
    copies = [_trained_state_net(0).eval(), _trained_state_net(1).eval()]
    for copy, net in zip(copies, NETS):
        copy.load_state_dict(net.state_dict())
    reference = igw.integrated_gradients(_wrappers(copies)[kind], x, target=0, steps=8)
    torch.testing.assert_close(first.attributions, reference.attributions)


def test_an_unseen_module_in_training_mode_is_refused_before_it_runs() -> None:
    net = _trained_state_net()
    zoo = types.ModuleType("zoo")  # a Python module object: not followed
    zoo.net = net
    before = _state(net)
    with pytest.raises(igw.AttributionInputError, match="BatchNormNet.*training mode"):
        igw.integrated_gradients(lambda t: zoo.net(t), torch.rand(1, 1, 8, 8), steps=4)
    assert _state(net) == before


def test_an_unseen_module_with_hooks_is_named_in_a_warning() -> None:
    net = _trained_state_net().eval()
    net.head.register_forward_hook(lambda module, args, output: None)
    zoo = types.ModuleType("zoo")
    zoo.net = net
    with pytest.warns(UserWarning, match="could not find behind the model callable"):
        igw.integrated_gradients(lambda t: zoo.net(t), torch.rand(1, 1, 8, 8), steps=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a module found behind the callable gives no warning
        igw.integrated_gradients(lambda t: net(t), torch.rand(1, 1, 8, 8), steps=4)


def test_weights_defined_by_torch_hooks_are_kept() -> None:
    """A pruning mask is part of the weight: the twin computes with it, as the model does."""
    net = _trained_state_net().eval()
    prune.random_unstructured(net.head, "weight", amount=0.5)
    x = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    result = igw.integrated_gradients(net, x, target=2, steps=16)
    with torch.no_grad():
        expected = net(x)[0, 2] - net(torch.zeros_like(x))[0, 2]
    torch.testing.assert_close(result.attributions.sum(), expected, rtol=2e-3, atol=2e-3)


class Recurrent(nn.Module):
    """Two bidirectional LSTM layers with dropout between them, a GRU, and a head: [batch, time, 6] -> 3."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lstm = nn.LSTM(6, 8, num_layers=2, dropout=0.5, bidirectional=True, batch_first=True)
        self.gru = nn.GRU(16, 5, batch_first=True)
        self.head = nn.Linear(5, 3)

    def forward(self, x):
        return self.head(self.gru(self.lstm(x)[0])[0][:, -1])


def test_recurrent_layers_are_explained_as_in_eval_mode_and_stay_untouched() -> None:
    """The twin runs recurrent layers in training mode with dropout 0 (the mode cuDNN computes a backward
    pass in: a GPU refuses input gradients through an eval-mode LSTM), which is the eval-mode function:
    no dropout noise, the same numbers as Captum on the model in eval mode, and the user's layers keep
    their mode, dropout and weight list."""
    from captum.attr import IntegratedGradients

    from ig_widget.attribution.model_state import isolated_model

    model = Recurrent().eval()
    x = torch.randn(3, 7, 6, generator=torch.Generator().manual_seed(1))
    weights = list(model.lstm._flat_weights)
    first = igw.integrated_gradients(model, x, target=1, steps=16)
    second = igw.integrated_gradients(model, x, target=1, steps=16)
    torch.testing.assert_close(first.attributions, second.attributions, rtol=0, atol=0)  # no dropout noise
    theirs = IntegratedGradients(model).attribute(x, target=1, n_steps=16, method="gausslegendre")
    torch.testing.assert_close(first.attributions, theirs, rtol=1e-4, atol=1e-6)
    assert not model.training and not model.lstm.training and model.lstm.dropout == 0.5
    assert all(a is b for a, b in zip(model.lstm._flat_weights, weights))
    assert all(p.grad is None for p in model.parameters())

    isolated = isolated_model(model)
    twin = isolated.twin(model.lstm)
    assert twin.training and twin.dropout == 0.0
    assert all(not weight.requires_grad for weight in twin._flat_weights)  # no graph for weight gradients
    assert all(w.data_ptr() == p.data_ptr() for w, p in zip(twin._flat_weights, weights))  # the user's memory
    assert not twin._weights_have_changed()  # so its forward never rebuilds (and flattens) the list


class _BatchStatisticsNet(nn.Module):
    """A conv net whose BatchNorm keeps no running statistics: even in eval mode it normalises with the
    statistics of the batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4, track_running_stats=False)
        self.head = nn.Linear(4 * 8 * 8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.norm(self.conv(x))).flatten(1))


def test_batch_norm_without_running_statistics_is_explained_one_input_at_a_time() -> None:
    """The defect: such a layer normalised each path point with the statistics of the points batched with
    it (and x with x'), so F(x) was not the model's score of x (0.30 printed where the model gives 0.40)
    and every number changed with `batch_size`. Now each row is the model's function of that input alone:
    F(x) and F(x') are the model's scores of each input alone, and the attributions equal Captum's over a
    forward that runs one row at a time, whatever the batch size."""
    from captum.attr import IntegratedGradients

    torch.manual_seed(0)
    model = _BatchStatisticsNet().eval()
    x = torch.rand(3, 3, 8, 8)
    alone = lambda points: torch.cat([model(row[None]) for row in points])  # noqa: E731
    with torch.no_grad():
        scores, at_zero = alone(x)[:, 2], alone(torch.zeros_like(x))[:, 2]
        assert not torch.allclose(model(x)[:, 2], scores, atol=1e-3)  # the batch changes the model's scores
    reference = IntegratedGradients(alone).attribute(x, target=2, n_steps=16, method="gausslegendre")
    for batch_size in (None, 1, 7):
        result = igw.integrated_gradients(model, x, target=2, steps=16, batch_size=batch_size)
        torch.testing.assert_close(result.score, scores, rtol=0, atol=1e-6)
        torch.testing.assert_close(result.baseline_score, at_zero, rtol=0, atol=1e-6)
        torch.testing.assert_close(result.attributions, reference, rtol=1e-4, atol=1e-6)


def test_batch_norm_without_running_statistics_over_single_values_is_refused() -> None:
    """One value per channel and input: the layer's output for one input is undefined (torch refuses a
    batch of one there), so the call says so instead of explaining a batch-dependent number."""
    model = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4, track_running_stats=False), nn.Linear(4, 2)).eval()
    with pytest.raises(
        igw.AttributionInputError, match=r"BatchNorm1d has no running statistics.*one value per channel"
    ):
        igw.integrated_gradients(model, torch.rand(2, 6), target=0, steps=8)
