"""Writing the watermark's bits into a column (helpers of ``watermark.py``).

A changed cell takes the other bit of its channel (``watermark_channels``):
the last digit on the numeric grid one step up or down, the seconds one
step, the mask run one star longer or shorter within its pair (1-2, 3-4);
the canonical form never moves. Integers,
float64 and decimal128 columns are written straight into a copy of their
values buffer (an API page would otherwise pay for three Arrow kernels);
other types go through Arrow's casts, text through its string kernels.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.protect import watermark_channels as ch

_STARS = np.array(["*" * k for k in range(ch.MAX_RUN + 2)])


def writable(t: pa.DataType, v: ch.View, key_like: bool, masked: bool = False) -> np.ndarray:
    """The cells whose channel bit may be written. Mask runs other than 3-4 stars after a
    visible character only in a column the caller ``masked`` (see ``watermark_channels``)."""
    carries = v.bit >= 0
    if pa.types.is_integer(t):
        return carries & (v.kind == ch.NUMERIC) & (not key_like)
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return carries & (v.kind == ch.NUMERIC)
    if pa.types.is_timestamp(t):
        return carries & (v.kind == ch.SECONDS)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        run = v.kind == ch.RUN
        if not masked and np.count_nonzero(run):
            pre = pc.utf8_length(pc.struct_field(v.run, "pre"))
            visible = np.asarray(pc.fill_null(pre, 0).to_numpy(zero_copy_only=False)) > 0
            run &= (v.digit >= 3) & visible
        return carries & ((v.kind == ch.SECONDS) | run)
    return np.zeros(len(v.bit), bool)


def write(
    arr: pa.Array, v: ch.View, change: np.ndarray, want: np.ndarray, down: np.ndarray
) -> pa.Array:
    """Flip the channel bit of the rows in ``change``; the canonical form never moves."""
    t, d = arr.type, v.digit
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_timestamp(t):
        sec_step = np.where((d == 59) | (down & (d != 1)), -1, 1)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        sec = pa.array(np.char.zfill((d + sec_step).astype(str), 2))
        ts = pa.nulls(len(arr), ch.TS_FIELDS) if v.ts is None else v.ts
        run = pa.nulls(len(arr), ch.RUN_FIELDS) if v.run is None else v.run
        head, rest = pc.struct_field(ts, "head"), pc.struct_field(ts, "rest")
        new_ts = pc.binary_join_element_wise(head, pa.scalar(":"), sec, rest, "")
        # the run's other length in its pair (1-2, 3-4): the bit is the length's parity
        length = np.where(v.kind == ch.RUN, d, 0)
        stars = pa.array(_STARS[np.where(length % 2 == 1, length + 1, np.maximum(length - 1, 0))])
        new_run = pc.binary_join_element_wise(
            pc.struct_field(run, "pre"), stars, pc.struct_field(run, "post"), ""
        )
        new = pc.if_else(pa.array(v.kind == ch.RUN), new_run, new_ts)
        mask = pa.array(change)
        return pc.replace_with_mask(arr, mask, new.filter(mask).cast(t))
    if pa.types.is_timestamp(t):
        per_sec = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[t.unit]
        raw = pc.cast(arr, pa.int64()).to_numpy(zero_copy_only=False)
        moved = raw[change] + sec_step[change] * per_sec
        return pc.replace_with_mask(arr, pa.array(change), pa.array(moved, pa.int64()).cast(t))
    sign = np.where(v.neg, -1, 1)
    magnitude = v.magnitude + np.where((d == 9) | (down & (d != 1)), -1, 1)
    if pa.types.is_integer(t):
        info = np.iinfo(t.to_pandas_dtype())
        moved = (sign * magnitude)[change]
        inside = (moved >= info.min) & (moved <= info.max)
        change = change.copy()
        change[change] = inside
        return _put(arr, change, moved[inside])
    if pa.types.is_floating(t):
        moved = (sign * magnitude)[change] / 10.0**v.scale
        if pa.types.is_float64(t):
            return _put(arr, change, moved)
        return pc.replace_with_mask(arr, pa.array(change), pa.array(moved).cast(t))
    if pa.types.is_decimal128(t) and v.scale <= t.scale:
        # the moved value's unscaled integer, on the column's scale when it fits in 64 bits
        moved = (sign * magnitude)[change]
        factor = 10 ** (t.scale - v.scale)
        if np.abs(moved).max() <= np.iinfo(np.int64).max // factor:
            unscaled = moved * factor
            return _put(arr, change, np.stack([unscaled, unscaled >> 63], axis=1))
        grid = pa.Array.from_buffers(
            pa.decimal128(38, v.scale),
            len(moved),
            [None, pa.py_buffer(np.stack([moved, moved >> 63], axis=1).astype("<i8"))],
        )
        return pc.replace_with_mask(arr, pa.array(change), grid.cast(t))  # rescaled by Arrow
    # other decimals: rebuild the text on the grid and let Arrow parse it into the column's type
    digits = pc.utf8_lpad(
        pc.cast(pa.array(magnitude[change]), pa.string()), width=v.scale + 1, padding="0"
    )
    if v.scale:
        digits = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(digits, 0, -v.scale),
            pc.utf8_slice_codeunits(digits, -v.scale),
            ".",
        )
    signs = pa.array(np.where(v.neg[change], "-", ""))
    new = pc.binary_join_element_wise(signs, digits, "").cast(t)
    return pc.replace_with_mask(arr, pa.array(change), new)


def _put(arr: pa.Array, change: np.ndarray, values: np.ndarray) -> pa.Array:
    """``arr`` (integers, float64 or decimal128) with ``values`` in the rows ``change``.

    The same array as ``pc.replace_with_mask`` would give, written into a copy
    of the values buffer: the column's nulls (its validity bitmap) are kept.
    """
    t = arr.type
    validity, data = arr.buffers()[:2]
    end = arr.offset + len(arr)
    if pa.types.is_decimal128(t):  # two little-endian 64-bit words per value
        out = np.frombuffer(data, "<i8", count=2 * end).reshape(end, 2).copy()
    else:
        out = np.frombuffer(data, t.to_pandas_dtype(), count=end).copy()
    out[arr.offset + np.flatnonzero(change)] = values
    buffers = [validity, pa.py_buffer(out)]
    return pa.Array.from_buffers(t, len(arr), buffers, arr.null_count, arr.offset)
