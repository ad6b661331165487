"""Properties that must hold for any input, checked with hypothesis on small random cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch import nn

import ig_widget as igw
from ig_widget.encode import decode_array, encode_array, max_error

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ACTIVATIONS = {"tanh": nn.Tanh, "softplus": nn.Softplus, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


def _smooth_mlp(seed: int, features: int, hidden: int, depth: int, activation: str, outputs: int) -> nn.Module:
    torch.manual_seed(seed)
    layers, width = [], features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), ACTIVATIONS[activation]()]
        width = hidden
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers).double()


@FAST
@given(
    seed=st.integers(0, 10_000),
    features=st.integers(1, 6),
    hidden=st.integers(2, 12),
    depth=st.integers(1, 3),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    batch=st.integers(1, 3),
    scale=st.floats(0.1, 3.0),
    baseline=st.sampled_from(["black", "uniform", "gaussian", "max_distance"]),
    output=st.sampled_from(["logit", "log_probability"]),
)
def test_completeness_on_random_smooth_networks(
    seed, features, hidden, depth, activation, batch, scale, baseline, output
):
    """Sum of IG = F(x) - F(x') for any smooth network: Gauss-Legendre with 32 points is near exact."""
    model = _smooth_mlp(seed, features, hidden, depth, activation, outputs=3)
    x = scale * torch.randn(batch, features, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    res = igw.integrated_gradients(model, x, baseline=baseline, steps=32, seed=seed, output=output)
    change = (res.score - res.baseline_score).abs()
    assert (res.gap.abs() <= 1e-6 * change.clamp_min(1.0)).all(), (res.gap, change)
    torch.testing.assert_close(res.trace.cumulative[-1].sum(dim=1), res.total)


SHAPES = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=6)


@st.composite
def maps(draw, dtype=np.float64):
    """Arrays of any small shape over any value range, with all-zero and constant maps likely."""
    shape = draw(SHAPES)
    kind = draw(st.sampled_from(["random", "zeros", "constant", "tiny", "huge"]))
    if kind == "zeros":
        return np.zeros(shape, dtype=dtype)
    if kind == "constant":
        return np.full(shape, draw(st.floats(-1e4, 1e4, width=32)), dtype=dtype)
    bound = {"random": 1e3, "tiny": 2.0**-100, "huge": 2.0**100}[kind]
    elements = st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=32 if dtype == np.float32 else 64)
    return draw(hnp.arrays(dtype, shape, elements=elements))


@FAST
@given(values=maps(), dtype=st.sampled_from(["int8", "uint8"]), per_slice=st.booleans())
def test_quantised_payloads_round_trip_within_the_stated_error(values, dtype, per_slice):
    payload = encode_array(values, dtype=dtype, per_slice=per_slice)
    decoded = decode_array(payload)
    assert decoded.shape == values.shape
    assert np.isfinite(decoded).all()
    assert all(np.isfinite(payload["scale"])) and all(s > 0 for s in payload["scale"])
    # decoding to float32 adds its own rounding (relative, and absolute below float32's smallest value)
    float32_rounding = np.abs(values).max(initial=0.0) * 2e-7 + np.finfo(np.float32).smallest_subnormal
    bound = max_error(payload) * (1 + 1e-6) + float32_rounding
    assert np.abs(decoded.astype(np.float64) - values).max(initial=0.0) <= bound
    if dtype == "int8":
        assert (decoded[values == 0] == 0).all(), "zero must stay exactly zero in signed maps"
    if not values.any():
        assert not decoded.any()


@FAST
@given(values=maps(np.float32))
def test_float32_payloads_are_exact(values):
    payload = encode_array(values, dtype="float32")
    assert max_error(payload) == 0.0
    np.testing.assert_array_equal(decode_array(payload), values)


@FAST
@given(values=maps())
def test_float16_payloads_keep_half_precision(values):
    values = np.clip(values, -6e4, 6e4)  # the float16 range
    decoded = decode_array(encode_array(values, dtype="float16"))
    normal = np.abs(values) >= 6.1e-5
    np.testing.assert_allclose(decoded[normal], values[normal], rtol=2**-11)
    assert np.abs(decoded[~normal] - values[~normal]).max(initial=0.0) <= 6.1e-5


@FAST
@given(value=st.floats(-1e6, 1e6), shape=SHAPES, dtype=st.sampled_from(["int8", "uint8"]))
def test_constant_maps_decode_to_the_constant(value, shape, dtype):
    values = np.full(shape, value)
    decoded = decode_array(encode_array(values, dtype=dtype, per_slice=True))
    np.testing.assert_allclose(decoded, values, rtol=1e-6, atol=1e-30)


def _digits_like_cnn(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 4 * 4, 4))


RANDOM_CALLS = {
    "uniform baseline": lambda m, x, d, seed: igw.integrated_gradients(m, x, baseline="uniform", steps=8, seed=seed),
    "gaussian baseline": lambda m, x, d, seed: igw.integrated_gradients(m, x, baseline="gaussian", steps=8, seed=seed),
    "smoothgrad": lambda m, x, d, seed: igw.smoothgrad(m, x, samples=5, seed=seed),
    "smoothgrad ig": lambda m, x, d, seed: igw.smoothgrad(
        m, x, samples=3, method="integrated_gradients", baseline="uniform", steps=4, seed=seed
    ),
    "expected_gradients": lambda m, x, d, seed: igw.expected_gradients(m, x, data=d, samples=8, seed=seed),
}


@pytest.mark.parametrize("method", RANDOM_CALLS)
@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), batch_size_hint=st.integers(1, 3))
def test_same_seed_same_result_other_seed_other_result(method, seed, batch_size_hint):
    model = _digits_like_cnn(0)
    x = torch.rand(batch_size_hint, 1, 6, 6, generator=torch.Generator().manual_seed(7))
    data = torch.rand(10, 1, 6, 6, generator=torch.Generator().manual_seed(8))
    call = RANDOM_CALLS[method]
    torch.manual_seed(seed + 1)  # the global generator must not matter
    first = call(model, x, data, seed)
    torch.manual_seed(seed + 2)
    again = call(model, x, data, seed)
    other = call(model, x, data, seed + 1)
    assert torch.equal(first.attributions, again.attributions)
    if first.baseline is not None:
        assert torch.equal(first.baseline, again.baseline)
    assert not torch.equal(first.attributions, other.attributions)
