"""Column classifier: counts from the detectors, then a decision per column.

Two steps, so that a scan can be split across batches, threads or Spark
executors: :func:`count_batch` turns one Arrow record batch into additive
:class:`TableCounts` (no Python per cell), counts merge with ``+``, and
:func:`decide` turns merged counts into a :class:`TableResult`. Values decide
first (checksums, formats, vocabularies); a column's name only lowers the bar
or decides what values cannot (GENDER 1/2 codes, BIRTH_DATE, RELIGION ...).
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.discovery.detectors import (
    DETECTORS,
    ColumnView,
    birth_ymd,
    resident_id_birth,
)
from gongshu.discovery.grading import Rules, default_rules
from gongshu.discovery.names import name_hints

BIRTH_KEYS = ("CN_RESIDENT_ID", "DATE")


@dataclass
class ColumnCounts:
    """Additive evidence for one column."""

    checked: int = 0
    chars: int = 0
    shape: Counter = field(default_factory=Counter)
    valid: Counter = field(default_factory=Counter)
    attributed: Counter = field(default_factory=Counter)
    births: Counter = field(default_factory=Counter)
    minors: Counter = field(default_factory=Counter)

    def __add__(self, other: ColumnCounts) -> ColumnCounts:
        return ColumnCounts(
            self.checked + other.checked,
            self.chars + other.chars,
            *(
                getattr(self, f) + getattr(other, f)
                for f in ("shape", "valid", "attributed", "births", "minors")
            ),
        )


@dataclass
class TableCounts:
    """Additive evidence for one table: rows, per-column counts, and rows where a
    date column equals the birth date inside an ID column (id column, date column)."""

    rows: int = 0
    columns: dict[str, ColumnCounts] = field(default_factory=dict)
    same_birth: Counter = field(default_factory=Counter)

    def __add__(self, other: TableCounts) -> TableCounts:
        cols = dict(self.columns)
        for name, cc in other.columns.items():
            cols[name] = cols[name] + cc if name in cols else cc
        return TableCounts(self.rows + other.rows, cols, self.same_birth + other.same_birth)


@dataclass
class ColumnResult:
    name: str
    entities: list[str]
    sensitive: bool
    evidence: dict[str, dict[str, int]]
    category: str | None = None
    grade: str | None = None
    masking: str | None = None

    def to_dict(self, *, grading: bool = False) -> dict:
        out: dict = {
            "name": self.name,
            "entities": self.entities,
            "sensitive": self.sensitive,
            "evidence": self.evidence,
        }
        if grading:
            out |= {"category": self.category, "grade": self.grade, "masking": self.masking}
        return out


@dataclass
class TableResult:
    rows: int
    minors_under_14: bool
    columns: list[ColumnResult]
    grade: str | None = None
    important_data_candidate: bool = False
    reasons: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnResult:
        return next(c for c in self.columns if c.name == name)


def _minor_cutoff(today: date) -> int:
    """Born after this yyyymmdd means younger than 14 on ``today`` (PIP-1)."""
    day = 28 if (today.month, today.day) == (2, 29) else today.day
    return (today.year - 14) * 10000 + today.month * 100 + day


def _count_column(col: pa.Array, keys: tuple[str, ...] | None, today: date):
    view = ColumnView.of(col, today)
    cc = ColumnCounts()
    nonnull = view.nonnull
    cc.checked = int(nonnull.sum())
    if cc.checked == 0:
        return cc, None, None
    cc.chars = int(view.lengths.sum())
    free = nonnull.copy()
    cutoff = _minor_cutoff(today)
    id_ymd = date_ymd = None
    for det in DETECTORS:
        if keys is not None and det.key not in keys:
            continue
        if det.key == "CN_RESIDENT_ID":
            shape, valid, ymd = resident_id_birth(view)
            id_ymd = np.where(valid, ymd, 0)
        elif det.key == "DATE":
            valid, ymd = birth_ymd(view)
            shape = valid
            date_ymd = np.where(valid, ymd, 0)
        else:
            shape, valid = det.kernel(view)
        shape, valid = shape & nonnull, valid & nonnull
        if det.kind == "text":
            shape, valid = shape & view.texty, valid & view.texty
        cc.shape[det.key] = int(shape.sum())
        if not valid.any():
            continue
        cc.valid[det.key] = int(valid.sum())
        cc.attributed[det.key] = int((valid & free).sum())
        if det.kind in ("strong", "weak", "axis"):
            free &= ~valid
        if det.key in BIRTH_KEYS:
            births = ymd[valid]
            cc.births[det.key] = len(births)
            cc.minors[det.key] = int((births > cutoff).sum())
    return cc, id_ymd, date_ymd


def count_batch(
    batch: pa.RecordBatch | pa.Table,
    *,
    today: date,
    plan: dict[str, tuple[str, ...] | None] | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> TableCounts:
    """Evidence counts for one batch. ``plan`` limits the detectors run per column
    (None: all). Columns run in ``pool`` when given (Arrow kernels release the GIL)."""
    names = list(batch.schema.names)

    def one(name: str):
        keys = None if plan is None else plan.get(name)
        return _count_column(batch.column(name), keys, today)

    results = list(pool.map(one, names)) if pool else [one(n) for n in names]
    counts = TableCounts(batch.num_rows)
    for name, (cc, _, _) in zip(names, results, strict=True):
        counts.columns[name] = cc
    for id_name, (_, id_ymd, _) in zip(names, results, strict=True):
        if id_ymd is None or not id_ymd.any():
            continue
        for date_name, (_, _, date_ymd) in zip(names, results, strict=True):
            if date_ymd is not None and date_name != id_name:
                same = int(((id_ymd == date_ymd) & (id_ymd > 0)).sum())
                if same:
                    counts.same_birth[(id_name, date_name)] += same
    return counts


def plan_from(counts: TableCounts) -> dict[str, tuple[str, ...] | None]:
    """Detectors worth running on the rest of a table, judged on its head: those that
    reach a third of the bar :func:`_decide_column` sets for them (so a column whose
    mix shifts by less than that along the file is decided as if fully scanned).
    Columns that were empty in the head keep every detector."""
    plan: dict[str, tuple[str, ...] | None] = {}
    for name, cc in counts.columns.items():
        if cc.checked == 0:
            plan[name] = None
            continue
        hints = name_hints(name)
        text = _whole_share(cc) < 0.5
        keep = []
        for d in DETECTORS:
            attributed, valid = cc.attributed[d.key], cc.valid[d.key]
            share = attributed / cc.checked
            if d.kind == "strong":
                ok = share >= 0.1 / 3 and valid / max(cc.shape[d.key], 1) >= 0.7 / 3
            elif d.kind == "axis":
                ok = share >= 0.5 / 3
            elif d.kind == "weak":
                ok = share >= 0.3 / 3
            elif d.kind == "hint":
                ok = d.entity in hints and share >= 0.5 / 3
            else:
                ok = text and valid >= max(1, 0.02 / 3 * cc.checked)
            if ok and valid:
                keep.append(d.key)
        plan[name] = tuple(keep)
    return plan


def _whole_share(cc: ColumnCounts) -> float:
    whole = sum(cc.attributed[d.key] for d in DETECTORS if d.kind in ("strong", "weak", "axis"))
    return whole / cc.checked if cc.checked else 0.0


def decide(
    counts: TableCounts,
    *,
    distinct: dict[str, int] | None = None,
    rules: Rules | None = None,
) -> TableResult:
    """Entities per column from merged counts; ``distinct`` values per column (from a
    sample) guard the name detector against low-cardinality code columns."""
    rules = rules or default_rules()
    distinct = distinct or {}
    decided: dict[str, dict[str, int]] = {}
    axes: dict[str, set[str]] = {}
    for name, cc in counts.columns.items():
        decided[name], axes[name] = _decide_column(name, cc, distinct.get(name))
    lng = [n for n, a in axes.items() if "GEO_LNG" in a]
    lat = [n for n, a in axes.items() if "GEO_LAT" in a]
    for name, a in axes.items():
        hinted = "GEO_COORDINATE" in name_hints(name)
        if a and (hinted or (lng and lat)):
            key = "GEO_LNG" if "GEO_LNG" in a else "GEO_LAT"
            decided[name]["GEO_COORDINATE"] = counts.columns[name].valid[key]
    # a date column that repeats the birth date inside an ID number is a birth date
    for (_id_col, date_col), same in counts.same_birth.items():
        dates = counts.columns[date_col].valid["DATE"]
        if "CN_RESIDENT_ID" in decided[_id_col] and dates and same / dates >= 0.5:
            decided[date_col]["BIRTH_DATE"] = dates
    births = minors = 0
    for name, found in decided.items():
        cc = counts.columns[name]
        for key, entity in (("CN_RESIDENT_ID", "CN_RESIDENT_ID"), ("DATE", "BIRTH_DATE")):
            if entity in found:
                births += cc.births[key]
                minors += cc.minors[key]
    minors_flag = births > 0 and minors / births >= rules.minors_share
    columns = []
    for name, found in decided.items():
        entities = sorted(found)
        sensitive = minors_flag or any(rules.is_sensitive(e) for e in entities)
        checked = counts.columns[name].checked
        evidence = {e: {"matched": found[e], "checked": checked} for e in entities}
        columns.append(ColumnResult(name, entities, sensitive, evidence))
    return TableResult(counts.rows, minors_flag, columns)


def _decide_column(name: str, cc: ColumnCounts, distinct: int | None):
    found: dict[str, int] = {}
    axes: set[str] = set()
    if cc.checked == 0:
        return found, axes
    hints = name_hints(name)
    text_like = _whole_share(cc) < 0.5

    def accept(entity: str, matched: int) -> None:
        found[entity] = max(found.get(entity, 0), matched)

    for det in DETECTORS:
        valid, attributed = cc.valid[det.key], cc.attributed[det.key]
        if not valid:
            continue
        share = attributed / cc.checked
        hinted = det.entity in hints
        if det.kind == "strong":
            pure = valid / max(cc.shape[det.key], 1)
            if pure >= 0.7 and attributed >= max(2, 0.1 * cc.checked):
                accept(det.entity, valid)
        elif det.kind == "axis":
            if share >= 0.8 or (hinted and share >= 0.5):
                axes.add(det.key)
        elif det.kind == "weak":
            if share >= det.threshold or (hinted and share >= 0.3):
                if det.key == "PERSON_NAME" and distinct is not None:
                    if distinct < min(20, 0.5 * cc.checked):
                        continue
                accept(det.entity, valid)
        elif det.kind == "hint":
            if hinted and share >= 0.5 and not found:
                accept(det.entity, valid)
        elif det.kind == "text":
            if text_like and valid >= max(2, 0.02 * cc.checked):
                accept(det.entity, valid)
    return found, axes


def distinct_counts(table: pa.Table | pa.RecordBatch) -> dict[str, int]:
    """Distinct non-null values per column of a sample."""
    return {
        name: int(pc.count_distinct(table.column(name), mode="only_valid").as_py())
        for name in table.schema.names
    }


def classify_table(
    batch_or_table: pa.RecordBatch | pa.Table, *, today: date, rules: Rules | None = None
) -> TableResult:
    """Classify every column of an in-memory table (a sample or a whole table)."""
    rules = rules or default_rules()
    if isinstance(batch_or_table, pa.Table):
        batch_or_table = batch_or_table.combine_chunks()
    counts = count_batch(batch_or_table, today=today)
    result = decide(counts, distinct=distinct_counts(batch_or_table), rules=rules)
    rules.grade(result)
    return result
