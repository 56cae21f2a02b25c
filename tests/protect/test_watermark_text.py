"""The byte-level text view equals the Arrow one, field by field (watermark_text)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from gongshu.protect import watermark as wm
from gongshu.protect import watermark_channels as ch
from gongshu.protect import watermark_text as text_view
from gongshu.protect import watermark_trace as trace
from tests.protect.conftest import assert_same_view

EDGE = [
    "0", "7", "-0", "-0.0", "-7", "00", "007", "0012.3400", "12.30", "12.3", "12.35", ".5",
    "5.", "-.5", "-", "--5", "+5", " 5", "5 ", "5\n", "\n5", "1e5", "1E-7", "1.000E-7", "1,000",
    "1.2.3", "1" * 17, "9" * 18, "1" * 19, "-" + "9" * 18, "1" * 17 + ".5", "1" * 18 + ".5",
    "1" * 16 + ".25", "0." + "0" * 30, "0." + "1" * 30, "3.1415926535", "2.50000000000",
    "１２", "٣", "12３", "१२", "", "*", "***", "王***", "王****", "王*****", "王**", "a***@qq.com",
    "ab****@163.com", "a**@x", "***@x", "a***@b***@c", "浙江省杭州市西湖区****", "138****1234",
    "330106********123X", "a***b", "2025-01-01 12:34:56", "2025-01-01T12:34:00",
    "2025-01-01 12:34:59.123", "2025-13-01 12:34:56", "2025-01-01 12:34:60",
    "2025-01-01 12:34:56+08:00", "2025-01-01 12:34:56Z", "12:34:56", "2025-01-01 12:34",
    "２025-01-01 12:34:56", "x2025-01-01 12:34:56", "http://a.b/c", "西湖养老院",
]  # fmt: skip
PIECES = ["0", "1", "5", "9", "-", ".", "*", "@", ":", " ", "T", "e", "１", "区", "\n", "00", "***"]


def random_text(r: np.random.Generator, n: int) -> list[str | None]:
    """Numbers of every shape, date-times, masks and byte soup, with nulls."""
    out: list[str | None] = []
    for _ in range(n):
        shape = r.integers(0, 6)
        if shape == 0:
            out.append(None)
        elif shape == 1:  # a number: sign, leading zeros, 0..20 digits, fraction with zeros
            ip = "".join(r.choice(list("0123456789"), r.integers(0, 21)))
            fr = "".join(r.choice(list("0000123456789"), r.integers(0, 13)))
            dot = "." if r.random() < 0.7 else ""
            out.append(("-" if r.random() < 0.3 else "") + ip + (dot + fr if dot else ""))
        elif shape == 2:  # a date-time, sometimes broken
            s = f"20{r.integers(0, 99):02d}-0{r.integers(1, 9)}-1{r.integers(0, 9)} "
            s += f"{r.integers(0, 24):02d}:{r.integers(0, 60):02d}:{r.integers(0, 62):02d}"
            s += str(r.choice(["", ".5", "Z", "+08:00", "x", "0"]))
            out.append(s.replace(" ", "T") if r.random() < 0.3 else s)
        elif shape == 3:  # a mask run at the end or before "@"
            stars = "*" * int(r.integers(1, 6))
            head = str(r.choice(["王", "a", "浙江省杭州市", "", "1", "@"]))
            out.append(head + stars + str(r.choice(["", "@qq.com", "@", "@a*b", "1234"])))
        elif shape == 4:
            out.append(str(r.choice(EDGE)))
        else:
            out.append("".join(r.choice(PIECES, r.integers(0, 8))))
    return out


def assert_same(text: pa.Array, kinds: frozenset[int], weights: np.ndarray | None) -> None:
    fast = text_view.view(text, kinds, weights)
    slow = ch.view(text, kinds, weights)
    assert_same_view(fast, slow)
    # the channel structs are read where their channel was found (watermark._write)
    for a, b in ((fast.ts, slow.ts), (fast.run, slow.run)):
        assert (a.to_pylist() if a is not None else [None] * len(text)) == b.to_pylist()


KINDS = [ch.ALL_KINDS, frozenset({ch.NUMERIC}), frozenset({ch.SECONDS}), frozenset()]


@pytest.mark.parametrize("kinds", KINDS, ids=["all", "numeric", "seconds", "none"])
def test_edge_cases_read_the_same(kinds: frozenset[int]) -> None:
    assert_same(pa.array(EDGE + [None]), kinds, None)
    for value in EDGE:  # alone: the grid and the channel checks see only this value
        assert_same(pa.array([value]), kinds, None)


@pytest.mark.parametrize("seed", range(40))
def test_random_text_reads_the_same(seed: int) -> None:
    r = np.random.default_rng(seed)
    text = pa.array(random_text(r, int(r.integers(1, 300))), pa.string())
    assert_same(text, ch.ALL_KINDS, None)
    assert_same(text, frozenset({ch.NUMERIC}), None)
    # distinct values with row counts (some unused dictionary values count 0 rows)
    assert_same(text, ch.ALL_KINDS, r.integers(0, 5, len(text)))
    lo = int(r.integers(0, len(text)))
    assert_same(text.slice(lo), ch.ALL_KINDS, None)  # an offset into the buffers


@pytest.mark.parametrize("seed", range(10))
def test_numbers_only_read_the_same(seed: int) -> None:
    """Columns of numbers decide the grid: many shapes of fractions, few other values."""
    r = np.random.default_rng(100 + seed)
    scale = int(r.integers(0, 12))
    cents = r.lognormal(6, 3, 500).astype(np.int64) * r.choice([-1, 1], 500)
    text = [f"{c / 10**scale:.{scale}f}" for c in cents]
    text = [t.rstrip("0").rstrip(".") if r.random() < 0.3 else t for t in text]  # XLSX-like
    text[: int(r.integers(0, 20))] = random_text(r, 20)[: int(r.integers(0, 20))]
    assert_same(pa.array(text), ch.ALL_KINDS, None)
    assert_same(pa.array(text), frozenset({ch.NUMERIC}), r.integers(1, 9, len(text)))


def test_bytes_under_nulls_are_ignored() -> None:
    """Arrow lets a null slot hold bytes; neither view may read them."""
    data = b"12.5" + b"2025-01-01 12:34:56" + b"a***@b" + b"7"
    offsets = np.array([0, 4, 23, 29, 30], np.int32)
    validity = np.packbits(np.array([0, 0, 0, 1] + [0] * 4, bool), bitorder="little")
    text = pa.StringArray.from_buffers(
        4, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data), pa.py_buffer(validity.tobytes())
    )
    assert text.to_pylist() == [None, None, None, "7"]
    assert_same(text, ch.ALL_KINDS, None)


def test_empty_and_all_null_text_read_the_same() -> None:
    for values in ([""], ["", ""], [None], [None, ""], ["", "*", "@"]):
        assert_same(pa.array(values, pa.string()), ch.ALL_KINDS, None)


@pytest.mark.parametrize("seed", range(4))
def test_embed_is_the_same_through_either_view(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole deliveries: text, dictionary and typed columns marked alike by both paths."""
    r = np.random.default_rng(200 + seed)
    n = 400
    table = pa.table(
        {
            "_id": pa.array(np.arange(n)),
            "编号": pa.array([str(v) for v in r.integers(0, 10**6, n)]),
            "mixed": pa.array(random_text(r, n), pa.string()),
            "机构": pc.dictionary_encode(pa.array(r.choice(["西湖养老院", "东湖**", "3.50"], n))),
            "金额": pa.array([f"{v:.2f}" for v in r.lognormal(5, 2, n)]),
            "wgs": pa.array(np.round(r.random(n) * 100, 6)),
        }
    )
    mark = wm.Mark("org:1", f"{seed:016x}", 3)
    key = bytes(range(32))
    fast = wm.embed(table, mark, key, protected=["_id"], per_row=["_id", "编号", "mixed"])
    fast_bits = trace.read_bits(fast, key)
    monkeypatch.setattr(text_view, "view", ch.view)
    slow = wm.embed(table, mark, key, protected=["_id"], per_row=["_id", "编号", "mixed"])
    assert fast.equals(slow)
    for a, b in zip(fast_bits, trace.read_bits(slow, key), strict=True):
        assert np.array_equal(a, b)
