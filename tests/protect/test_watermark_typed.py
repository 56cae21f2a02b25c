"""Numbers and times read arithmetically equal their text views (watermark_typed)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from gongshu.protect import watermark_channels as ch
from gongshu.protect import watermark_typed as typed
from tests.protect.conftest import assert_same_view


def _typed_columns() -> dict[str, pa.Array]:
    r = np.random.default_rng(5)
    n = 3000
    nulls = r.random(n) < 0.05
    cents = r.lognormal(6, 3, n).astype(np.int64) * r.choice([-1, 1], n)
    cents[:50] = 0  # zero, written "0E-10" at scale 10
    cents[50:100] = r.integers(1, 999, 50)  # tiny values, scientific notation

    def dec(scale: int, precision: int = 38) -> pa.Array:
        values = [
            None if z else Decimal(int(c)).scaleb(-scale) for c, z in zip(cents, nulls, strict=True)
        ]
        return pa.array(values, pa.decimal128(precision, scale))

    seconds = r.integers(-2_000_000_000, 4_000_000_000, n)
    out = {
        "dec10": dec(10),
        "dec2": dec(2, 14),
        "dec0": dec(0, 20),
        "dec6": dec(6),
        "i64": pa.array(np.where(nulls, 0, cents * 1_000_003), mask=nulls),
        "i8": pa.array(r.integers(-128, 127, n).astype(np.int8), mask=nulls),
        "u32": pa.array(r.integers(0, 2**32 - 1, n).astype(np.uint32)),
        "big": pa.array(r.integers(-(2**62), 2**62, n)),  # 19-digit values carry no bit
    }
    for unit, per in (("s", 1), ("ms", 1000), ("us", 1_000_000), ("ns", 1_000_000_000)):
        raw = seconds * per + (r.integers(0, per, n) if per > 1 else 0)
        if unit == "ns":
            raw = np.clip(raw, -(2**62), 2**62)
        out[f"ts_{unit}"] = pa.array(raw, pa.timestamp(unit), mask=nulls)
    out["ts_tz"] = pa.array(seconds * 1000, pa.timestamp("ms", "Asia/Shanghai"))
    return out


@pytest.mark.parametrize("name", list(_typed_columns()))
def test_typed_columns_read_exactly_as_their_text(name: str) -> None:
    """The arithmetic views of numbers and times equal the text views the tracer reads."""
    arr = _typed_columns()[name]
    fast = typed.view(arr, None)
    if name == "ts_tz":  # written in local time with an offset: read as text
        assert fast is None
        return
    assert_same_view(fast, ch.view(ch.render(arr), ch.kinds_for(arr.type)))


@pytest.mark.parametrize("scale", range(19))
def test_decimals_of_every_scale_read_as_their_text(scale: int) -> None:
    """Plain and scientific renderings, 18-digit limits, trailing zeros, nulls, row weights."""
    r = np.random.default_rng(scale)
    n = 400
    unscaled = ((10 ** r.uniform(0, 18.5, n)).astype(np.int64) * r.choice([-1, 1], n)).tolist()
    edges = [10 ** max(scale - 6, 0), 10 ** max(scale - 6, 0) - 1, 10**18 - 1, 10**18, 0]
    unscaled[: len(edges)] = edges
    unscaled[5:40] = [7 * 10 ** max(scale - 2, 0) * k for k in range(35)]  # short fractions
    nulls = r.random(n) < 0.1
    values = [
        None if z else Decimal(u).scaleb(-scale) for u, z in zip(unscaled, nulls, strict=True)
    ]
    arr = pa.array(values, pa.decimal128(38, scale))
    for a, weights in ((arr, None), (arr, r.integers(1, 4, n)), (arr.slice(3, 200), None)):
        slow = ch.view(ch.render(a), ch.kinds_for(a.type), weights)
        assert_same_view(typed.view(a, weights), slow)
