"""What the view prints is what the kernel computed: trace maps and the model input cross exactly while
they are small, larger ones say how far each value may be off, and the JS tests' completeness fixtures
are written here.

`python tests/test_payload_precision.py` rewrites js/test/fixtures/completeness.json from real results.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np
import torch
from fixture_compare import assert_fixture_current
from torch import nn

from ig_widget import integrated_gradients
from ig_widget.encode import decode_array, encode_image, max_error
from ig_widget.widgets.image_input import display_map, prepare_input, to_display
from ig_widget.widgets.payload import EXACT_INPUT_VALUES, EXACT_TRACE_VALUES, completeness, printed_input, trace_payload

FIXTURE = pathlib.Path(__file__).resolve().parents[1] / "js" / "test" / "fixtures" / "completeness.json"


def test_small_trace_maps_cross_exactly(digits):
    model, images, _ = digits
    result = integrated_gradients(model, images[:1], target=3, steps=16)
    trace = trace_payload(result.trace)
    for name in ("gradients", "cumulative"):
        assert trace[name]["dtype"] == "float32"
        np.testing.assert_array_equal(decode_array(trace[name]), getattr(result.trace, name)[:, 0].numpy())
    # the accumulated map at the last point is the attribution map the view prints beside it
    last = decode_array(trace["cumulative"])[-1]
    np.testing.assert_allclose(last, result.attributions[0].sum(dim=0).numpy(), rtol=1e-5, atol=1e-7)


def test_large_trace_maps_state_how_far_each_value_may_be():
    steps, side = 4, 1 + int(np.sqrt(EXACT_TRACE_VALUES / 4))
    values = torch.randn(steps, 1, side, side) * torch.tensor([1e-6, 1.0, 30.0, 1e3]).view(-1, 1, 1, 1)
    trace = dataclasses.replace(_trace(), gradients=values, cumulative=values.cumsum(0))
    payload = trace_payload(trace)["cumulative"]
    assert payload["dtype"] == "int8" and len(payload["scale"]) == steps
    decoded = decode_array(payload)
    for k in range(steps):  # each step keeps its own error bound, scale / 2, which the view prints
        error = np.abs(decoded[k] - trace.cumulative[k, 0].numpy()).max()
        assert error <= payload["scale"][k] / 2 * (1 + 1e-5) + 1e-12
    assert max_error(payload) == max(payload["scale"]) / 2


def test_hover_input_is_exact_or_states_its_error():
    pixels = np.random.default_rng(0).integers(0, 256, (12, 12, 3), dtype=np.uint8)
    mean, std = torch.tensor([0.5, 0.4, 0.3]), torch.tensor([0.2, 0.25, 0.3])
    normalized = lambda image: (
        (torch.from_numpy(np.asarray(image)).permute(2, 0, 1).float() / 255 - mean[:, None, None]) / std[:, None, None]
    )
    as_pixels = printed_input(*_display(pixels, normalized))
    assert as_pixels == {}, "the bytes of an affinely preprocessed image are the input: nothing more to send"

    small = torch.randn(1, 20, 20)
    payload = printed_input(*_display(small, None))
    np.testing.assert_array_equal(decode_array(payload["input"]), small.numpy())

    side = 1 + int(np.sqrt(EXACT_INPUT_VALUES / 3))
    large = torch.randn(3, side, side)
    x, scale, offset, image = _display(large, None)
    payload = printed_input(x, scale, offset, image)
    assert set(payload) == {"input_error"}
    restored = offset[:, None, None] + scale[:, None, None] * decode_array(image).transpose(2, 0, 1)
    misses = np.abs(restored - large.numpy()).reshape(3, -1).max(axis=1)
    np.testing.assert_allclose(payload["input_error"], misses, rtol=1e-5)
    assert all(e <= s / 2 * (1 + 1e-6) for e, s in zip(payload["input_error"], scale))


def _display(image, preprocess):
    x, original = prepare_input(image, preprocess)
    scale, offset = display_map(x, original)
    return x[0], scale, offset, encode_image(to_display(x[0], scale, offset))


def test_js_completeness_fixtures_are_current():
    assert_fixture_current(json.loads(FIXTURE.read_text()), completeness_fixtures(), f"python {__file__}")


def _trace():
    result = integrated_gradients(nn.Linear(3, 2), torch.ones(1, 3), target=0, steps=4)
    return result.trace


class ScaleFree(nn.Module):
    """w . x / |x|: scores the direction of x only, so F(alpha x) = F(x) for every alpha > 0 and the
    whole score change happens in a sliver next to the black baseline, which few path points see."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.3, 0.2, -1.0, 0.1]]))

    def forward(self, x):
        return (x @ self.weight.T) / torch.sqrt((x * x).sum(dim=1, keepdim=True) + 1e-6)


def completeness_fixtures() -> dict:
    """Completeness payloads the badge tests load, from real walks at two step counts each: a ReLU
    network whose gap grows from 8 to 16 Gauss-Legendre steps (a kink), a scale-free score whose gap
    barely moves (right Riemann sums miss the jump next to the baseline), and the same closing its gap
    with Gauss-Legendre points. The engine's diagnosis, where it gives one, travels with each."""
    torch.manual_seed(0)
    relu = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    x = torch.tensor([[0.5, 0.1, -0.3, 0.8]])
    walks = {
        "grew": (relu, "gausslegendre", (8, 16)),
        "barely": (ScaleFree(), "riemann_right", (8, 16)),
        "closing": (ScaleFree(), "gausslegendre", (16, 32)),
    }
    fixtures = {
        f"{name}_{steps}": completeness(integrated_gradients(model, x, target=0, steps=steps, rule=rule))
        for name, (model, rule, counts) in walks.items()
        for steps in counts
    }
    model, x = saturated_softmax()
    for steps in (16, 32):
        fixtures[f"rounding_{steps}"] = completeness(integrated_gradients(model, x, target=0, steps=steps))
    return fixtures


def saturated_softmax() -> tuple[nn.Module, torch.Tensor]:
    """A softmax output near 1.0 at both ends of the path (0.999985 at x, 0.999988 at the black
    baseline): F(x) - F(x') is about 19 float32 epsilons of 1.0, so a gap of one or two is several percent."""
    torch.manual_seed(0)
    linear = nn.Linear(6, 3)
    with torch.no_grad():
        linear.bias.copy_(torch.tensor([12.0, 0.0, 0.0]))
    return nn.Sequential(linear, nn.Softmax(dim=1)).eval(), torch.rand(1, 6)


if __name__ == "__main__":
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(completeness_fixtures(), indent=1) + "\n")
    print(f"wrote {FIXTURE}")
