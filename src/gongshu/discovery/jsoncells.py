"""JSON cells and escaped text, parsed rather than matched as text (issue 21 item 1).

A cell that holds a JSON document (``{...}`` or ``[...]``) is parsed by DuckDB's
``json_tree`` in one vectorized query per column and batch: every scalar leaf
comes out unescaped (``\\u5f20\\u4e09`` is 张三), with its path: the first five
array positions are kept, later ones folded (``$.phones[0]``, ``$.items[*]``). The
leaves of one path form a sub-column that the classifier counts with every
detector, its last key standing in for a column name (``idCard``, ``phone``,
``姓名``), so a JSON column is decided from what its values prove, path by path.
A leaf that is itself JSON (a document stored as a string) is parsed again, once.
Text with ``\\uXXXX`` escapes outside JSON is unescaped the same way before the
text recognizer reads it.
"""

from __future__ import annotations

import re
import threading

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.discovery.columns import ColumnView, as_bool, take_where

_LOCAL = threading.local()
ESCAPED = r"\\u[0-9A-Fa-f]{4}"
_LEAVES = """
WITH v AS (SELECT j FROM gongshu_json_cells WHERE json_valid(j))
SELECT regexp_replace(t.fullkey, '\\[(?:[5-9]|[1-9][0-9]+)\\]', '[*]', 'g') AS path,
       CASE WHEN t.type = 'VARCHAR' THEN t.value ->> '$' ELSE CAST(t.value AS VARCHAR) END AS v
FROM v, json_tree(v.j) AS t
WHERE t.type NOT IN ('OBJECT', 'ARRAY', 'NULL', 'BOOLEAN')
"""
_UNESCAPE = """
SELECT CASE WHEN json_valid('"' || j || '"') THEN json_extract_string('"' || j || '"', '$')
            ELSE j END AS j
FROM gongshu_json_cells
"""


def _con() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per thread (the classifier runs columns in a pool)."""
    con = getattr(_LOCAL, "con", None)
    if con is None:
        con = _LOCAL.con = duckdb.connect()
    return con


def _query(sql: str, values: pa.Array) -> pa.Table:
    con = _con()
    con.register("gongshu_json_cells", pa.table({"j": values.cast(pa.string())}))
    try:
        return con.sql(sql).to_arrow_table()
    finally:
        con.unregister("gongshu_json_cells")


def json_rows(c: ColumnView) -> np.ndarray:
    """Cells that hold a JSON object or array (first and last character)."""
    key = ("json",)
    if key not in c._cache:
        t = c.trim

        def edge(first: str, last: str) -> np.ndarray:
            return as_bool(pc.starts_with(t, first)) & as_bool(pc.ends_with(t, last))

        c._cache[key] = edge("{", "}") | edge("[", "]")
    return c._cache[key]


def unescape(c: ColumnView) -> ColumnView:
    """The column with ``\\uXXXX`` escapes decoded in the values that hold them."""
    escaped = c.match("trim", ESCAPED) & ~json_rows(c)
    if not escaped.any():
        return c
    idx, sub = take_where(c.raw, escaped)
    decoded = _query(_UNESCAPE, sub).column("j").combine_chunks()
    mask = np.zeros(len(c), dtype=bool)
    mask[idx] = True
    raw = pc.replace_with_mask(c.raw, pa.array(mask), decoded.cast(c.raw.type))
    return ColumnView(raw, c.today, c.is_binary)


def leaf_columns(c: ColumnView, rows: np.ndarray) -> dict[str, pa.Array]:
    """Leaf values of the JSON cells in ``rows``, grouped by folded path."""
    _, sub = take_where(c.trim, rows)
    leaves = _query(_LEAVES, sub)
    if leaves.num_rows == 0:
        return {}
    leaves = leaves.sort_by("path")
    paths = leaves.column("path").combine_chunks()
    values = leaves.column("v").combine_chunks()
    out: dict[str, pa.Array] = {}
    bounds = pc.run_end_encode(paths)
    ends = bounds.run_ends.to_numpy()
    starts = np.concatenate([[0], ends[:-1]])
    for path, start, end in zip(bounds.values.to_pylist(), starts, ends, strict=True):
        out[path] = values.slice(int(start), int(end - start))
    return out


_KEY = re.compile(r'\.(?:"((?:[^"\\]|\\.)*)"|([^.\[\]]+))')


def last_key(path: str) -> str:
    """The last object key of a folded path: ``$.applicant.phones[*]`` -> ``phones``."""
    keys = _KEY.findall(path)
    if not keys:
        return ""
    quoted, bare = keys[-1]
    return quoted or bare
