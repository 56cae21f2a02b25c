"""Identifier rules in numpy over Arrow batches (QUA-1): the engine's fast path.

The SQL of ``rules`` spends most of a run on per-character work (the 17-digit weighted
GB 11643 sum, casts, the mobile regular expression) and the uniqueness GROUP BY. Here
the same rules read the strings' bytes: the values of a batch that have the common
width (18 bytes for a resident ID, 11 for a mobile number) are viewed as an (n, width)
uint8 matrix, and one float64 matrix product gives, per row, the weighted check sum,
the region prefix, the birth date and the 17-digit number (all integers below 2^53,
so exact). Tables indexed by those numbers answer the region (GB/T 2260), the date
(a real day from 1900 to ``today``) and the check character. The uniqueness key of an
ID is an int64 (17 digits, then the last character), counted with one sort.

The results are the SQL's, by construction where the byte tests do not reach: a
value of the right width that is not 17 ASCII digits and a digit or X (an ID), a
mobile number of another width, a birth date outside 1800-2199, is *deferred*: the
engine runs the rule's own SQL over those rows alone (``Part.deferred``). Everything
else the SQL would also decide from the same digits; tests/quality/test_vector.py
compares both paths on planted errors of every kind.

No module here reads stored data: the engine fetches the batches through
``datasets.storage`` and hands them over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.identifiers import ID_CHECK, ID_WEIGHTS, _region_array
from gongshu.quality.rules import EXAMPLES, GENDER_SETS, lit, q

RESIDENT = "expect_column_values_to_be_valid_resident_id"
BIRTH = "expect_resident_id_to_match_birth_date"
GENDER = "expect_resident_id_to_match_gender"
ENTITY = "expect_column_values_to_match_entity"
UNIQUE = "expect_column_values_to_be_unique"
ID_RULES = (RESIDENT, BIRTH, GENDER)
GENDERS = (*GENDER_SETS["男"], *GENDER_SETS["女"])  # code 1-3 male, 4-6 female, 0 neither
_GENDER_VALUES = pa.array([None, *GENDERS], pa.string())
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
def _regions() -> np.ndarray:
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
def _births() -> tuple[int, np.ndarray]:
    """yyyymmdd of the days in BIRTH_RANGE, from the first one's day number."""
    lo, hi = ((d - DAY_ZERO).days for d in BIRTH_RANGE)
    ymd = _ymd(np.arange(lo, hi + 1))
    ymd.setflags(write=False)
    return lo, ymd


@lru_cache(maxsize=4)
def _dates(today: dt.date) -> np.ndarray:
    """A real day from 1900-01-01 to ``today``, indexed by yyyymmdd - 19000000 (the
    first and last entries are False, so clipped junk fails)."""
    lo, hi = (dt.date(1900, 1, 1) - DAY_ZERO).days, (today - DAY_ZERO).days
    ymd = _ymd(np.arange(lo, hi + 1))
    out = np.zeros(today.year * 10000 + today.month * 100 + today.day - 19_000_000 + 2, bool)
    out[ymd - 19_000_000] = True
    out.setflags(write=False)
    return out


@dataclass
class Part:
    """One batch's share: per rule id checked / failed / first failing rows; the rows
    the SQL must decide (with a ``gs_defer_<i>`` flag per rule); uniqueness material:
    the int64 keys of the IDs and the other values, with their rows (in file order)."""

    checked: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict]] = field(default_factory=dict)
    deferred: pa.RecordBatch | None = None
    keys: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    others: dict[str, tuple[pa.Array, np.ndarray]] = field(default_factory=dict)


@dataclass
class _Id:
    """What the bytes of an ID column say, per row of a batch."""

    valid: np.ndarray  # not null
    defer: np.ndarray  # 18 bytes but not 17 ASCII digits and a digit or X
    pure: np.ndarray  # 17 ASCII digits and a digit or X
    ok: np.ndarray  # pure and valid GB 11643 (region, date, check character)
    shaped: np.ndarray  # pure and the first digit not 0 (the SQL's x >= 10^16)
    ymd: np.ndarray  # birth date as yyyymmdd (pure rows)
    odd: np.ndarray  # 17th digit odd (pure rows)
    key: np.ndarray  # int64 uniqueness key (pure rows): 17 digits * 64 + last byte - 48


class Checks:
    """The rules the fast path decides for one evaluation, and what it fetches: the
    raw ``columns`` (IDs, mobile numbers, birth dates) and, per gender column, which
    of the GENDERS it holds (``derived``: alias -> SQL; the value is then known)."""

    def __init__(
        self,
        rules: list[dict],
        types: dict[str, str],
        today: dt.date,
        mobile_prefixes: np.ndarray | None,
    ) -> None:
        def is_(col: object, t: str) -> bool:
            return types.get(str(col)) == t

        self.rules: list[dict] = []
        for r in rules:
            exp, col = r["expectation"], r.get("column")
            if (
                (exp == RESIDENT and is_(col, "VARCHAR"))
                or (exp == BIRTH and is_(col, "VARCHAR") and is_(r.get("birth_column"), "DATE"))
                or (
                    exp == GENDER and is_(col, "VARCHAR") and is_(r.get("gender_column"), "VARCHAR")
                )
                or (
                    exp == ENTITY
                    and r.get("entity") == "CN_MOBILE"
                    and mobile_prefixes is not None
                    and is_(col, "VARCHAR")
                )
            ):
                self.rules.append(r)
        id_cols = [r["column"] for r in self.rules if r["expectation"] in ID_RULES]
        self.id_columns = list(dict.fromkeys(id_cols))
        self.uniques = [r for r in rules if r["expectation"] == UNIQUE and r["column"] in id_cols]
        cols = [r.get(k) for r in self.rules for k in ("column", "birth_column")]
        self.columns = [c for c in dict.fromkeys(cols) if c]
        genders = [r["gender_column"] for r in self.rules if r["expectation"] == GENDER]
        self.genders = {g: f"gs_gender_{i}" for i, g in enumerate(dict.fromkeys(genders))}
        values = ", ".join(lit(v) for v in GENDERS)
        self.derived = {
            alias: f"coalesce(list_position([{values}], {q(g)}), 0)"
            for g, alias in self.genders.items()
        }
        self.ids = {r["id"] for r in self.rules + self.uniques}
        self.mobile_prefixes = mobile_prefixes
        self.regions = _regions()
        self.dates = _dates(today)
        self.birth_lo, self.birth_ymd = _births()

    # ------------------------------------------------------------ one batch

    def batch(self, start: int, batch: pa.RecordBatch) -> Part:
        """Rows ``start ..`` of the version (the fetch keeps the file order)."""
        part = Part()
        n = batch.num_rows
        rows = np.arange(start, start + n, dtype=np.int64)
        ids = {c: _id_facts(batch.column(c), self) for c in self.id_columns}
        names = batch.schema.names
        codes = {g: _codes(batch.column(a if a in names else g)) for g, a in self.genders.items()}

        def column(name: str) -> pa.Array:
            if name in codes:  # the gender value, from its position in GENDERS
                return _GENDER_VALUES.take(pa.array(codes[name]))
            return _raw(batch, name)

        defer_flags: dict[str, np.ndarray] = {}
        for i, rule in enumerate(self.rules):
            exp, c = rule["expectation"], rule["column"]
            if exp == ENTITY:
                checked, fail, defer = self._mobile(batch.column(c))
                shown = (c,)
            elif exp == RESIDENT:
                f = ids[c]
                checked, defer, shown = f.valid & ~f.defer, f.defer, (c,)
                fail = checked & ~f.ok
            elif exp == BIRTH:
                f = ids[c]
                b = rule["birth_column"]
                days, known = _days(batch.column(b))
                at = days - self.birth_lo
                inside = (at >= 0) & (at < len(self.birth_ymd))
                checked = f.shaped & known
                defer = f.defer | (checked & ~inside)  # a date the table does not hold: SQL
                checked &= inside
                ymd = np.take(self.birth_ymd, at, mode="clip")
                fail = checked & (ymd != f.ymd)
                shown = (c, b)
            else:
                f = ids[c]
                g = rule["gender_column"]
                code = codes[g]
                checked = f.shaped & (code > 0)
                fail = checked & (f.odd != (code <= len(GENDER_SETS["男"])))
                defer, shown = f.defer, (c, g)
            rid = rule["id"]
            part.checked[rid] = int(np.count_nonzero(checked))
            part.failed[rid] = int(np.count_nonzero(fail))
            part.examples[rid] = _examples(column, start, fail, tuple(dict.fromkeys(shown)))
            defer_flags[f"gs_defer_{i}"] = defer
        any_defer = np.logical_or.reduce([*defer_flags.values(), np.zeros(n, bool)])
        if any_defer.any():
            keep = pa.array(any_defer)
            names = [*self.columns, *(g for g in self.genders if g not in self.columns)]
            arrays = [pa.array(rows[any_defer])]
            arrays += [column(c).filter(keep) for c in names]
            arrays += [pa.array(v[any_defer]) for v in defer_flags.values()]
            part.deferred = pa.RecordBatch.from_arrays(
                arrays, names=["file_row_number", *names, *defer_flags]
            )
        for rule in self.uniques:
            f = ids[rule["column"]]
            keys, at = (f.key, rows) if f.pure.all() else (f.key[f.pure], rows[f.pure])
            part.keys[rule["id"]] = (keys, at)
            other = f.valid & ~f.pure
            if other.any():
                part.others[rule["id"]] = (
                    _raw(batch, rule["column"]).filter(pa.array(other)),
                    rows[other],
                )
        return part

    def _mobile(self, arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CN_MOBILE: an 11-byte value matches iff it is 11 ASCII digits whose first three
        the pattern allows (``mobile_prefixes``); other widths are deferred."""
        arr, valid, lengths = _strings(arr)
        take = valid & (lengths == 11)
        ok = np.zeros(len(arr), dtype=bool)
        m = _matrix(arr, take, 11)
        if len(m):
            d = m - np.uint8(48)
            bad = (d > 9).reshape(-1)
            digits = (_words(bad, 11, 0) | _words(bad, 11, 3)) == 0
            p3 = d[:, 0].astype(np.int16) * 100 + d[:, 1] * np.int16(10) + d[:, 2]
            good = digits & np.take(self.mobile_prefixes, p3, mode="clip")
            if len(good) == len(ok):
                ok = good
            else:
                ok[take] = good
        return take, take & ~ok, valid & ~take


def _raw(batch: pa.RecordBatch, name: str) -> pa.Array:
    """A column to take or filter rows from (Arrow has no such kernels for string views)."""
    arr = batch.column(name)
    return arr.cast(pa.string()) if pa.types.is_string_view(arr.type) else arr


def _strings(arr: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
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


def _matrix(arr: pa.Array, take: np.ndarray, width: int) -> np.ndarray:
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


def _words(flat: np.ndarray, width: int, at: int) -> np.ndarray:
    """Bytes ``at .. at + 7`` of each ``width``-byte row of ``flat`` as one uint64."""
    k = len(flat) // width
    if k == 0:
        return np.zeros(0, dtype=np.uint64)
    return np.ndarray((k,), dtype=np.uint64, buffer=flat, offset=at, strides=(width,))


def _id_facts(arr: pa.Array, checks: Checks) -> _Id:
    arr, valid, lengths = _strings(arr)
    n = len(arr)
    take = valid & (lengths == 18)
    m = _matrix(arr, take, 18)
    d = m - np.uint8(48)
    bad = d > 9
    last = m[:, 17]
    bad[:, 17] &= last != 88  # X is a good last character
    flat = bad.reshape(-1)
    pure_k = (_words(flat, 18, 0) | _words(flat, 18, 8) | _words(flat, 18, 10)) == 0
    product = np.empty((len(d), _W.shape[1]), dtype=np.float32)
    for i in range(0, len(d), BLAS_ROWS):
        np.matmul(d[i : i + BLAS_ROWS].astype(np.float32), _W, out=product[i : i + BLAS_ROWS])
    s, region, year, mday, mid, tail = product.astype(np.int32).T
    ymd = year * 10000 + mday
    shaped = pure_k & (region >= 100000)
    ok_k = (
        shaped
        & np.take(checks.regions, region, mode="clip")
        & np.take(checks.dates, ymd - 19_000_000, mode="clip")
        & np.take(_CHECK_OK, s, mode="clip")
    )
    key = ((region.astype(np.int64) * 1_000_000 + mid) * 100_000 + tail) * 64 + last - 48

    def spread(values: np.ndarray) -> np.ndarray:
        if len(values) == n:
            return values
        out = np.zeros(n, dtype=values.dtype)
        out[take] = values
        return out

    pure = spread(pure_k)
    return _Id(
        valid=valid,
        defer=take & ~pure,
        pure=pure,
        ok=spread(ok_k),
        shaped=spread(shaped),
        ymd=spread(ymd),
        odd=spread((tail & 1) == 1),
        key=spread(key),
    )


def _codes(arr: pa.Array) -> np.ndarray:
    """Per row, the 1-based position of a gender value in GENDERS, 0 for another value
    or null: DuckDB's ``derived`` column as it is, or the column itself (a dictionary's
    values are looked up once, then indexed)."""
    if pa.types.is_integer(arr.type):  # coalesce(list_position(...), 0): no nulls
        return arr.to_numpy(zero_copy_only=False)
    if pa.types.is_dictionary(arr.type):
        table = np.append(_codes(arr.dictionary), 0)  # not empty (all null), and clipped
        codes = np.take(table, _values(arr.indices), mode="clip")
        if arr.null_count:
            codes[~arr.is_valid().to_numpy(zero_copy_only=False)] = 0
        return codes
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    found = pc.index_in(arr, value_set=_GENDER_VALUES[1:])
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False) + 1


def _values(arr: pa.Array) -> np.ndarray:
    """A primitive array's values buffer as numpy (whatever is under its nulls)."""
    width = np.dtype(arr.type.to_pandas_dtype())
    return np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset : arr.offset + len(arr)]


def _days(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
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


def _examples(
    column: Callable[[str], pa.Array], start: int, fail: np.ndarray, shown: tuple[str, ...]
) -> list[dict]:
    """The first EXAMPLES failing rows of the batch (positions are in file order)."""
    idx = np.flatnonzero(fail)[:EXAMPLES]
    if not len(idx):
        return []
    pick = pa.array(idx)
    values = {c: column(c).take(pick).to_pylist() for c in shown}
    return [
        {"gs_row": start + int(j), **{c: values[c][k] for c in shown}} for k, j in enumerate(idx)
    ]
