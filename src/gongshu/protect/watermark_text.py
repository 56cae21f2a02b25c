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
  of the text for the rest (see ``watermark_hashes``, which may defer them).

The seconds and mask-run channels stay with the Arrow kernels of
``watermark_channels.text_channels``, and run only when a byte test says some
value may carry them (``:`` at the places of ``YYYY-MM-DD hh:mm:ss``; a value
ending in ``*`` or holding ``***@``): masked phone numbers such as
``138****1234`` and plain text never pay for them. Longer columns (a batch
of mostly distinct values) keep the Arrow path: there its cost per byte is
lower than numpy's passes over the bytes. Tests compare this view with the
Arrow one field by field on random and edge-case text.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from gongshu.protect import watermark_channels as ch
from gongshu.protect.watermark_hashes import (
    POW10,
    Deferred,
    Hashes,
    compress,
    compress_bytes,
    digit_count,
    utf8_bytes,
)

_ZERO, _DOT, _MINUS, _COLON, _DASH, _STAR, _AT = 48, 46, 45, 58, 45, 42, 64
_MAX_DIGITS = 18  # NUM_RE's integer part, and what an int64 magnitude holds
_FAR = -(1 << 40)  # a start that puts every byte of a value off the grid

# Above this many values Arrow's kernels, whose cost is mostly per byte, beat numpy's
# passes over the bytes (the crossover is at 2,500-3,000 numbers on a 2-core machine).
MAX_VALUES = 2048


def view(text: pa.Array, kinds: frozenset[int], weights: np.ndarray | None = None) -> ch.View:
    """``watermark_channels.view(text, kinds, weights)``, from the bytes when ``text`` is short."""
    if not 0 < len(text) <= MAX_VALUES or not pa.types.is_string(text.type):
        return ch.view(text, kinds, weights)  # (``render`` gives string)
    n = len(text)
    valid = ch.present(text)
    offsets, data = utf8_bytes(text)
    starts, lengths = offsets[:-1], offsets[1:] - offsets[:-1]
    kind = np.zeros(n, np.int8)
    bit = np.empty(n, np.int8)
    bit.fill(-1)
    digit = np.zeros(n, np.int64)
    is_digit = (data - np.uint8(_ZERO)) < 10  # (bytes below "0" wrap around)
    found = None
    if ch.NUMERIC in kinds and np.count_nonzero(is_digit):
        found = _numbers(data, is_digit, starts, lengths, valid, weights)
    if found is None:
        on_grid, neg, magnitude, scale = np.zeros(n, bool), np.zeros(n, bool), digit.copy(), 0
    else:
        on_grid, neg, magnitude, scale = found
        last = magnitude % 10
        kind[on_grid] = ch.NUMERIC
        carries = on_grid & (last != 0)
        bit[carries] = magnitude[carries] % 2
        digit[on_grid] = last[on_grid]

    text_rows = valid & ~on_grid
    others = frozenset(
        k for k in kinds if k != ch.NUMERIC and _may_carry(k, data, starts, lengths, text_rows)
    )
    rest, rest_digits = None, 0  # the hashes and digit counts of the values not numbers
    if others:
        ts, run, canon = ch.text_channels(text, others, on_grid, kind, bit, digit, text)
        rest, rest_digits = _fixed(compress(canon))
    else:
        ts = run = None
        if np.count_nonzero(text_rows):
            if np.count_nonzero(is_digit):  # their digit counts are needed at once
                rest, rest_digits = _fixed(compress_bytes(data, offsets))
            else:  # no digit at all: no anchor, and hashes only if asked for

                def rest() -> Hashes:
                    return compress_bytes(data, offsets)

    # the decade and the sign, one integer: what embedding never changes
    decade = (magnitude // 10) * 2 + neg
    digits = np.where(on_grid, digit_count(decade), rest_digits)
    digits[~valid] = 0
    deferred = Deferred(on_grid, decade, valid, rest, digits)
    return ch.View(None, valid, kind, bit, digit, neg, magnitude, scale, ts, run, None, deferred)


def _fixed(hashes: Hashes) -> tuple[Callable[[], Hashes], np.ndarray]:
    """Hashes computed already, as a ``Deferred.rest``, and their digit counts."""

    def rest() -> Hashes:
        return hashes[0].copy(), hashes[1].copy(), hashes[2].copy()

    return rest, hashes[2]


def _numbers(
    data: np.ndarray,
    is_digit: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    valid: np.ndarray,
    weights: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """(on the grid, negative, magnitude on the grid, scale), or None when nothing matches."""
    n, size = len(starts), data.size
    # candidates: values of digits, dots and minus signs only; a last False ends the last
    # value for reduceat (an empty value reads the next value's first byte: its length rules it out)
    stray = np.empty(size + 1, bool)
    stray[size] = False
    np.logical_not(is_digit | (data == _DOT) | (data == _MINUS), out=stray[:size])
    candidate = valid & (lengths > 0) & ~np.logical_or.reduceat(stray, starts)
    picked = np.count_nonzero(candidate)
    if not picked:
        return None
    if picked < n:  # the candidates' bytes alone
        data = data[np.repeat(candidate, lengths)]
        lengths = lengths[candidate]
        starts = np.zeros(picked, np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        weights = None if weights is None else weights[candidate]
    found = _grid(data, starts, lengths, weights)
    if found is None:
        return None
    if picked == n:
        return found
    out = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, np.int64)
    for full, part in zip(out, found[:3], strict=True):
        full[candidate] = part
    return *out, found[3]


def _grid(
    data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """``_numbers`` of non-empty values made of ASCII digits, dots and minus signs only."""
    n = len(starts)
    index = np.arange(data.size)
    not_digit = (data == _DOT) | (data == _MINUS)
    marks = np.count_nonzero(not_digit)
    if marks:
        is_dot = data == _DOT
        dots = np.add.reduceat(is_dot, starts, dtype=np.int64)
        minus = np.add.reduceat(data == _MINUS, starts, dtype=np.int64)
        lead = data[starts] == _MINUS
        dot_at = np.maximum.reduceat(np.where(is_dot, index, -1), starts) - starts  # (one dot)
        ip_end = np.where(dots == 1, dot_at, lengths)  # where the integer part ends
        ip_len = ip_end - minus
        matched = (minus == lead) & (dots <= 1) & (ip_len >= 1) & (ip_len <= _MAX_DIGITS)
        matched &= (dots == 0) | (lengths - dot_at >= 2)  # a dot has a digit after it
    else:  # digits only: integers
        ip_end = ip_len = lengths
        matched = lengths <= _MAX_DIGITS
    if not np.count_nonzero(matched):
        return None
    frac_len = np.zeros(n, np.int64)
    fraction = matched & (dots == 1) if marks else None
    if marks and np.count_nonzero(fraction):
        # without its trailing zeros the fraction ends at the value's last byte other than
        # "0" (the dot itself when the fraction is all zeros)
        tail = np.maximum.reduceat(np.where(data != _ZERO, index, -1), starts) - starts
        frac_len[fraction] = (tail - dot_at)[fraction]
    scale = ch.infer_scale(frac_len[matched], None if weights is None else weights[matched])
    on_grid = matched & (frac_len <= scale) & (ip_len + scale <= _MAX_DIGITS)
    # the digit at index g weighs 10**(scale + e - g), one power less before e, the end of
    # its value's integer part; digits with a negative power are trailing zeros
    end = np.repeat(np.where(on_grid, starts + ip_end, _FAR), lengths)
    power = end - index + scale
    power -= power > scale
    counted = (power >= 0) & ~not_digit if marks else power >= 0
    digit = np.where(counted, data - _ZERO, 0)
    magnitude = np.add.reduceat(digit * POW10[np.clip(power, 0, _MAX_DIGITS)], starts)
    magnitude[~on_grid] = 0
    neg = (minus == 1) & on_grid if marks else np.zeros(n, bool)
    return on_grid, neg, magnitude, scale


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
        if not np.count_nonzero(star):
            return False
        ends = (starts + lengths)[rest & (lengths >= 1)]
        if np.count_nonzero(star[ends - 1]):
            return True
        if np.count_nonzero(star) < 3:
            return False
        return bool(np.count_nonzero(star[:-3] & star[1:-2] & star[2:-1] & (data[3:] == _AT)))
    return True
