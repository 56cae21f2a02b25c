"""The door's DuckDB query: granted columns, the grant's row filter ANDed with the
caller's filters and search words, order, page, and cached row counts.

Everything from outside becomes a bound parameter; column names are checked
against the version's columns and quoted, operators come from a fixed table.
Per-call filters, search words and sort keys may only use columns the
policy leaves unmasked: comparing a masked column's stored value would let a
caller probe what the mask hides (is this resident ID in the table?).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gongshu.egress.errors import BadRowFilter

OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "in": "IN"}
ROW_ID = "_id"
MAX_SEARCH_WORDS = 8


def quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def uses_rows(row_filter: list[dict]) -> bool:
    """Does the filter name rows by position (``{"op": "rows"}``)?"""
    return any(isinstance(c, dict) and c.get("op") == "rows" for c in row_filter or [])


def compile_filter(
    row_filter: list[dict],
    known: set[str],
    *,
    label: str = "行筛选条件",
    allow_rows: bool = False,
) -> tuple[str, list[Any]]:
    """``[{"column", "op", "value"}, ...]`` as an ANDed, parameterized predicate.

    ``{"op": "rows", "value": [positions]}`` (grants only, ``allow_rows``) names rows
    of a pinned version by their 0-based position, so a grant for one person's rows
    (PIP-5 exports) need not keep that person's ID number in the clear.
    """
    clauses, params = [], []
    for i, cond in enumerate(row_filter, start=1):
        if not isinstance(cond, dict):
            raise BadRowFilter(f"第 {i} 个{label}格式无效")
        col, op, value = cond.get("column"), cond.get("op"), cond.get("value")
        if op == "rows" and allow_rows:
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, int) and v >= 0 for v in value)
            ):
                raise BadRowFilter(f"第 {i} 个{label}需要非空的行号列表")
            clauses.append(f"file_row_number IN ({', '.join('?' * len(value))})")
            params.extend(int(v) for v in value)
            continue
        if col not in known:
            raise BadRowFilter(f"第 {i} 个{label}的字段不存在或不可筛选：{col}")
        if op not in OPS:
            raise BadRowFilter(f"第 {i} 个{label}的运算符无效：{op}")
        if op == "in":
            if not isinstance(value, list) or not value:
                raise BadRowFilter(f"第 {i} 个{label}需要非空列表")
            clauses.append(f"CAST({quote(col)} AS VARCHAR) IN ({', '.join('?' * len(value))})")
            params.extend(str(v) for v in value)
        else:
            clauses.append(f"CAST({quote(col)} AS VARCHAR) {OPS[op]} ?")
            params.append(str(value))
    return (" AND ".join(clauses) or "TRUE"), params


def compile_search(words: str, columns: list[str]) -> tuple[str, list[Any]]:
    """Every word must occur (case-insensitive) in one of ``columns``."""
    terms = words.split()[:MAX_SEARCH_WORDS]
    if not terms:
        return "TRUE", []
    if not columns:
        raise BadRowFilter("没有可检索的未脱敏字段")
    clauses, params = [], []
    for term in terms:
        ors = [f"strpos(lower(CAST({quote(c)} AS VARCHAR)), ?) > 0" for c in columns]
        clauses.append("(" + " OR ".join(ors) + ")")
        params.extend([term.lower()] * len(columns))
    return " AND ".join(clauses), params


@dataclass
class Query:
    """A parameterized SELECT over one stored version.

    ``source`` is the version's relation from gongshu.storage (sealed columns
    decrypted on the connection that runs the query, with ``file_row_number``
    when ``row_ids``); ``path`` is its plain Parquet file, which the small-page
    cache reads when none of the requested columns is sealed.
    """

    path: str
    columns: list[str]
    source: str = ""
    sealed: frozenset[str] = frozenset()
    where: str = "TRUE"
    params: list[Any] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    row_ids: bool = False  # prepend "_id": the row's position in the stored version, from 1

    def __post_init__(self) -> None:
        if not self.source:  # a plain Parquet file (tests, benchmarks): no sealed columns
            numbered = ", file_row_number = true" if self.row_ids else ""
            self.source = f"read_parquet('{self.path.replace(chr(39), chr(39) * 2)}'{numbered})"

    def and_where(self, clause: str, params: list[Any]) -> None:
        if clause != "TRUE":
            self.where = clause if self.where == "TRUE" else f"({self.where}) AND ({clause})"
            self.params += params

    def select(self, offset: int = 0, limit: int | None = None) -> tuple[str, list[Any]]:
        cols = ", ".join(quote(c) for c in self.columns)
        if self.row_ids:
            cols = f"file_row_number + 1 AS {quote(ROW_ID)}, {cols}"
        sql = f"SELECT {cols} FROM {self.source} WHERE {self.where}"
        args: list[Any] = [*self.params]
        if self.order:
            keys = [
                f"{'file_row_number' if c == ROW_ID and self.row_ids else quote(c)} "
                f"{'DESC' if d else 'ASC'} NULLS LAST"
                for c, d in self.order
            ]
            sql += " ORDER BY " + ", ".join(keys)
            if self.row_ids:
                sql += ", file_row_number"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [int(limit), int(offset)]
        elif offset:
            sql += " OFFSET ?"
            args.append(int(offset))
        return sql, args

    def count(
        self,
        con: duckdb.DuckDBPyConnection,
        version_id: int,
        stored_rows: int,
        *,
        source: Callable[[], str] | None = None,
    ) -> int:
        """Rows matching the predicate; the version's row count when nothing narrows it.
        ``source`` makes the ``FROM`` of the count's own scan (a stream is read once, so
        the count cannot share the select's), called only when the count is not cached."""
        if self.where == "TRUE":
            return stored_rows
        key = (version_id, self.path, self.where, tuple(self.params))
        with _LOCK:
            if key in _COUNTS:
                _COUNTS.move_to_end(key)
                return _COUNTS[key]
        sql = f"SELECT count(*) FROM {source() if source else self.source} WHERE {self.where}"
        ((n,),) = con.execute(sql, [*self.params]).fetchall()
        with _LOCK:
            _COUNTS[key] = int(n)
            while len(_COUNTS) > COUNT_CACHE_SIZE:
                _COUNTS.popitem(last=False)
        return int(n)


def columns_used(q: Query, available: list[str]) -> list[str]:
    """The columns of ``available`` the query names (selected, filtered, searched or
    sorted), in stored order: every column reference is ``quote``d, so a column whose
    quoted name is nowhere in the query text is not read."""
    text = " ".join([*(quote(c) for c in q.columns), q.where, *(quote(c) for c, _ in q.order)])
    used = [c for c in available if quote(c) in text]
    return used or available[:1]  # a count of rows reads one column


# A stored version never changes (a new load is a new version), so a count stays true.
COUNT_CACHE_SIZE = 4096
_COUNTS: OrderedDict[tuple, int] = OrderedDict()
_LOCK = threading.Lock()


# ---------------------------------------------------------------- reading

_DB: tuple[int, duckdb.DuckDBPyConnection] | None = None


def connection() -> duckdb.DuckDBPyConnection:
    """A cursor on this process's in-memory DuckDB.

    Connecting costs about 100 ms; one database per process (re-made after a
    fork) with its object cache on also keeps Parquet footers between reads.
    """
    global _DB
    with _LOCK:
        if _DB is None or _DB[0] != os.getpid():
            con = duckdb.connect()
            con.execute("SET enable_object_cache = true")
            _DB = (os.getpid(), con)
        return _DB[1].cursor()


PAGE_ROWS = 1000  # pages up to this many rows may come from cached row groups
GROUP_ROWS = 131072  # ... when the version's row groups are no larger than this
CACHE_BYTES = 128 << 20
_GROUPS: OrderedDict[tuple, pa.Table] = OrderedDict()
_FILES: OrderedDict[str, tuple[pq.ParquetFile, np.ndarray]] = OrderedDict()


def _file(path: str) -> tuple[pq.ParquetFile, np.ndarray]:
    with _LOCK:
        if path in _FILES:
            _FILES.move_to_end(path)
            return _FILES[path]
    pf = pq.ParquetFile(path)
    md = pf.metadata
    starts = np.cumsum([0] + [md.row_group(i).num_rows for i in range(md.num_row_groups)])
    with _LOCK:
        _FILES[path] = (pf, starts)
        while len(_FILES) > 64:
            _FILES.popitem(last=False)
    return pf, starts


def _group(path: str, pf: pq.ParquetFile, i: int, columns: tuple[str, ...]) -> pa.Table:
    key = (path, i, columns)
    with _LOCK:
        if key in _GROUPS:
            _GROUPS.move_to_end(key)
            return _GROUPS[key]
    table = pf.read_row_group(i, columns=list(columns))
    with _LOCK:
        _GROUPS[key] = table
        while sum(t.nbytes for t in _GROUPS.values()) > CACHE_BYTES and len(_GROUPS) > 1:
            _GROUPS.popitem(last=False)
    return table


def small_page(q: Query, offset: int, limit: int | None) -> pa.Table | None:
    """An unfiltered, unordered page of at most PAGE_ROWS rows from cached row groups,
    or None when the DuckDB query must run (a stored version never changes)."""
    if q.where != "TRUE" or q.order or limit is None or limit > PAGE_ROWS:
        return None
    if q.sealed & set(q.columns):  # sealed at rest: only the storage relation decrypts them
        return None
    pf, starts = _file(q.path)
    if len(starts) < 2 or int(np.diff(starts).max()) > GROUP_ROWS:
        return None
    end = min(offset + limit, int(starts[-1]))
    if offset >= end:
        table = pf.schema_arrow.empty_table().select(q.columns)
    else:
        first = int(np.searchsorted(starts, offset, side="right")) - 1
        last = int(np.searchsorted(starts, end - 1, side="right")) - 1
        parts = [_group(q.path, pf, i, tuple(q.columns)) for i in range(first, last + 1)]
        table = pa.concat_tables(parts).slice(offset - int(starts[first]), end - offset)
    if q.row_ids:
        ids = pa.array(np.arange(offset + 1, offset + 1 + table.num_rows, dtype=np.int64))
        table = table.add_column(0, ROW_ID, ids)
    return table
