"""The fixture comparison forgives float rounding across CPUs and nothing else."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fixture_compare import assert_fixture_current


def encoded(values, dtype: str, scale: float = 1.0) -> dict:
    data = base64.b64encode(np.asarray(values, dtype=dtype).tobytes()).decode("ascii")
    return {"dtype": dtype, "shape": [len(values)], "scale": [scale], "offset": [0.0], "data": {"base64": data}}


WRITTEN = {
    "label": "seven",
    "count": 3,
    "gap": 0.25,
    "relative_gap": 9.15e-07,
    "score": 9.15e-07,
    "printed": ["0", "0.03", "12.5%"],
    "map": encoded([10, -3, 127], "int8", 0.01),
    "trace": encoded([1.0, 2.0, 1e-9], "float32"),
}


@pytest.mark.parametrize(
    "change",
    [
        {"gap": 0.25 * (1 + 3e-5)},  # last bits
        {"relative_gap": 2.14e-06},  # a gap of pure rounding, rounded otherwise
        {"printed": ["5.96e-08", "0.04", "12.6%"]},  # printed rounding: one unit of the last digit
        {"map": encoded([11, -3, 126], "int8", 0.01 * (1 + 1e-6))},  # one quantisation step
        {"trace": encoded([1.0001, 2.0, 3e-9], "float32")},  # 1e-4 of the array's largest value
    ],
)
def test_rounding_across_cpus_is_forgiven(change):
    assert_fixture_current(WRITTEN, {**WRITTEN, **change}, "regenerate")


@pytest.mark.parametrize(
    "change",
    [
        {"label": "eight"},
        {"count": 4},
        {"gap": 0.2501},
        {"relative_gap": 2e-05},  # a gap beyond rounding
        {"score": 2.14e-06},  # another number that small is not a gap: 1e-6 absolute
        {"printed": ["0", "0.05", "12.5%"]},
        {"printed": ["0", "0.03", "12.5"]},
        {"map": encoded([12, -3, 127], "int8", 0.01)},
        {"map": encoded([10, -3], "int8", 0.01)},
        {"trace": encoded([1.001, 2.0, 1e-9], "float32")},
        {"extra": 1},
    ],
)
def test_anything_else_is_a_difference(change):
    with pytest.raises(AssertionError, match="regenerate"):
        assert_fixture_current(WRITTEN, {**WRITTEN, **change}, "regenerate")
