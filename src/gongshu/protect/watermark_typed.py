"""Channel views of integer, decimal and timestamp columns without rendering text.

``watermark_channels.view`` reads every column through its text (Arrow's
cast to string), so that a Parquet delivery and its CSV copy read alike.
For typed columns of mostly distinct values that text costs most of the
watermark's time (a cast, three regular expressions, struct fields, a cast
back). The functions here compute the *same* ``View`` from the numbers:
the decimal digits of the canonical form are hashed arithmetically
(``int_text_hash`` equals ``compress`` of the integer's text), and the
rendering rules they rely on are Arrow's: a decimal is written plainly when
its adjusted exponent is at least -6 (else ``1.000E-7``, which carries no
bit), a timestamp without a zone as ``YYYY-MM-DD hh:mm:ss[.fff]``. Anything outside the
ranges handled here returns None and the caller falls back to the text.
Tests compare both paths value for value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.protect import watermark_channels as ch
from gongshu.protect.watermark_hashes import POW10, Deferred, _poly, compress, digit_count

_ZERO, _DASH, _SPACE, _COLON = 48, 45, 32, 58


def _fixed_hash(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``compress`` of fixed-width text given as one byte array per position."""
    m1, m2 = _poly(len(columns))
    h1 = np.zeros(len(columns[0]), np.uint64)
    h2 = np.zeros(len(columns[0]), np.uint64)
    for k, byte in enumerate(columns):
        b = byte.astype(np.uint64)
        h1 += b * m1[k]
        h2 += b * m2[k]
    return h1, h2 ^ np.uint64(len(columns))


def _digits(x: np.ndarray, width: int) -> list[np.ndarray]:
    return [_ZERO + (x // POW10[width - 1 - k]) % 10 for k in range(width)]


def _unscaled(arr: pa.Array) -> np.ndarray | None:
    """int64 unscaled values of a decimal128 array, or None when one does not fit."""
    words = np.frombuffer(arr.buffers()[1], dtype="<i8")[
        2 * arr.offset : 2 * (arr.offset + len(arr))
    ]
    lo, hi = words[0::2], words[1::2]
    if not np.array_equal(hi, np.where(lo < 0, -1, 0)):
        return None
    return lo.copy()


def view(arr: pa.Array, weights: np.ndarray | None) -> ch.View | None:
    """The text view of an integer, decimal128 or timestamp column, or None to use the text."""
    t = arr.type
    if pa.types.is_timestamp(t):
        # zoned times are written in their zone's local time with an offset: use the text
        return None if t.tz else _timestamp_view(arr)
    if (
        pa.types.is_integer(t)
        and t.bit_width <= 64
        and not (pa.types.is_uint64(t) and len(arr) and (pc.max(arr).as_py() or 0) >= 2**63)
    ):
        if pa.types.is_int64(t) and not arr.null_count:
            raw = arr.to_numpy()
        else:
            raw = np.asarray(pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False))
        return _numeric_view(arr, raw, 0, weights)
    if pa.types.is_decimal(t) and t.bit_width == 128 and t.scale >= 0:
        raw = _unscaled(arr)
        if raw is None or (len(raw) and raw.min() == np.iinfo(np.int64).min):
            return None
        return _numeric_view(arr, raw, t.scale, weights)
    return None


def _empty(n: int) -> dict:
    bit = np.empty(n, np.int8)
    bit.fill(-1)
    return dict(
        kind=np.zeros(n, np.int8),
        bit=bit,
        digit=np.zeros(n, np.int64),
        neg=np.zeros(n, bool),
        magnitude=np.zeros(n, np.int64),
    )


def _numeric_view(
    arr: pa.Array, raw: np.ndarray, scale_in: int, weights: np.ndarray | None
) -> ch.View | None:
    if scale_in > 18:
        return None
    n = len(arr)
    valid = ch.present(arr)
    absu = np.abs(raw)
    if scale_in:
        # Arrow writes a decimal plainly when its adjusted exponent is >= -6 ("0E-10" otherwise),
        # that is when it has scale_in - 5 digits or more
        plain = valid & (absu >= POW10[scale_in - 6]) if scale_in >= 7 else valid
        ip, frac = np.divmod(absu, POW10[scale_in])  # the integer part has 18 digits at most
        # the decimals written once trailing zeros are dropped
        trailing = np.count_nonzero(frac[:, None] % POW10[1 : scale_in + 1] == 0, axis=1)
        frac_len = np.where(frac == 0, 0, scale_in - trailing)
        matched = plain
    else:
        ip, frac_len = absu, np.zeros(n, np.int64)
        matched = valid & (absu < POW10[18])  # 18 digits at most
    if not scale_in and weights is None and n:  # integers by rows: no decimals, no grid
        scale, on_grid = 0, matched
    else:
        scale = ch.infer_scale(frac_len[matched], None if weights is None else weights[matched])
        # the integer part and the grid's decimals fit in 18 digits
        on_grid = matched & (frac_len <= scale) & (ip < POW10[18 - scale])
    out = _empty(n)
    magnitude = np.where(on_grid, absu // POW10[scale_in - scale], 0)
    neg = on_grid & (raw < 0)
    last = magnitude % 10
    out["kind"][on_grid] = ch.NUMERIC
    carries = on_grid & (last != 0)
    out["bit"][carries] = magnitude[carries] % 2
    out["digit"][on_grid] = last[on_grid]
    # canonical form: the decade and the sign as one integer (on the grid), else the text
    decade = (magnitude // 10) * 2 + neg
    digits = np.where(on_grid, digit_count(decade), 0)
    off = valid & ~on_grid
    rest = None
    if np.count_nonzero(off):
        idx = np.flatnonzero(off)
        text = pc.cast(arr.take(pa.array(idx)), pa.string())
        base = np.zeros(n, np.uint64), np.zeros(n, np.uint64), np.zeros(n, np.int64)
        for full, part in zip(base, compress(text), strict=True):
            full[idx] = part
        digits[idx] = base[2][idx]

        def rest() -> tuple[np.ndarray, ...]:
            return tuple(a.copy() for a in base)

    return ch.View(
        None,
        valid,
        out["kind"],
        out["bit"],
        out["digit"],
        neg,
        magnitude,
        scale,
        None,
        None,
        deferred=Deferred(on_grid, decade, valid, rest, digits),
    )


_PER_SEC = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _timestamp_view(arr: pa.Array) -> ch.View | None:
    n = len(arr)
    valid = ch.present(arr)
    raw = np.asarray(pc.fill_null(arr.cast(pa.int64()), 0).to_numpy(zero_copy_only=False))
    secs = raw // _PER_SEC[arr.type.unit]
    minutes = secs // 60
    days = minutes // 1440
    day = days.astype("datetime64[D]")
    year = day.astype("datetime64[Y]").astype(np.int64) + 1970
    if n and ((year[valid] < 1).any() or (year[valid] > 9999).any()):
        return None
    month = (day.astype("datetime64[M]") - day.astype("datetime64[Y]")).astype(np.int64) + 1
    dom = (day - day.astype("datetime64[M]")).astype(np.int64) + 1
    hour, minute = (minutes % 1440) // 60, minutes % 60
    sep = [np.full(n, c) for c in (_DASH, _DASH, _SPACE, _COLON)]
    head = [
        *_digits(year, 4),
        sep[0],
        *_digits(month, 2),
        sep[1],
        *_digits(dom, 2),
        sep[2],
        *_digits(hour, 2),
        sep[3],
        *_digits(minute, 2),
    ]
    h1, h2 = _fixed_hash(head)
    digits = np.full(n, 12, np.int64)
    h1[~valid], h2[~valid], digits[~valid] = 0, 0, 0
    sec = secs % 60
    out = _empty(n)
    out["kind"][valid] = ch.SECONDS
    carries = valid & (sec != 0)
    out["bit"][carries] = (sec[carries] % 2).astype(np.int8)
    out["digit"][valid] = sec[valid]
    return ch.View(
        None,
        valid,
        out["kind"],
        out["bit"],
        out["digit"],
        out["neg"],
        out["magnitude"],
        0,
        None,
        None,
        hashes=(h1, h2, digits),
    )
