"""Compression of canonical forms: from text, from integers, deferred and batched."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from gongshu.protect import watermark_hashes as hashes


def assert_same(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)


def test_bytes_are_read_through_offsets() -> None:
    text = pa.array(["12", None, "", "王**", None, "3.50", "x"] * 3)
    for lo, hi in ((0, 21), (1, 20), (4, 5), (6, 7)):
        part = text.slice(lo, hi - lo)
        offsets, data = hashes.utf8_bytes(part)
        got = [data[a:b].tobytes().decode() for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
        assert got == [v or "" for v in part.to_pylist()]
        assert_same(hashes.compress_bytes(data, offsets), hashes.compress(part))


@pytest.mark.parametrize("size", [1, 7, 300, 5000])  # both ways of taking the digits
@pytest.mark.parametrize("top", [1, 2, 10**3, 10**7, 10**17, 2**63 - 1])
def test_int_text_hash_is_compress_of_the_decimal_text(size: int, top: int) -> None:
    r = np.random.default_rng(size + top % 1000)
    x = r.integers(0, top, size) if top > 1 else np.zeros(size, np.int64)
    x[0] = top - 1
    assert_same(hashes.int_text_hash(x), hashes.compress(pa.array([str(v) for v in x])))


def test_deferred_hashes_are_the_same_alone_or_in_a_batch() -> None:
    """Numbers hashed with another column's are hashed as alone; nulls hash to zeros."""
    r = np.random.default_rng(1)
    pending, expected = [], []
    for n in (5, 300, 2000):
        decade = r.integers(0, 10 ** int(r.integers(1, 18)), n)
        numeric, present = r.random(n) < 0.6, r.random(n) < 0.9
        numeric &= present
        words = pa.array([f"x{v}" for v in r.integers(0, 99, n)])
        canon = pa.array(
            [str(d) if u else (w if p else None) for d, u, p, w in
             zip(decade, numeric, present, words.to_pylist(), strict=True)]
        )  # fmt: skip
        digits = np.where(numeric, hashes.digit_count(decade), 0)

        def rest(words: pa.Array = words) -> hashes.Hashes:
            return hashes.compress(words)

        pending.append(hashes.Deferred(numeric, decade, present, rest, digits))
        expected.append(hashes.compress(canon))
    for got, want in zip(hashes.resolve(pending), expected, strict=True):
        assert_same(got, want)
    assert_same(hashes.resolve(pending[1:2])[0], expected[1])
