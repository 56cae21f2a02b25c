"""What leakers do to a delivered table before passing it on (watermark tests and benchmark).

Each function takes the delivered table (typed, as the door wrote it) and a
seed, and returns the leaked table. ``sample_rows``, ``alter_values`` and
``csv_to_xlsx`` are in ``test_watermark``.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def subset(t: pa.Table, share: float, seed: int) -> pa.Table:
    """A random ``share`` of the rows, in the order they were delivered."""
    r = np.random.default_rng(seed)
    keep = np.sort(r.choice(t.num_rows, max(1, int(t.num_rows * share)), replace=False))
    return t.take(pa.array(keep))


def shuffle(t: pa.Table, seed: int) -> pa.Table:
    """Rows and columns in a random order."""
    r = np.random.default_rng(seed)
    cols = list(r.permutation(t.column_names))
    return t.select(cols).take(pa.array(r.permutation(t.num_rows)))


_NUMBER = re.compile(r"^-?\d+\.\d+$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?)?$")


def _spreadsheet(v: str | None) -> str | None:
    if v is None:
        return None
    if _NUMBER.match(v):
        return f"{round(float(v), 2):.2f}".rstrip("0").rstrip(".")
    m = _DATE.match(v)
    if m:
        y, mo, d, hh, mm = m.groups()
        date = f"{y}/{int(mo)}/{int(d)}"
        return date if hh is None else f"{date} {int(hh)}:{mm}"
    return v


def spreadsheet(t: pa.Table) -> pa.Table:
    """Numbers rounded to 2 decimals, dates and times rewritten as a spreadsheet saves them
    (``1997/5/10``, ``2024/3/5 8:07``: no seconds); everything as text, as in its CSV."""
    cols = []
    for col in t.columns:
        text = pc.cast(col, pa.string()).to_pylist()
        cols.append(pa.array([_spreadsheet(v) for v in text], pa.string()))
    return pa.table(cols, names=t.column_names)


def merge(a: pa.Table, b: pa.Table, seed: int, key: str = "_id") -> pa.Table:
    """Two recipients' copies of the same rows merged: each row from one copy or the other
    (half from each, chosen at random), in the order of ``a`` (rows matched by ``key``)."""
    r = np.random.default_rng(seed)
    ids = a.column(key).to_numpy()
    from_a = r.random(len(ids)) < 0.5
    at_b = {v: i for i, v in enumerate(b.column(key).to_pylist())}
    rows_b = np.array([at_b[v] for v in ids[~from_a].tolist()], np.int64)
    parts = [
        a.take(pa.array(np.flatnonzero(from_a))).append_column(
            "_at", pa.array(np.flatnonzero(from_a))
        ),
        b.take(pa.array(rows_b)).append_column("_at", pa.array(np.flatnonzero(~from_a))),
    ]
    both = pa.concat_tables(parts)
    return both.take(pc.sort_indices(both.column("_at"))).drop_columns(["_at"])
