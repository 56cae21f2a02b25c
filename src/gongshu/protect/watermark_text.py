"""Channel views of text columns read from their UTF-8 bytes (helpers of ``watermark.py``).

``watermark_channels.view`` reads a column's text with Arrow's string
kernels: a regular expression for numbers and another for date-times, then
trims, pads, joins and casts, each call costing 15-30 µs whatever the
length. On an API page of a hundred rows those fixed costs were most of the
watermark's time. ``view`` here computes the *same* ``View`` with numpy from
the array's offsets and bytes:

- ``NUM_RE`` (``-?`` then 1 to 18 ASCII digits, then optionally ``.`` and
  one digit or more, nothing else) is decided per value from byte classes
  (digit, dot, a minus in first place, anything else); RE2's ``\\d`` is ASCII
  only, so fullwidth and other Unicode digits never match, as in Arrow;
- the fraction's length without trailing zeros, the grid (``infer_scale``),
  the magnitude on the grid and the sign come from positional sums of the
  digit bytes;
- the canonical form is hashed directly, as ``watermark_typed`` does:
  ``int_text_hash`` of the decade for numbers on the grid, ``compress_bytes``
  of the text for the rest.

The seconds and mask-run channels stay with the Arrow kernels of
``watermark_channels.text_channels``, and run only when a byte test says some
value may carry them (``:`` at the places of ``YYYY-MM-DD hh:mm:ss``; a value
ending in ``***`` or holding ``***@``): masked phone numbers such as
``138****1234`` and plain names never pay for them. Tests compare this view
with the Arrow one field by field on random and edge-case text.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from gongshu.protect import watermark_channels as ch
from gongshu.protect.watermark_typed import POW10, int_text_hash

_ZERO, _DOT, _MINUS, _COLON, _DASH, _STAR, _AT = 48, 46, 45, 58, 45, 42, 64
_MAX_DIGITS = 18  # NUM_RE's integer part, and what an int64 magnitude holds
_FAR = -(1 << 40)  # a start that puts every byte of a value off the grid
# per byte: is a dot, is a minus, is anything but an ASCII digit, a dot or a minus
_CLASS = np.zeros((256, 3), np.int64)
_CLASS[:, 2] = 1
_CLASS[_ZERO : _ZERO + 10, 2] = 0
_CLASS[_DOT] = (1, 0, 0)
_CLASS[_MINUS] = (0, 1, 0)


def view(text: pa.Array, kinds: frozenset[int], weights: np.ndarray | None = None) -> ch.View:
    """``watermark_channels.view(text, kinds, weights)``, computed from the bytes."""
    if len(text) == 0 or not pa.types.is_string(text.type):  # (``render`` gives string)
        return ch.view(text, kinds, weights)
    n = len(text)
    valid = ch.present(text)
    offsets, data = ch.utf8_bytes(text)
    starts, lengths = offsets[:-1], offsets[1:] - offsets[:-1]
    kind = np.zeros(n, np.int8)
    bit = np.empty(n, np.int8)
    bit.fill(-1)
    digit = np.zeros(n, np.int64)
    found = None
    if ch.NUMERIC in kinds:
        found = _numbers(data, starts, lengths, valid, weights)
    if found is None:
        on_grid, neg, magnitude, scale = np.zeros(n, bool), np.zeros(n, bool), digit.copy(), 0
    else:
        on_grid, neg, magnitude, scale = found
        last = magnitude % 10
        kind[on_grid] = ch.NUMERIC
        carries = on_grid & (last != 0)
        bit[carries] = magnitude[carries] % 2
        digit[on_grid] = last[on_grid]

    rest = valid & ~on_grid
    others = frozenset(
        k for k in kinds if k != ch.NUMERIC and _may_carry(k, data, starts, lengths, rest)
    )
    if others:
        ts, run, canon = ch.text_channels(text, others, on_grid, kind, bit, digit, text)
        h1, h2, digits = ch.compress(canon)
    else:
        ts, run = pa.nulls(n, ch.TS_FIELDS), pa.nulls(n, ch.RUN_FIELDS)
        if np.count_nonzero(rest):
            h1, h2, digits = ch.compress_bytes(data, offsets)
        else:
            h1, h2, digits = np.zeros(n, np.uint64), np.zeros(n, np.uint64), np.zeros(n, np.int64)
    if found is not None:
        # the decade and the sign, one integer: what embedding never changes
        d1, d2, dd = int_text_hash((magnitude[on_grid] // 10) * 2 + neg[on_grid])
        h1[on_grid], h2[on_grid], digits[on_grid] = d1, d2, dd
    if len(valid) != np.count_nonzero(valid):
        h1[~valid], h2[~valid], digits[~valid] = 0, 0, 0
    hashes = (h1, h2, digits)
    canon_text = pa.nulls(n, pa.string())
    return ch.View(canon_text, valid, kind, bit, digit, neg, magnitude, scale, ts, run, hashes)


def _numbers(
    data: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    valid: np.ndarray,
    weights: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """(on the grid, negative, magnitude on the grid, scale), or None when nothing matches."""
    size = data.size
    is_digit = (data - np.uint8(_ZERO)) < 10  # (bytes below "0" wrap around)
    if not np.count_nonzero(is_digit):
        return None
    # per value: its dots, minus signs and other bytes, and where its dot and minus are;
    # np.add.reduceat sums each value's rows, and one more zero row ends the last one
    # (an empty value reads the next value's first row: it is ruled out by its length)
    where = np.empty((size + 1, 5), np.int64)
    where[size] = 0
    where[:size, :3] = _CLASS[data]
    where[:size, 3:] = where[:size, :2] * np.arange(size)[:, None]
    sums = np.add.reduceat(where, starts, axis=0)
    dots, minus, other = sums[:, 0], sums[:, 1], sums[:, 2]
    dot_at = sums[:, 3] - starts  # its index in the value, when there is one dot
    ip_end = np.where(dots == 1, dot_at, lengths)  # where the integer part ends
    ip_len = ip_end - minus
    matched = valid & (lengths > 0) & (other == 0) & (dots <= 1)
    matched &= (minus == 0) | ((minus == 1) & (sums[:, 4] == starts))  # a minus leads
    matched &= (ip_len >= 1) & (ip_len <= _MAX_DIGITS)
    matched &= (dots == 0) | (lengths - dot_at >= 2)  # a dot has a digit after it
    if not np.count_nonzero(matched):
        return None
    fraction = matched & (dots == 1)
    frac_len = np.zeros(len(starts), np.int64)
    if np.count_nonzero(fraction):
        # without its trailing zeros the fraction ends at the value's last byte other than
        # "0" (the dot itself when the fraction is all zeros)
        index = np.arange(size)
        last_nonzero = np.maximum.accumulate(np.where(data != _ZERO, index, -1))
        tail = last_nonzero[starts + lengths - 1] - starts  # (only read for fractions)
        frac_len[fraction] = (tail - dot_at)[fraction]
    scale = ch.infer_scale(frac_len[matched], None if weights is None else weights[matched])
    on_grid = matched & (frac_len <= scale) & (ip_len + scale <= _MAX_DIGITS)
    # the digit at index g weighs 10**(scale + e - g), one power less before e, the end of
    # its value's integer part; digits with a negative power are trailing zeros
    end = np.repeat(np.where(on_grid, starts + ip_end, _FAR), lengths)
    power = end - np.arange(size) + scale
    power -= power > scale
    counted = is_digit & (power >= 0)
    value = np.zeros(size + 1, np.int64)
    value[:size] = np.where(counted, (data - _ZERO) * POW10[np.clip(power, 0, _MAX_DIGITS)], 0)
    magnitude = np.add.reduceat(value, starts)
    magnitude[~on_grid] = 0
    return on_grid, (minus == 1) & on_grid, magnitude, scale


def _may_carry(
    kind: int, data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, rest: np.ndarray
) -> bool:
    """False when no value in ``rest`` can carry the channel ``kind`` (a necessary byte test)."""
    if kind == ch.SECONDS:  # "YYYY-MM-DD hh:mm:ss...": fixed places, 19 bytes at least
        if not np.count_nonzero(data == _COLON):
            return False
        at = starts[rest & (lengths >= 19)]
        colons = (data[at + 13] == _COLON) & (data[at + 16] == _COLON)
        return bool(np.count_nonzero(colons & (data[at + 4] == _DASH) & (data[at + 7] == _DASH)))
    if kind == ch.RUN:  # a run of stars that ends the value, or stands before "@"
        star = data == _STAR
        if np.count_nonzero(star) < 3:
            return False
        ends = (starts + lengths)[rest & (lengths >= 4)]  # a star run needs a byte before it
        if np.count_nonzero(star[ends - 1] & star[ends - 2] & star[ends - 3]):
            return True
        return bool(np.count_nonzero(star[:-3] & star[1:-2] & star[2:-1] & (data[3:] == _AT)))
    return True
