"""The JS tests read fixtures that Python wrote; a fixture is current when what Python makes now matches it.

"Matches" is exact for structure and text, and equal to float rounding for numbers: another CPU (AMD
against Intel, AVX2 against AVX-512) sums in another order and rounds last bits differently, so a
linear model's gap of pure rounding prints "0" on one machine and "5.96e-08" on the other. Numbers are
compared to 1e-4 relative or 1e-6 absolute; numbers printed as text (for the view) to one unit in the
last printed digit or 1e-6; encoded arrays (`encode.py`: dtype, shape, base64 data) element by element,
float arrays to 1e-4 of their largest magnitude, quantised ones (int8, uint8) to one step. A completeness
gap (`gap`, `relative_gap`) is a difference of two nearly equal sums, all rounding: it is compared to 1e-5
absolute (one fixture's next-token relative gap was 9.2e-07 on one AMD machine and 2.1e-06 on another).
"""

from __future__ import annotations

import base64
import math
import re

import numpy as np

RELATIVE, ABSOLUTE = 1e-4, 1e-6
GAP_ABSOLUTE = 1e-5
GAPS = ("gap", "relative_gap")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?%?$", re.IGNORECASE)
_DTYPES = {"float32": "<f4", "float16": "<f2", "float64": "<f8", "int8": "i1", "uint8": "u1"}


def assert_fixture_current(written, fresh, command: str) -> None:
    """Raise AssertionError naming the first place where `fresh` differs from `written`, and the
    command that writes the fixture again."""
    problem = _difference(written, fresh, "")
    assert problem is None, f"{problem}; if the change is meant, run: {command}"


def _difference(a, b, path: str) -> str | None:
    if _is_encoded_array(a) and _is_encoded_array(b):
        return _array_difference(a, b, path)
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(a)} != {sorted(b)}"
        return next((found for key in a if (found := _difference(a[key], b[key], f"{path}/{key}"))), None)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        return next((found for i, (x, y) in enumerate(zip(a, b)) if (found := _difference(x, y, f"{path}[{i}]"))), None)
    if _is_number(a) and _is_number(b) and (isinstance(a, float) or isinstance(b, float)):
        absolute = GAP_ABSOLUTE if path.rpartition("/")[2] in GAPS else ABSOLUTE
        return None if math.isclose(a, b, rel_tol=RELATIVE, abs_tol=absolute) else f"{path}: {a!r} != {b!r}"
    if isinstance(a, str) and isinstance(b, str) and _NUMBER.match(a) and _NUMBER.match(b) and a != b:
        if a.endswith("%") != b.endswith("%"):
            return f"{path}: {a!r} != {b!r}"
        tolerance = max(min(_last_digit(a), _last_digit(b)), ABSOLUTE)
        return None if abs(_value(a) - _value(b)) <= tolerance * (1 + 1e-9) else f"{path}: {a!r} != {b!r}"
    return None if a == b and type(a) is type(b) else f"{path}: {a!r} != {b!r}"


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_encoded_array(value) -> bool:
    return (
        isinstance(value, dict)
        and value.get("dtype") in _DTYPES
        and isinstance(value.get("data"), dict)
        and "base64" in value["data"]
    )


def _array_difference(a: dict, b: dict, path: str) -> str | None:
    rest_a = {key: value for key, value in a.items() if key != "data"}
    rest_b = {key: value for key, value in b.items() if key != "data"}
    found = _difference(rest_a, rest_b, path)  # dtype, shape, scale, offset
    if found is not None:
        return found
    x, y = (np.frombuffer(base64.b64decode(each["data"]["base64"]), _DTYPES[each["dtype"]]) for each in (a, b))
    if x.shape != y.shape:
        return f"{path}/data: {x.size} elements != {y.size}"
    if a["dtype"] in ("int8", "uint8"):
        steps = np.abs(x.astype(np.int64) - y.astype(np.int64))
        return None if steps.max(initial=0) <= 1 else f"{path}/data: quantised values differ by {steps.max()} steps"
    x, y = x.astype(np.float64), y.astype(np.float64)
    if not np.array_equal(np.isnan(x), np.isnan(y)):
        return f"{path}/data: NaN in one only"
    x, y = np.nan_to_num(x), np.nan_to_num(y)
    scale = max(np.abs(x).max(initial=0.0), np.abs(y).max(initial=0.0))
    worst = np.abs(x - y).max(initial=0.0)
    return None if worst <= RELATIVE * scale + 1e-12 else f"{path}/data: differs by {worst:.3g} (largest {scale:.3g})"


def _value(text: str) -> float:
    return float(text.rstrip("%"))


def _last_digit(text: str) -> float:
    """One unit in the last digit `text` prints: "0.03" -> 0.01, "5.96e-08" -> 1e-10, "12" -> 1."""
    mantissa, _, exponent = text.rstrip("%").lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)
