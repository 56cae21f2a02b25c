"""Reading and writing the watermark's carrier channels (helpers of ``watermark.py``).

Every column is looked at through its *string rendering* (Arrow's cast to
string at embedding, the file's text at tracing), so a Parquet delivery and
its CSV or XLSX copy are read the same way. Each value gets:

- a *canonical form*: the value with its channel stripped, the same before
  and after embedding (the row anchors are built from it);
- at most one *channel bit*, read from the value itself:

  numeric    ``-?digits(.digits)?`` on the column's grid of ``scale``
             decimals: the parity of the last digit on the grid, only when
             that digit is 1..9 (round values such as 100 or 12.50 are never
             touched, and embedding never makes a digit 0, so the decade and
             the canonical form ``sign + n // 10`` never change);
  seconds    ``YYYY-MM-DD hh:mm:ss``: the parity of the seconds, only when 1..59;
  mask run   a masked string ending in (or with ``@`` after) a run of 3 or 4
             ``*`` (addresses masked to the district, e-mail local parts): the
             run's length, 3 or 4, which says nothing about the value.

The column's grid is inferred from the text, not the type: the largest
number of decimals that at least 30% of the numeric values use once trailing
zeros are dropped. A decimal ``12.30`` that comes back from XLSX as ``12.3``
is therefore read on the same grid, and values with more decimals than the
grid (altered ones) carry no bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.protect.crypto import sm3

NUM_RE = r"^(?P<sign>-?)(?P<ip>\d{1,18})(?:\.(?P<fr>\d+))?$"
TS_RE = r"^(?P<head>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}):(?P<sec>[0-5]\d)(?P<rest>(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)$"
RUN_RE = r"^(?P<pre>.*[^*])(?P<run>\*{3,4})(?P<post>@[^*]*)?$"
MAX_SCALE = 9
SCALE_SHARE = 0.3
ANCHOR_DIGITS = 4  # a canonical value needs this many digits to serve as a row anchor

NONE, NUMERIC, SECONDS, RUN = 0, 1, 2, 3

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def mix(x: np.ndarray) -> np.ndarray:
    """The murmur3 64-bit finalizer: a public bijection with full avalanche."""
    x = x ^ (x >> _S33)
    x = x * _M1
    x = x ^ (x >> _S33)
    x = x * _M2
    return x ^ (x >> _S33)


def name_word(label: str, name: str) -> np.uint64:
    """A public 64-bit constant for a column name (tweak and salt, not a secret)."""
    return np.uint64(int.from_bytes(sm3(f"{label}\x1f{name}".encode())[:8], "big"))


@cache
def _poly(n: int) -> tuple[np.ndarray, np.ndarray]:
    # Fixed odd multipliers for the position-weighted compression, from SM3 in counter mode.
    raw = b"".join(sm3(b"gongshu/watermark/poly" + i.to_bytes(4, "big")) for i in range(n // 2 + 1))
    words = np.frombuffer(raw, dtype=">u8").astype(np.uint64)
    return words[0:n] | np.uint64(1), words[n // 2 : n // 2 + n] | np.uint64(1)


def compress(canon: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Two 64-bit position-weighted sums of each string's UTF-8 bytes (nulls give 0)."""
    s = pc.fill_null(canon, "").cast(pa.string())
    if len(s) == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    offsets = np.frombuffer(s.buffers()[1], dtype=np.int32)[s.offset : s.offset + len(s) + 1]
    start = int(offsets[0])
    data_buf = s.buffers()[2]
    data = np.frombuffer(data_buf, dtype=np.uint8)[start : int(offsets[-1])].astype(np.uint64)
    lengths = np.diff(offsets).astype(np.int64)
    h1 = np.zeros(len(s), np.uint64)
    h2 = np.zeros(len(s), np.uint64)
    if data.size:
        starts = offsets[:-1].astype(np.int64) - start
        pos = np.arange(data.size, dtype=np.int64) - np.repeat(starts, lengths)
        m1, m2 = _poly(int(lengths.max()))
        nz = lengths > 0
        idx = starts[nz]
        h1[nz] = np.add.reduceat(data * m1[pos], idx)
        h2[nz] = np.add.reduceat(data * m2[pos], idx)
    return h1, h2 ^ lengths.astype(np.uint64)


def render(arr: pa.Array) -> pa.Array | None:
    """The column as text, as a CSV writer would put it; None for nested types."""
    if pa.types.is_string(arr.type):
        return arr
    try:
        return pc.cast(arr, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


@dataclass
class View:
    """One column seen through its channels (see the module docstring)."""

    canon: pa.Array  # string; null where the value is null
    kind: np.ndarray  # int8 NONE/NUMERIC/SECONDS/RUN
    bit: np.ndarray  # int8: the channel bit, -1 where the value carries none
    digit: np.ndarray  # int64: last grid digit (numeric), seconds, or run length
    neg: np.ndarray  # bool: numeric value is negative
    magnitude: np.ndarray  # int64: |value| * 10**scale (numeric)
    scale: int
    ts: pa.Array  # struct head/sec/rest (seconds channel)
    run: pa.Array  # struct pre/run/post (mask-run channel)

    @property
    def eligible(self) -> np.ndarray:
        """Rows whose canonical value is distinctive enough to anchor the row."""
        digits = pc.fill_null(pc.count_substring_regex(self.canon, r"\d"), 0)
        return np.asarray(digits.to_numpy(zero_copy_only=False)) >= ANCHOR_DIGITS


def _np(arr: pa.Array, fill: object) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, fill).to_numpy(zero_copy_only=False))


def infer_scale(frac_len: np.ndarray) -> int:
    """Largest d such that >= 30% of numeric values use d or more decimals."""
    if frac_len.size == 0:
        return 0
    scale = 0
    for d in range(1, MAX_SCALE + 1):
        if np.count_nonzero(frac_len >= d) >= SCALE_SHARE * frac_len.size:
            scale = d
    return scale


def view(text: pa.Array) -> View:
    """Canonical forms and channel bits of a column rendered as text."""
    n = len(text)
    valid = _np(pc.is_valid(text), False).astype(bool)
    kind = np.zeros(n, np.int8)
    bit = np.full(n, -1, np.int8)
    digit = np.zeros(n, np.int64)

    m = pc.extract_regex(text, NUM_RE)
    is_num = _np(pc.is_valid(m), False).astype(bool)
    ip = pc.struct_field(m, "ip")
    fr = pc.utf8_rtrim(pc.struct_field(m, "fr"), characters="0")
    frac_len = _np(pc.utf8_length(fr), 0).astype(np.int64)
    scale = infer_scale(frac_len[is_num])
    int_len = _np(pc.utf8_length(ip), 0).astype(np.int64)
    on_grid = is_num & (frac_len <= scale) & (int_len + scale <= 18)
    joined = pc.binary_join_element_wise(ip, pc.utf8_rpad(fr, width=scale, padding="0"), "")
    joined = pc.if_else(pa.array(on_grid), joined, "0")
    magnitude = _np(pc.cast(joined, pa.int64()), 0).astype(np.int64)
    neg = _np(pc.equal(pc.struct_field(m, "sign"), "-"), False).astype(bool) & on_grid
    last = magnitude % 10
    kind[on_grid] = NUMERIC
    carries = on_grid & (last != 0)
    bit[carries] = (magnitude[carries] % 2).astype(np.int8)
    digit[on_grid] = last[on_grid]
    num_canon = pc.binary_join_element_wise(
        pa.array(np.where(neg, "-", "")), pc.cast(pa.array(magnitude // 10), pa.string()), "#"
    )

    ts = pc.extract_regex(text, TS_RE)
    is_ts = _np(pc.is_valid(ts), False).astype(bool) & ~on_grid
    sec = _np(pc.cast(pc.struct_field(ts, "sec"), pa.int64()), 0) if n else np.zeros(0, np.int64)
    sec = np.where(is_ts, sec, 0)
    kind[is_ts] = SECONDS
    carries = is_ts & (sec != 0)
    bit[carries] = (sec[carries] % 2).astype(np.int8)
    digit[is_ts] = sec[is_ts]
    ts_canon = pc.struct_field(ts, "head")

    run = pc.extract_regex(text, RUN_RE)
    is_run = _np(pc.is_valid(run), False).astype(bool) & ~on_grid & ~is_ts
    run_len = _np(pc.utf8_length(pc.struct_field(run, "run")), 0).astype(np.int64)
    kind[is_run] = RUN
    bit[is_run] = (run_len[is_run] == 4).astype(np.int8)
    digit[is_run] = run_len[is_run]
    run_canon = pc.binary_join_element_wise(
        pc.struct_field(run, "pre"), pc.struct_field(run, "post"), "*"
    )

    canon = pc.case_when(
        pc.make_struct(pa.array(on_grid), pa.array(is_ts), pa.array(is_run)),
        num_canon,
        ts_canon,
        run_canon,
        text,
    )
    canon = pc.if_else(pa.array(valid), canon, pa.scalar(None, pa.string()))
    return View(canon, kind, bit, digit, neg, magnitude, scale, ts, run)
