"""Additive evidence: one Arrow record batch -> :class:`TableCounts` (no Python per cell).

Counts merge with ``+``, so a scan can be split across batches, threads or Spark
executors and still decide exactly as one pass would (``classifier.decide``).
Besides the detectors' counts per column, a batch yields: the leaves of JSON
cells per path (``parts``, counted like columns), how many values read as prose,
rows where a date column repeats the birth date of an ID column, and rows where
two columns joined make one valid ID number (an ID split over two columns).
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.discovery import jsoncells, spans
from gongshu.discovery.checksums import resident_id_birth
from gongshu.discovery.columns import ColumnView, take_where
from gongshu.discovery.detectors import DETECTORS, birth_ymd

BIRTH_KEYS = ("CN_RESIDENT_ID", "DATE")
SLICE_ROWS = 16_384
MAX_DEPTH = 2  # a JSON document stored as a string inside JSON is parsed once more
_COUNTERS = ("shape", "shape_free", "valid", "attributed", "births", "minors")


@dataclass
class ColumnCounts:
    """Additive evidence for one column (or one JSON path of a column)."""

    checked: int = 0
    chars: int = 0
    shape: Counter = field(default_factory=Counter)
    valid: Counter = field(default_factory=Counter)
    attributed: Counter = field(default_factory=Counter)
    births: Counter = field(default_factory=Counter)
    minors: Counter = field(default_factory=Counter)
    shape_free: Counter = field(default_factory=Counter)  # shape of values no earlier rule took
    prose: int = 0
    json: int = 0
    parts: dict[str, ColumnCounts] = field(default_factory=dict)

    def __add__(self, other: ColumnCounts) -> ColumnCounts:
        parts = dict(self.parts)
        for path, cc in other.parts.items():
            parts[path] = parts[path] + cc if path in parts else cc
        out = ColumnCounts(
            self.checked + other.checked,
            self.chars + other.chars,
            prose=self.prose + other.prose,
            json=self.json + other.json,
            parts=parts,
        )
        for f in _COUNTERS:
            setattr(out, f, getattr(self, f) + getattr(other, f))
        return out


@dataclass
class TableCounts:
    """Additive evidence for one table: rows, per-column counts, rows where a date
    column equals the birth date inside an ID column (id column, date column), and
    rows where two columns joined form a valid ID number (first part, second part)."""

    rows: int = 0
    columns: dict[str, ColumnCounts] = field(default_factory=dict)
    same_birth: Counter = field(default_factory=Counter)
    split_id: Counter = field(default_factory=Counter)

    def __add__(self, other: TableCounts) -> TableCounts:
        cols = dict(self.columns)
        for name, cc in other.columns.items():
            cols[name] = cols[name] + cc if name in cols else cc
        return TableCounts(
            self.rows + other.rows,
            cols,
            self.same_birth + other.same_birth,
            self.split_id + other.split_id,
        )


def minor_cutoff(today: date) -> int:
    """Born after this yyyymmdd means younger than 14 on ``today`` (PIP-1)."""
    day = 28 if (today.month, today.day) == (2, 29) else today.day
    return (today.year - 14) * 10000 + today.month * 100 + day


def _restricted(view: ColumnView, rows: np.ndarray) -> tuple[ColumnView, np.ndarray | None]:
    """The view of ``rows`` only (and their positions), or the view itself when all."""
    if rows.all():
        return view, None
    idx, sub = take_where(view.raw, rows)
    return ColumnView(sub, view.today, view.is_binary), idx


def _expand(mask: np.ndarray, idx: np.ndarray | None, n: int, dtype=bool) -> np.ndarray:  # noqa: ANN001
    if idx is None:
        return mask
    out = np.zeros(n, dtype=dtype)
    out[idx] = mask
    return out


def count_column(col: pa.Array, keys: tuple[str, ...] | None, today: date, depth: int = 0):
    """(counts, birth dates of valid IDs, dates, the view) of one column of one batch.

    Whole-value rules read the values that are neither JSON documents nor sentences
    (on a view of those rows only); the text rules read the sentences, the JSON
    leaves are counted per path as columns of their own."""
    view = ColumnView.of(col, today)
    cc = ColumnCounts()
    nonnull = view.nonnull
    n = len(view)
    cc.checked = int(nonnull.sum())
    if cc.checked == 0:
        return cc, None, None, None
    view = jsoncells.unescape(view)
    cc.chars = int(view.lengths.sum())
    cells = np.zeros(n, dtype=bool)
    if depth < MAX_DEPTH:
        cells = jsoncells.json_rows(view) & nonnull
        if cells.any():
            cc.json = int(cells.sum())
            for path, leaves in jsoncells.leaf_columns(view, cells).items():
                cc.parts[path] = count_column(leaves, None, today, depth + 1)[0]
            view.__dict__["texty"] = view.texty & ~cells  # parsed, not read as text
    prose = spans.prose_rows(view) & ~cells
    cc.prose = int(prose.sum())
    texty = view.texty.any()
    wview, widx = _restricted(view, nonnull & ~prose & ~cells)
    free = wview.nonnull.copy()
    cutoff = minor_cutoff(today)
    id_ymd = date_ymd = None
    for det in DETECTORS:
        if keys is not None and det.key not in keys:
            continue
        if det.kind == "text":
            if not texty:
                continue
            shape, valid = det.kernel(view)
            shape, valid = shape & view.texty, valid & view.texty
            cc.shape[det.key] = cc.shape_free[det.key] = int(shape.sum())
            if valid.any():
                cc.valid[det.key] = cc.attributed[det.key] = int(valid.sum())
            continue
        if det.key == "CN_RESIDENT_ID":
            shape, valid, ymd = resident_id_birth(wview)
            id_ymd = _expand(np.where(valid, ymd, 0), widx, n, np.int64)
        elif det.key == "DATE":
            valid, ymd = birth_ymd(wview)
            shape = valid
            date_ymd = _expand(np.where(valid, ymd, 0), widx, n, np.int64)
        else:
            shape, valid = det.kernel(wview)
        shape, valid = shape & wview.nonnull, valid & wview.nonnull
        cc.shape[det.key] = int(shape.sum())
        cc.shape_free[det.key] = int((shape & free).sum())
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
    return cc, id_ymd, date_ymd, view


def _split_ids(names: list[str], views: list[ColumnView | None], counts: TableCounts) -> None:
    """Rows where column a's digits followed by column b's make a valid ID number."""
    parts = {}
    for name, view in zip(names, views, strict=True):
        if view is None:
            continue
        digits = view.match("compact", r"^\d{1,17}X?$")
        if digits.any():
            parts[name] = (view, digits, view.compact_bytes)
    for a, (va, da, la) in parts.items():
        for b, (vb, db, lb) in parts.items():
            rows = da & db & (la + lb == 18) & (la >= 2) if a != b else None
            if rows is None or not rows.any():
                continue
            idx, first = take_where(va.compact, rows)
            second = pc.take(vb.compact, pa.array(idx, pa.int64()))
            joined = pc.binary_join_element_wise(first, second, "")
            _, valid, _ = resident_id_birth(ColumnView(joined, va.today))
            if valid.any():
                counts.split_id[(a, b)] += int(valid.sum())


def count_batch(
    batch: pa.RecordBatch | pa.Table,
    *,
    today: date,
    plan: dict[str, tuple[str, ...] | None] | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> TableCounts:
    """Evidence counts for one batch. ``plan`` limits the detectors run per column
    (None: all). Columns run in ``pool`` when given (Arrow kernels release the GIL);
    a batch with fewer columns than CPUs (a column of letters) runs in slices of rows
    instead. Counts add up, so either split gives the same counts."""
    names = list(batch.schema.names)
    if pool is not None and len(names) < (os.cpu_count() or 1) and batch.num_rows > SLICE_ROWS:
        slices = [batch.slice(i, SLICE_ROWS) for i in range(0, batch.num_rows, SLICE_ROWS)]
        total = TableCounts(0)
        for part in pool.map(lambda b: count_batch(b, today=today, plan=plan), slices):
            total = total + part
        return total

    def one(name: str):
        keys = None if plan is None else plan.get(name)
        return count_column(batch.column(name), keys, today)

    results = list(pool.map(one, names)) if pool else [one(n) for n in names]
    counts = TableCounts(batch.num_rows)
    for name, (cc, _, _, _) in zip(names, results, strict=True):
        counts.columns[name] = cc
    for id_name, (_, id_ymd, _, _) in zip(names, results, strict=True):
        if id_ymd is None or not id_ymd.any():
            continue
        for date_name, (_, _, date_ymd, _) in zip(names, results, strict=True):
            if date_ymd is not None and date_name != id_name:
                same = int(((id_ymd == date_ymd) & (id_ymd > 0)).sum())
                if same:
                    counts.same_birth[(id_name, date_name)] += same
    _split_ids(names, [r[3] for r in results], counts)
    return counts
