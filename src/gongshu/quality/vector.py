"""Identifier rules in numpy over Arrow batches (QUA-1): the engine's fast path.

The SQL of ``rules`` spends most of a run on per-character work (the 17-digit weighted
GB 11643 sum, casts, the mobile regular expression) and the uniqueness GROUP BY. Here
the same rules read the strings' bytes (``columns``: an ID column as an (n, 18) byte
matrix and one float32 matrix product, lookup tables for region, date and check
character; a mobile number as an (n, 11) one); the ID keys are counted by ``unique``.
A code-set rule over the gender codes on a gender column fetched as stored is decided
here too.

The results are the SQL's, by construction where the byte tests do not reach: a
value of the right width that is not 17 ASCII digits and a digit or X (an ID), a
mobile number of another width, a birth date outside 1800-2199, is *deferred*: the
engine runs the rule's own SQL over those rows alone (``Part.deferred``). Everything
else the SQL would also decide from the same digits; tests/quality/test_vector.py
compares both paths on planted errors of every kind.

No module here reads stored data: the engine fetches the batches (pyarrow for a plain
file, DuckDB over ``gongshu.storage`` for a version with sealed columns) and hands
them over.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from gongshu.quality import columns
from gongshu.quality.columns import GENDER_VALUES, GENDERS
from gongshu.quality.rules import EXAMPLES, GENDER_SETS
from gongshu.quality.sql import lit, q

RESIDENT = "expect_column_values_to_be_valid_resident_id"
BIRTH = "expect_resident_id_to_match_birth_date"
GENDER = "expect_resident_id_to_match_gender"
ENTITY = "expect_column_values_to_match_entity"
UNIQUE = "expect_column_values_to_be_unique"
IN_SET = "expect_column_values_to_be_in_set"
ID_RULES = (RESIDENT, BIRTH, GENDER)


@dataclass
class Part:
    """One batch's share: per rule id checked / failed / first failing rows; the rows
    the SQL must decide (with a ``gs_defer_<i>`` flag per rule); uniqueness material:
    the int64 keys of the IDs and the other values, with their rows (in file order)."""

    checked: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict]] = field(default_factory=dict)
    deferred: pa.RecordBatch | None = None
    keys: dict[str, tuple[np.ndarray, int, np.ndarray | None]] = field(default_factory=dict)
    others: dict[str, tuple[pa.Array, np.ndarray]] = field(default_factory=dict)


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
        *,
        raw_genders: bool = False,
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
        # With the gender columns fetched as they are (``raw_genders``: a plain file read
        # by pyarrow), a code-set rule over GENDERS on one is decided here as well, from
        # the same codes, and DuckDB need not read the column again.
        self.raw_genders = raw_genders
        self.in_sets: dict[str, np.ndarray] = {}
        for r in rules if raw_genders else []:
            values = [str(v) for v in r.get("value_set") or ()]
            if r["expectation"] == IN_SET and r["column"] in self.genders:
                if values and set(values) <= set(GENDERS):
                    allowed = np.zeros(len(GENDERS) + 1, dtype=bool)  # by code: 0 is other
                    allowed[[GENDERS.index(v) + 1 for v in values]] = True
                    self.in_sets[r["id"]] = allowed
                    self.rules.append(r)
        self.ids = {r["id"] for r in self.rules + self.uniques}
        self.mobile_prefixes = mobile_prefixes
        self.regions = columns.regions()
        self.dates = columns.dates(today)
        self.birth_lo, self.birth_ymd = columns.births()

    # ------------------------------------------------------------ one batch

    def batch(self, start: int, batch: pa.RecordBatch) -> Part:
        """Rows ``start ..`` of the version (the fetch keeps the file order)."""
        part = Part()
        n = batch.num_rows
        ids = {
            c: columns.id_facts(batch.column(c), self.regions, self.dates) for c in self.id_columns
        }
        names = batch.schema.names
        codes = {
            g: columns.gender_codes(batch.column(a if a in names else g))
            for g, a in self.genders.items()
        }

        def column(name: str) -> pa.Array:
            if name in codes and not self.raw_genders:  # the value, from its position
                return GENDER_VALUES.take(pa.array(codes[name]))
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
                days, known = columns.days_of(batch.column(b))
                at = days - self.birth_lo
                inside = (at >= 0) & (at < len(self.birth_ymd))
                checked = f.shaped & known
                defer = f.defer | (checked & ~inside)  # a date the table does not hold: SQL
                checked &= inside
                ymd = np.take(self.birth_ymd, at, mode="clip")
                fail = checked & (ymd != f.ymd)
                shown = (c, b)
            elif exp == IN_SET:
                checked = columns.valid_rows(batch.column(c))
                fail = checked & ~np.take(self.in_sets[rule["id"]], codes[c])
                defer, shown = np.zeros(n, dtype=bool), (c,)
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
            part.examples[rid] = (
                _examples(column, start, fail, tuple(dict.fromkeys(shown)))
                if part.failed[rid]
                else []
            )
            defer_flags[f"gs_defer_{i}"] = defer
        any_defer = np.zeros(n, dtype=bool)
        for defer in defer_flags.values():
            any_defer |= defer
        if any_defer.any():
            keep = pa.array(any_defer)
            names = [*self.columns, *(g for g in self.genders if g not in self.columns)]
            arrays = [pa.array(start + np.flatnonzero(any_defer))]
            arrays += [column(c).filter(keep) for c in names]
            arrays += [pa.array(v[any_defer]) for v in defer_flags.values()]
            part.deferred = pa.RecordBatch.from_arrays(
                arrays, names=["file_row_number", *names, *defer_flags]
            )
        for rule in self.uniques:
            f = ids[rule["column"]]
            if f.pure.all():  # the rows are start, start + 1, ...: not kept (memory)
                part.keys[rule["id"]] = (f.key, start, None)
            else:
                at = np.flatnonzero(f.pure)
                part.keys[rule["id"]] = (f.key[at], start, at)
            other = f.valid & ~f.pure
            if other.any():
                part.others[rule["id"]] = (
                    _raw(batch, rule["column"]).filter(pa.array(other)),
                    start + np.flatnonzero(other),
                )
        return part

    def _mobile(self, arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CN_MOBILE: an 11-byte value matches iff it is 11 ASCII digits whose first three
        the pattern allows (``mobile_prefixes``); other widths are deferred."""
        arr, valid, lengths = columns.strings(arr)
        take = valid & (lengths == 11)
        ok = np.zeros(len(arr), dtype=bool)
        m = columns.matrix(arr, take, 11)
        if len(m):
            d = m - np.uint8(48)
            bad = (d > 9).reshape(-1)
            digits = (columns.words(bad, 11, 0) | columns.words(bad, 11, 3)) == 0
            p3 = d[:, 0].astype(np.int16) * 100 + d[:, 1] * np.int16(10) + d[:, 2]
            good = digits & np.take(self.mobile_prefixes, p3, mode="clip")
            if len(good) == len(ok):
                ok = good
            else:
                ok[take] = good
        return take, take & ~ok, valid & ~take


def _raw(batch: pa.RecordBatch, name: str) -> pa.Array:
    """A column's values to take or filter rows from: string views and dictionaries as
    plain strings (Arrow has no such kernels for views; DuckDB gets the deferred rows)."""
    arr = batch.column(name)
    if pa.types.is_dictionary(arr.type):
        return arr.dictionary_decode()
    return arr.cast(pa.string()) if pa.types.is_string_view(arr.type) else arr


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


def in_threads(
    batches: Iterable[pa.RecordBatch], work: Callable, rows: int, workers: int, in_flight: int
) -> Iterator:
    """``work(start, slice)`` over slices of ``rows`` of the batches on ``workers``
    threads (``start``: the first row's position; the fetch keeps the file order),
    results in order, about ``in_flight`` slices a worker queued at most."""
    with ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        start = 0
        for batch in batches:
            for at in range(0, batch.num_rows, rows):
                pending.append(pool.submit(work, start + at, batch.slice(at, rows)))
            start += batch.num_rows
            while len(pending) > workers * in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
