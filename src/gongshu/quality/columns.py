"""What one Arrow column of the fast path says, in numpy (QUA-1): ``vector``'s tools.

An ID column's values of the common width (18 bytes) are viewed as an (n, 18) uint8
matrix, and one float32 matrix product per BLAS_ROWS rows gives, per row, the weighted
GB 11643 check sum, the region prefix, the year, the month and day, and the digits for
the 17-digit number (each below 2^24 for digits, so exact). Tables indexed by those
numbers answer the region (GB/T 2260), the date (a real day from 1900 to ``today``) and
the check character. The uniqueness key of an ID is an int64 (17 digits, then the last
character). Gender values become their position in GENDERS; dates, days since 1970.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.identifiers import ID_CHECK, ID_WEIGHTS, _region_array
from gongshu.quality.rules import GENDER_SETS

GENDERS = (*GENDER_SETS["男"], *GENDER_SETS["女"])  # code 1-3 male, 4-6 female, 0 neither
GENDER_VALUES = pa.array([None, *GENDERS], pa.string())
DAY_ZERO = dt.date(1970, 1, 1)
BIRTH_RANGE = (dt.date(1800, 1, 1), dt.date(2199, 12, 31))  # other dates: the SQL decides

# One float32 matrix product over the 18 digits of an ID (d - 48, so every column is
# below 2^24 and exact): the GB 11643 weighted sum, the 6-digit region, the year, the
# month and day, and digits 7-12 and 13-17 (for the 17-digit number).
_W = np.zeros((18, 6), dtype=np.float32)
_W[:17, 0] = ID_WEIGHTS * 256  # the weighted sum s, times 256, plus the last digit's value
_W[17, 0] = 1
_W[:6, 1] = 10.0 ** np.arange(5, -1, -1)
_W[6:10, 2] = 10.0 ** np.arange(3, -1, -1)
_W[10:14, 3] = 10.0 ** np.arange(3, -1, -1)
_W[6:12, 4] = 10.0 ** np.arange(5, -1, -1)
_W[12:17, 5] = 10.0 ** np.arange(4, -1, -1)
# Products of at most this many rows: OpenBLAS then stays on the calling thread (above
# about 2,400 rows of this shape it starts its own threads, which spin and take the
# cores from the batch workers and DuckDB); the chunk also stays in cache.
BLAS_ROWS = 1024
# The check character is right for (weighted sum s, last byte b) iff
# _CHECK_OK[s * 256 + b - 48] (b - 48: 0-9 for a digit, 40 for X; the last entry is False).
_CHECK_OK = np.zeros(901 * 256 + 1, dtype=bool)
_SUMS = np.arange(901)
_CHECK_OK[_SUMS * 256 + np.frombuffer(ID_CHECK.encode(), np.uint8)[_SUMS % 11] - 48] = True


@lru_cache(maxsize=1)
def regions() -> np.ndarray:
    """GB/T 2260 by 6-digit prefix: the codes the SQL's ENUM ``gs_region`` holds."""
    out = np.zeros(1_000_001, dtype=bool)  # the last entry catches clipped junk
    out[[c for c in _region_array().tolist() if len(str(c)) == 6]] = True
    out.setflags(write=False)  # shared by every evaluation
    return out


def _ymd(days: np.ndarray) -> np.ndarray:
    """Days since 1970 as yyyymmdd (int32)."""
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return (y * 10000 + m * 100 + (d - d.astype("datetime64[M]")).astype(np.int64) + 1).astype(
        np.int32
    )


@lru_cache(maxsize=1)
def births() -> tuple[int, np.ndarray]:
    """yyyymmdd of the days in BIRTH_RANGE, from the first one's day number."""
    lo, hi = ((d - DAY_ZERO).days for d in BIRTH_RANGE)
    ymd = _ymd(np.arange(lo, hi + 1))
    ymd.setflags(write=False)
    return lo, ymd


@lru_cache(maxsize=4)
def dates(today: dt.date) -> np.ndarray:
    """A real day from 1900-01-01 to ``today``, indexed by yyyymmdd - 19000000 (the
    first and last entries are False, so clipped junk fails)."""
    lo, hi = (dt.date(1900, 1, 1) - DAY_ZERO).days, (today - DAY_ZERO).days
    ymd = _ymd(np.arange(lo, hi + 1))
    out = np.zeros(today.year * 10000 + today.month * 100 + today.day - 19_000_000 + 2, bool)
    out[ymd - 19_000_000] = True
    out.setflags(write=False)
    return out


@dataclass
class IdFacts:
    """What the bytes of an ID column say, per row of a batch."""

    valid: np.ndarray  # not null
    defer: np.ndarray  # 18 bytes but not 17 ASCII digits and a digit or X
    pure: np.ndarray  # 17 ASCII digits and a digit or X
    ok: np.ndarray  # pure and valid GB 11643 (region, date, check character)
    shaped: np.ndarray  # pure and the first digit not 0 (the SQL's x >= 10^16)
    ymd: np.ndarray  # birth date as yyyymmdd (pure rows)
    odd: np.ndarray  # 17th digit odd (pure rows)
    key: np.ndarray  # int64 uniqueness key (pure rows): 17 digits * 64 + last byte - 48


def valid_rows(arr: pa.Array) -> np.ndarray:
    """Not null, per row."""
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=bool)
    return arr.is_valid().to_numpy(zero_copy_only=False)


def strings(arr: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """The array as Arrow string or large_string, its validity and byte lengths."""
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    n = len(arr)
    valid = (
        np.ones(n, dtype=bool)
        if arr.null_count == 0
        else arr.is_valid().to_numpy(zero_copy_only=False)
    )
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset : arr.offset + n + 1]
    return arr, valid, np.diff(offsets)


def matrix(arr: pa.Array, take: np.ndarray, width: int) -> np.ndarray:
    """The values at ``take`` (all ``width`` bytes long) as a (k, width) uint8 matrix."""
    if not take.all():
        arr = arr.filter(pa.array(take))
    k = len(arr)
    if k == 0:
        return np.zeros((0, width), dtype=np.uint8)
    size = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    start = int(np.frombuffer(arr.buffers()[1], dtype=size)[arr.offset])
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[start : start + k * width].reshape(k, width)


def words(flat: np.ndarray, width: int, at: int) -> np.ndarray:
    """Bytes ``at .. at + 7`` of each ``width``-byte row of ``flat`` as one uint64."""
    k = len(flat) // width
    if k == 0:
        return np.zeros(0, dtype=np.uint64)
    return np.ndarray((k,), dtype=np.uint64, buffer=flat, offset=at, strides=(width,))


def id_facts(arr: pa.Array, regions: np.ndarray, dates: np.ndarray) -> IdFacts:
    """The facts of one ID column's values (``regions`` and ``dates``: the lookup tables)."""
    arr, valid, lengths = strings(arr)
    n = len(arr)
    take = valid & (lengths == 18)
    m = matrix(arr, take, 18)
    d = m - np.uint8(48)
    bad = d > 9
    last = m[:, 17]
    bad[:, 17] &= last != 88  # X is a good last character
    flat = bad.reshape(-1)
    pure_k = (words(flat, 18, 0) | words(flat, 18, 8) | words(flat, 18, 10)) == 0
    product = np.empty((len(d), _W.shape[1]), dtype=np.float32)
    for i in range(0, len(d), BLAS_ROWS):
        np.matmul(d[i : i + BLAS_ROWS].astype(np.float32), _W, out=product[i : i + BLAS_ROWS])
    s, region, year, mday, mid, tail = product.astype(np.int32).T
    ymd = year * 10000 + mday
    shaped = pure_k & (region >= 100000)
    ok_k = (
        shaped
        & np.take(regions, region, mode="clip")
        & np.take(dates, ymd - 19_000_000, mode="clip")
        & np.take(_CHECK_OK, s, mode="clip")
    )
    key = region.astype(np.int64)  # 17 digits * 64 + last byte - 48, in place
    key *= 1_000_000
    key += mid
    key *= 100_000
    key += tail
    key *= 64
    key += last
    key -= 48

    def spread(values: np.ndarray) -> np.ndarray:
        if len(values) == n:
            return values
        out = np.zeros(n, dtype=values.dtype)
        out[take] = values
        return out

    pure = spread(pure_k)
    return IdFacts(
        valid=valid,
        defer=take & ~pure,
        pure=pure,
        ok=spread(ok_k),
        shaped=spread(shaped),
        ymd=spread(ymd),
        odd=spread((tail & 1) == 1),
        key=spread(key),
    )


def gender_codes(arr: pa.Array) -> np.ndarray:
    """Per row, the 1-based position of a gender value in GENDERS, 0 for another value
    or null: DuckDB's ``derived`` column as it is, or the column itself (a dictionary's
    values are looked up once, then indexed)."""
    if pa.types.is_integer(arr.type):  # coalesce(list_position(...), 0): no nulls
        return arr.to_numpy(zero_copy_only=False)
    if pa.types.is_dictionary(arr.type):
        codes = np.take(_dictionary_codes(arr.dictionary), values_of(arr.indices), mode="clip")
        if arr.null_count:
            codes[~arr.is_valid().to_numpy(zero_copy_only=False)] = 0
        return codes
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    found = pc.index_in(arr, value_set=GENDER_VALUES[1:])
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False) + 1


_LAST_DICTIONARY: list[tuple[pa.Array, np.ndarray]] = []


def _dictionary_codes(dictionary: pa.Array) -> np.ndarray:
    """The codes of a dictionary's values, plus a 0 (so never empty, and clipped
    indices under nulls land on it). The slices of a batch share their dictionary, so
    the last one is kept (a compare of a few values instead of a lookup)."""
    last = _LAST_DICTIONARY[-1] if _LAST_DICTIONARY else None
    if last is not None and last[0].equals(dictionary):
        return last[1]
    table = np.append(gender_codes(dictionary), 0)
    _LAST_DICTIONARY[:] = [(dictionary, table)]
    return table


def values_of(arr: pa.Array) -> np.ndarray:
    """A primitive array's values buffer as numpy (whatever is under its nulls)."""
    width = np.dtype(arr.type.to_pandas_dtype())
    return np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset : arr.offset + len(arr)]


def days_of(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A date array as days since 1970 (int32) and its validity."""
    if not pa.types.is_date32(arr.type):
        arr = arr.cast(pa.date32())
    n = len(arr)
    days = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + n]
    valid = (
        np.ones(n, dtype=bool)
        if arr.null_count == 0
        else arr.is_valid().to_numpy(zero_copy_only=False)
    )
    return days, valid
