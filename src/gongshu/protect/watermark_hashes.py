"""Position-weighted compression of canonical forms (helpers of ``watermark.py``).

Each canonical value is compressed to two 64-bit words, sums of its UTF-8
bytes times fixed odd multipliers by position, and to its count of ASCII
digits (a value of four digits or more anchors its row). ``compress`` reads
text; ``int_text_hash`` gives the same for the decimal text of integers
without writing it (the canonical form of a number is an integer).

A view may leave its hashes ``Deferred``: the digit counts are known at once,
and most columns of an API page never anchor a row (their canonical values
have fewer than four digits), so their words are never needed; those that
are needed are computed together by ``resolve``, one pass for the numbers of
every column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.protect.crypto import sm3

POW10 = np.array([10**k for k in range(19)], dtype=np.int64)
_ZERO = 48
Hashes = tuple[np.ndarray, np.ndarray, np.ndarray]  # (h1, h2, digit count) per value


def _poly(n: int) -> tuple[np.ndarray, np.ndarray]:
    size = 64
    while size < n:
        size *= 2
    m1, m2 = _poly_table(size)
    return m1[:n], m2[:n]


@cache
def _poly_table(n: int) -> tuple[np.ndarray, np.ndarray]:
    # Fixed odd multipliers for the position-weighted compression, from SM3 in counter mode.
    raw = b"".join(sm3(b"gongshu/watermark/poly" + i.to_bytes(4, "big")) for i in range(n // 2 + 1))
    words = np.frombuffer(raw, dtype=">u8").astype(np.uint64)
    # interleaved, so that the first n multipliers never depend on n
    return words[0::2][:n] | np.uint64(1), words[1::2][:n] | np.uint64(1)


def compress(canon: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two 64-bit position-weighted sums of each string's UTF-8 bytes, and its digit count."""
    s = pc.fill_null(canon, "").cast(pa.string())
    if len(s) == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0, np.int64)
    offsets, data = utf8_bytes(s)
    return compress_bytes(data, offsets)


def utf8_bytes(s: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """int64 offsets (from 0) and the uint8 bytes of a non-empty string array, without a copy."""
    bufs = s.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)
    offsets = offsets[s.offset : s.offset + len(s) + 1].astype(np.int64)
    start = int(offsets[0])
    data = np.zeros(0, np.uint8)
    if bufs[2] is not None:
        data = np.frombuffer(bufs[2], dtype=np.uint8)[start : int(offsets[-1])]
    return offsets - start, data


def compress_bytes(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, ...]:
    """``compress`` of the strings ``data[offsets[i]:offsets[i + 1]]``."""
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    h1 = np.zeros(n, np.uint64)
    h2 = np.zeros(n, np.uint64)
    digits = np.zeros(n, np.int64)
    if data.size:
        wide = data.astype(np.uint64)
        starts = offsets[:-1]
        pos = np.arange(data.size, dtype=np.int64) - np.repeat(starts, lengths)
        m1, m2 = _poly(int(lengths.max()))
        nz = lengths > 0
        idx = starts[nz]
        h1[nz] = np.add.reduceat(wide * m1[pos], idx)
        h2[nz] = np.add.reduceat(wide * m2[pos], idx)
        is_digit = ((data >= 48) & (data <= 57)).astype(np.int64)
        digits[nz] = np.add.reduceat(is_digit, idx)
    return h1, h2 ^ lengths.astype(np.uint64), digits


def digit_count(x: np.ndarray) -> np.ndarray:
    """Decimal digits of non-negative int64 values (0 has one)."""
    # the powers of ten up to x, by binary search (not 18 passes of comparisons)
    return np.maximum(np.searchsorted(POW10, x, side="right"), 1).astype(np.int64)


def int_text_hash(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``compress`` of the decimal text of non-negative int64 values, without the text."""
    length = digit_count(x)
    top = max(int(length.max()) if len(x) else 0, 1)
    m1, m2, by_length, fixed = _text_weights(top)
    # compress sums (48 + digit) * m[k] over the text positions k: the 48s depend on the
    # length alone (``fixed``), the digits are taken from the right (digit j of a text of
    # length L sits at position L - 1 - j; past the text it is 0)
    if len(x) * top <= _SMALL:  # all digits at once: fewer numpy calls
        digit = (x[:, None] // POW10[:top] % 10).astype(np.uint64)
        h = fixed[length] + np.einsum("ij,ijk->ik", digit, by_length[length])
        return h[:, 0], h[:, 1] ^ length.astype(np.uint64), length
    h1, h2 = fixed[length, 0], fixed[length, 1]
    rest = x.astype(np.uint64)
    for j in range(top):  # one digit of every value at a time: less memory
        rest, digit = np.divmod(rest, np.uint64(10))
        at = length - 1 - j  # negative past the text, where the digit is 0
        h1 += digit * m1[at]
        h2 += digit * m2[at]
    return h1, h2 ^ length.astype(np.uint64), length


_SMALL = 2048  # digits in a batch, below which they are taken all at once


@cache
def _text_weights(top: int) -> tuple[np.ndarray, ...]:
    """``compress``'s multipliers (m1, m2, both by text length and digit, 48 x their sums)."""
    m1, m2 = _poly(top)
    m = np.stack([m1, m2], axis=1)
    at = np.arange(top + 1)[:, None] - 1 - np.arange(top)[None, :]
    by_length = np.where((at >= 0)[:, :, None], m[np.maximum(at, 0)], np.uint64(0))
    fixed = np.zeros((top + 1, 2), np.uint64)
    fixed[1:] = np.cumsum(m, axis=0, dtype=np.uint64) * np.uint64(_ZERO)
    return m1, m2, by_length, fixed


@dataclass
class Deferred:
    """A view's hashes left until they are needed (most columns never anchor a row)."""

    numeric: np.ndarray  # bool: the canonical form is the decimal text of ``decade``
    decade: np.ndarray  # int64 >= 0, read where ``numeric``
    present: np.ndarray  # bool: not null (a null hashes to zeros)
    rest: Callable[[], Hashes] | None  # hashes of the other values (None: zeros)
    digits: np.ndarray  # the digit counts, known without the hashes


def resolve(pending: list[Deferred]) -> list[Hashes]:
    """The hashes of ``pending``, with one ``int_text_hash`` for the numbers of all of them."""
    parts = [d.decade[d.numeric] for d in pending]
    if not parts:
        return []
    # (each value's hash depends on the value alone, not on the batch it is hashed in)
    h1, h2, digits = int_text_hash(np.concatenate(parts))
    out = []
    lo = 0
    for d, part in zip(pending, parts, strict=True):
        n = len(d.numeric)
        if d.rest is None:
            hashes = np.zeros(n, np.uint64), np.zeros(n, np.uint64), np.zeros(n, np.int64)
        else:
            hashes = d.rest()
        hi = lo + len(part)
        for full, numbers in zip(hashes, (h1, h2, digits), strict=True):
            full[d.numeric] = numbers[lo:hi]
            full[~d.present] = 0
        out.append(hashes)
        lo = hi
    return out
