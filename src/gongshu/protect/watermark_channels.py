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
  mask run   a masked string ending in a run of 1 to 4 ``*`` (a masked name
             ``王**``, an address masked to the district, a value replaced by
             ``***``), or with a run of 3 or 4 before ``@`` (e-mail local
             parts): bit 1 when the run's length is even. Embedding moves the
             length within its pair (1 and 2, 3 and 4): the stars stand for the
             hidden characters without counting them, so either length says
             nothing about the value. Runs of 3-4 after a visible character are
             written in any column; the others only in the columns the caller
             says it masked (a footnote star in clear text is not a mask).

The column's grid is inferred from the text, not the type: the largest
number of decimals that at least 30% of the numeric values use once trailing
zeros are dropped. A decimal ``12.30`` that comes back from XLSX as ``12.3``
is therefore read on the same grid, and values with more decimals than the
grid (altered ones) carry no bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.protect.crypto import sm3
from gongshu.protect.watermark_hashes import Deferred, Hashes, compress, resolve

NUM_RE = r"^(?P<sign>-?)(?P<ip>\d{1,18})(?:\.(?P<fr>\d+))?$"
TS_RE = (
    r"^(?P<head>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}):(?P<sec>[0-5]\d)"
    r"(?P<rest>(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)$"
)
RUN_RE = r"^(?P<pre>[^@]*[^*@])(?P<run>\*{3,4})(?P<post>@[^*@]*)$"
MAX_SCALE = 9
SCALE_SHARE = 0.3
MAX_RUN = 4  # longer trailing runs (masked IDs, "1234********") carry no bit
ANCHOR_DIGITS = 4  # a canonical value needs this many digits to serve as a row anchor

NONE, NUMERIC, SECONDS, RUN = 0, 1, 2, 3

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def mix(x: np.ndarray) -> np.ndarray:
    """The murmur3 64-bit finalizer: a public bijection with full avalanche."""
    x = x ^ (x >> _S33)  # (a new array: the caller's is left alone)
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


@lru_cache(maxsize=4096)  # a page reads a few names; hashing them is half its anchors' cost
def name_word(label: str, name: str) -> np.uint64:
    """A public 64-bit constant for a column name (tweak and salt, not a secret)."""
    return np.uint64(int.from_bytes(sm3(f"{label}\x1f{name}".encode())[:8], "big"))


def log_sf_half(n: int) -> np.ndarray:
    """log P(X >= m) for X ~ Binomial(n, 1/2), m = 0..n+1 (exact, in log space)."""
    logfact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))])
    k = np.arange(n + 1)
    logpmf = logfact[n] - logfact[k] - logfact[n - k] - n * math.log(2.0)
    tail = np.logaddexp.accumulate(logpmf[::-1])[::-1]
    return np.concatenate([tail, [-np.inf]])


def render(arr: pa.Array) -> pa.Array | None:
    """The column as text, as a CSV writer would put it; None for nested types."""
    if pa.types.is_string(arr.type):
        return arr
    try:
        return pc.cast(arr, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


_NUM_FIELDS = pa.struct([("sign", pa.string()), ("ip", pa.string()), ("fr", pa.string())])
TS_FIELDS = pa.struct([("head", pa.string()), ("sec", pa.string()), ("rest", pa.string())])
RUN_FIELDS = pa.struct([("pre", pa.string()), ("post", pa.string())])


@dataclass
class View:
    """One column seen through its channels (see the module docstring)."""

    canon: pa.Array | None  # string, null where the value is null; None with hashes given
    present: np.ndarray  # bool: not null
    kind: np.ndarray  # int8 NONE/NUMERIC/SECONDS/RUN
    bit: np.ndarray  # int8: the channel bit, -1 where the value carries none
    digit: np.ndarray  # int64: last grid digit (numeric), seconds, or run length
    neg: np.ndarray  # bool: numeric value is negative
    magnitude: np.ndarray  # int64: |value| * 10**scale (numeric)
    scale: int
    ts: pa.Array | None  # struct head/sec/rest (seconds channel); None: all null
    run: pa.Array | None  # struct pre/post (mask-run channel); None: all null
    # compress(canon), when computed without the canonical text (watermark_typed, _text),
    # or left for later
    hashes: Hashes | None = None
    deferred: Deferred | None = None

    def compressed(self) -> Hashes:
        if self.hashes is None:
            if self.deferred is not None:
                self.hashes = resolve([self.deferred])[0]
            elif self.canon is not None:
                self.hashes = compress(self.canon)
        if self.hashes is None:
            raise ValueError("a View needs its canonical text, its hashes or deferred ones")
        return self.hashes

    def digit_counts(self) -> np.ndarray:
        """The digit count of each canonical value (``compressed()[2]``)."""
        if self.hashes is None and self.deferred is not None:
            return self.deferred.digits
        return self.compressed()[2]


def compress_views(views: list[View]) -> None:
    """Compute the deferred hashes of ``views``, the numbers of all of them in one batch."""
    pending = [v for v in views if v.hashes is None and v.deferred is not None]
    for v, hashes in zip(pending, resolve([v.deferred for v in pending]), strict=True):
        v.hashes = hashes


def _np(arr: pa.Array, fill: object) -> np.ndarray:
    if arr.null_count:  # (a call into Arrow costs more than a small page's work)
        arr = pc.fill_null(arr, fill)
    return np.asarray(arr.to_numpy(zero_copy_only=False))


def present(arr: pa.Array) -> np.ndarray:
    """bool per value: not null (read from the validity bitmap, no call into Arrow)."""
    n = len(arr)
    if arr.null_count == 0:
        return np.ones(n, bool)
    if arr.null_count == n or pa.types.is_null(arr.type):
        return np.zeros(n, bool)
    bitmap = np.frombuffer(arr.buffers()[0], np.uint8)
    bits = np.unpackbits(bitmap, count=arr.offset + n, bitorder="little")
    return bits[arr.offset :].astype(bool)


def infer_scale(frac_len: np.ndarray, weights: np.ndarray | None = None) -> int:
    """Largest d such that >= 30% of numeric values use d or more decimals.

    ``weights`` counts the rows holding each value when ``frac_len`` is over
    distinct values: the grid is a property of the rows, not of the values.
    """
    if frac_len.size == 0:
        return 0
    counts = np.bincount(np.minimum(frac_len, MAX_SCALE), weights, MAX_SCALE + 1).tolist()
    total = sum(counts)  # (float sums of row counts are exact)
    at_least = 0
    for d in range(MAX_SCALE, 0, -1):  # the share using d decimals or more grows as d falls
        at_least += counts[d]
        if at_least >= SCALE_SHARE * total:
            return d
    return 0


ALL_KINDS = frozenset({NUMERIC, SECONDS, RUN})


def kinds_for(t: pa.DataType) -> frozenset[int]:
    """Channels whose text form a column of type ``t`` can show at all (skips useless regexes)."""
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return frozenset({NUMERIC})
    if pa.types.is_timestamp(t):
        return frozenset({SECONDS})
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return ALL_KINDS
    return frozenset()


def _extract(text: pa.Array, pattern: str, fields: pa.DataType, needle: str | None) -> pa.Array:
    if needle is None:
        return pa.nulls(len(text), fields)
    if needle:
        has = pc.match_substring(text, needle)
        if not pc.any(has).as_py():
            return pa.nulls(len(text), fields)
        text = pc.if_else(has, text, "")
    return pc.extract_regex(text, pattern)


def _runs(text: pa.Array, enabled: bool) -> tuple[pa.Array, np.ndarray]:
    """Struct pre/post (null unless a 1-4 star run ends the value or 3-4 precede ``@``),
    run length."""
    n = len(text)
    if not enabled or n == 0 or not pc.any(pc.match_substring(text, "*")).as_py():
        return pa.nulls(n, RUN_FIELDS), np.zeros(n, np.int64)
    # "...区****", "王**", "***": a trailing run; cheaper than a regex with backtracking
    trail_pre = pc.utf8_rtrim(text, characters="*")
    trail_len = _np(pc.subtract(pc.utf8_length(text), pc.utf8_length(trail_pre)), 0)
    trail = (trail_len >= 1) & (trail_len <= MAX_RUN)
    # "a***@qq.com": a run before the @
    has_at = pc.match_substring(text, "***@")
    if pc.any(has_at).as_py():
        at = pc.extract_regex(pc.if_else(has_at, text, ""), RUN_RE)
        at_ok = _np(pc.is_valid(at), False).astype(bool) & ~trail
        at_len = _np(pc.utf8_length(pc.struct_field(at, "run")), 0)
        pre = pc.if_else(pa.array(at_ok), pc.struct_field(at, "pre"), trail_pre)
        post = pc.if_else(pa.array(at_ok), pc.struct_field(at, "post"), "")
    else:  # (masked names, addresses, replaced values: no e-mail)
        at_ok, at_len = np.zeros(n, bool), np.zeros(n, np.int64)
        pre, post = trail_pre, pa.array([""] * n, pa.string())
    ok = trail | at_ok
    struct = pa.StructArray.from_arrays([pre, post], fields=list(RUN_FIELDS), mask=pa.array(~ok))
    return struct, np.where(at_ok, at_len, np.where(trail, trail_len, 0)).astype(np.int64)


def view(
    text: pa.Array, kinds: frozenset[int] = ALL_KINDS, weights: np.ndarray | None = None
) -> View:
    """Canonical forms and channel bits of a column rendered as text.

    ``text`` may hold a column's distinct values, with ``weights`` the number
    of rows holding each (see ``infer_scale``); every other output is per value.
    This is the reference, in Arrow kernels; ``watermark_text.view`` computes
    the same from the bytes and is what ``embed`` and the tracer call.
    """
    n = len(text)
    valid = _np(pc.is_valid(text), False).astype(bool)
    kind = np.zeros(n, np.int8)
    bit = np.full(n, -1, np.int8)
    digit = np.zeros(n, np.int64)
    magnitude = np.zeros(n, np.int64)
    neg = np.zeros(n, bool)
    scale = 0
    canon = text

    m = _extract(text, NUM_RE, _NUM_FIELDS, "" if NUMERIC in kinds else None)
    on_grid = _np(pc.is_valid(m), False).astype(bool)
    if on_grid.any():
        ip = pc.struct_field(m, "ip")
        fr = pc.utf8_rtrim(pc.struct_field(m, "fr"), characters="0")
        frac_len = _np(pc.utf8_length(fr), 0).astype(np.int64)
        scale = infer_scale(frac_len[on_grid], None if weights is None else weights[on_grid])
        int_len = _np(pc.utf8_length(ip), 0).astype(np.int64)
        on_grid &= (frac_len <= scale) & (int_len + scale <= 18)
        joined = pc.binary_join_element_wise(ip, pc.utf8_rpad(fr, width=scale, padding="0"), "")
        joined = pc.if_else(pa.array(on_grid), joined, "0")
        magnitude = _np(pc.cast(joined, pa.int64()), 0).astype(np.int64)
        neg = _np(pc.equal(pc.struct_field(m, "sign"), "-"), False).astype(bool) & on_grid
        last = magnitude % 10
        kind[on_grid] = NUMERIC
        carries = on_grid & (last != 0)
        bit[carries] = (magnitude[carries] % 2).astype(np.int8)
        digit[on_grid] = last[on_grid]
        # the decade and the sign, one integer: what embedding never changes
        decade = pc.cast(pa.array((magnitude // 10) * 2 + neg), pa.string())
        canon = pc.if_else(pa.array(on_grid), decade, canon)

    ts, run, canon = text_channels(text, kinds, on_grid, kind, bit, digit, canon)
    canon = pc.if_else(pa.array(valid), canon, pa.scalar(None, pa.string()))
    return View(canon, valid, kind, bit, digit, neg, magnitude, scale, ts, run)


def text_channels(
    text: pa.Array,
    kinds: frozenset[int],
    numeric: np.ndarray,
    kind: np.ndarray,
    bit: np.ndarray,
    digit: np.ndarray,
    canon: pa.Array,
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """The seconds and mask-run channels of the values not ``numeric``: (ts, run, canon).

    Fills ``kind``, ``bit`` and ``digit`` in place for the values it finds,
    and returns ``canon`` with their canonical forms put in.
    """
    ts = _extract(text, TS_RE, TS_FIELDS, ":" if SECONDS in kinds else None)
    is_ts = _np(pc.is_valid(ts), False).astype(bool) & ~numeric
    if is_ts.any():
        sec = np.where(is_ts, _np(pc.cast(pc.struct_field(ts, "sec"), pa.int64()), 0), 0)
        kind[is_ts] = SECONDS
        carries = is_ts & (sec != 0)
        bit[carries] = (sec[carries] % 2).astype(np.int8)
        digit[is_ts] = sec[is_ts]
        canon = pc.if_else(pa.array(is_ts), pc.struct_field(ts, "head"), canon)

    run, run_len = _runs(text, RUN in kinds)
    is_run = _np(pc.is_valid(run), False).astype(bool) & ~numeric & ~is_ts
    if is_run.any():
        kind[is_run] = RUN
        bit[is_run] = (run_len[is_run] % 2 == 0).astype(np.int8)
        digit[is_run] = run_len[is_run]
        stripped = pc.binary_join_element_wise(
            pc.struct_field(run, "pre"), pc.struct_field(run, "post"), "*"
        )
        canon = pc.if_else(pa.array(is_run), stripped, canon)
    return ts, run, canon
