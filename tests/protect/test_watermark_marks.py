"""Marks written straight into values buffers equal Arrow's writes (watermark_marks)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from gongshu.protect import watermark_channels as ch
from gongshu.protect import watermark_marks as marks
from gongshu.protect import watermark_text as text_view
from gongshu.protect import watermark_typed as typed


def view(arr: pa.Array) -> ch.View:
    """The view embed() takes: from the numbers when it can, else from the text."""
    return typed.view(arr, None) or text_view.view(ch.render(arr), ch.kinds_for(arr.type))


def moves(v: ch.View, r: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random cells to change (among those carrying a bit), their direction, and the new value."""
    change, down = (v.bit >= 0) & (r.random(len(v.bit)) < 0.5), r.random(len(v.bit)) < 0.5
    step = np.where((v.digit == 9) | (down & (v.digit != 1)), -1, 1)
    return change, down, np.where(v.neg, -1, 1) * (v.magnitude + step)


@pytest.mark.parametrize("scale", [0, 2, 4, 10, 30])
def test_decimal_marks_are_the_values_their_text_would_parse_to(scale: int) -> None:
    r = np.random.default_rng(scale)
    t = pa.decimal128(18 if scale < 10 else 38, scale)
    cents = r.lognormal(7, 3, 600).astype(np.int64) * r.choice([-1, 1], 600)
    values = [
        None if i % 7 == 3 else Decimal(int(c)).scaleb(-min(scale, 2)) for i, c in enumerate(cents)
    ]
    for arr in (pa.array(values, t), pa.array(values, t).slice(5, 500)):
        v = view(arr)
        change, down, moved = moves(v, r)
        got = marks.write(arr, v, change, (1 - v.bit).astype(np.int8), down)
        text = []  # the text route: the digits on the grid, a dot, a sign, parsed by Arrow
        for m in moved[change]:
            digits = str(abs(m)).rjust(v.scale + 1, "0")
            digits = f"{digits[: -v.scale]}.{digits[-v.scale :]}" if v.scale else digits
            text.append(("-" if m < 0 else "") + digits)
        assert got.equals(pc.replace_with_mask(arr, pa.array(change), pa.array(text).cast(t)))


@pytest.mark.parametrize("t", [pa.int8(), pa.uint16(), pa.int32(), pa.int64(), pa.float64()])
def test_numbers_are_written_as_arrow_replaces_them(t: pa.DataType) -> None:
    r = np.random.default_rng(t.bit_width)
    info = np.iinfo(np.int64 if pa.types.is_floating(t) else t.to_pandas_dtype())
    raw = r.integers(max(info.min, -(10**9)), min(info.max, 10**9), 800, endpoint=True)
    raw[:4] = [info.max, info.min, 0, 1]  # a move past the type's limits is not written
    raw = raw / 100 if pa.types.is_floating(t) else raw
    full = pa.array(raw, t, mask=r.random(800) < 0.1)
    for arr in (full, full.slice(3, 700)):
        v = view(arr)
        change, down, moved = moves(v, r)
        if pa.types.is_floating(t):
            expected = pa.array(moved[change] / 10.0**v.scale)
        else:
            inside = (moved[change] >= info.min) & (moved[change] <= info.max)
            change[change] = inside
            expected = pa.array(moved[change]).cast(t)
        got = marks.write(arr, v, change, (1 - v.bit).astype(np.int8), down)
        assert got.equals(pc.replace_with_mask(arr, pa.array(change), expected))
