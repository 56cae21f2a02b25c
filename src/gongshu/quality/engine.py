"""Run a version's quality rules over its Parquet file with DuckDB and numpy.

In-platform only (tests/egress/test_one_door.py lists this module): the raw
failing rows it returns are masked by the service before anything is stored
or shown. The identifier rules run on the fast path (``vector``: numpy over
Arrow batches of the columns they need, fetched through ``gongshu.storage``);
one aggregate query covers the other row rules (see ``rules``); the failing-row
examples, uniqueness of other columns and cross-entry comparisons are the only
other queries.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gongshu import storage
from gongshu.identifiers import _region_array
from gongshu.quality import grouped, unique, vector
from gongshu.quality.results import Reference, RuleResult, Stored, plain
from gongshu.quality.rules import COMPOUND, ENTITY_PATTERNS, EXAMPLES, TYPE_OK, key_candidates
from gongshu.quality.sql import (
    Compiled,
    aggregate_sql,
    compile_row_rule,
    examples_sql,
    lookup_tables_sql,
    q,
)
from gongshu.storage import scratch

NOT_NULL = "expect_column_values_to_not_be_null"
ROWS_PER_BATCH = 262_144  # what the fast path fetches at a time
# pyarrow maps a plain file rather than reading it into fresh buffers (the kernel zeroed
# their pages: a few per cent of a run).
MEMORY_MAP = True
# What a worker checks at a time: numpy's temporaries of a 32K-row slice (about a MB at
# most) stay in cache and in the allocator's heap; 128K-row ones cost 1.6x (page faults),
# 16K-row ones a few per cent more interpreter time than 32K (measured).
SLICE_ROWS = 32_768
# The cores are shared between DuckDB's scan (the reader converts to Arrow serially
# anyway) and numpy checking slices (it releases the GIL): half each. On two cores,
# one thread each; more threads only took turns on the same cores (measured).
FETCH_THREADS = max(1, (os.cpu_count() or 2) // 2)
WORKERS = max(1, (os.cpu_count() or 2) // 2)


# What DuckDB may hold of a run (hash tables of the grouped rules, sorts); beyond it, it
# spills to this process's scratch directory (``connect``), so the run's memory does not
# grow with the table (issue 19 item 3).
MEMORY_LIMIT = "512MB"


def connect(
    today: dt.date | None = None, *, spill: Path | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection for one run. Results keep the file order (the default, stated: the
    fast path counts positions). Its memory is capped at MEMORY_LIMIT; with ``spill`` (a
    directory: the datasets directory's scratch area, ``spill_dir``) what does not fit
    goes there, else nowhere (DuckDB's own default is ``.tmp`` in the working directory).
    The queries over sealed columns never group or sort their plaintext (``grouped``), so
    what spills holds no sealed value in the clear."""
    return duckdb.connect(
        config={
            "preserve_insertion_order": True,
            "memory_limit": MEMORY_LIMIT,
            "temp_directory": str(spill) if spill is not None else "",
        }
    )


def spill_dir(path: Stored) -> Path | None:
    """Where a run over ``path`` spills: a fresh directory in the process's scratch area
    of the datasets directory (removed with it when the process dies; DuckDB removes its
    files when the connection closes), None for a bare file."""
    if not isinstance(path, tuple):
        return None
    return scratch.new_path(Path(path[0]), "duckdb-spill")


def sealed_columns(path: Stored) -> set[str]:
    """The version's columns sealed at rest (none for a bare file)."""
    if not isinstance(path, tuple) or not path[1].sealed:
        return set()
    return set(path[1].sealed.get("columns") or ())


Source = Callable[..., str]


def sources(con: duckdb.DuckDBPyConnection, path: Stored) -> Source:
    """``source(columns=None, row_numbers=True, on=con)``: SQL text for ``FROM`` of one
    query over the version. A version with sealed columns is streamed
    (``storage.streamed``: a sealed frame decrypted at a time, only ``columns``, once per
    call, registered on ``on``) instead of ``storage.relation``'s whole decrypted
    column, unless ``columns`` names none of the sealed ones; other sources are Parquet
    files DuckDB reads as it goes."""

    def source(
        columns: list[str] | None = None,
        *,
        row_numbers: bool = True,
        on: duckdb.DuckDBPyConnection | None = None,
    ) -> str:
        if isinstance(path, tuple) and path[1].sealed:
            if columns is not None and not set(columns) & sealed_columns(path):
                # no sealed column asked for: DuckDB reads the plain file itself (its
                # own reader, on its threads; the same rows and ``file_row_number``)
                local = storage.objects.at(Path(path[0])).local(path[1].path)
                return _source(con, local, row_numbers=row_numbers)
            return storage.streamed(on or con, path[0], path[1], columns, row_numbers=row_numbers)
        return _source(con, path, row_numbers=row_numbers)

    return source


def _execute(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyConnection:
    """Run ``sql``, first making the GB/T 2260 lookups it reads (``gs_region``) if
    this connection has not got them yet (most runs no longer need them)."""
    if (
        "gs_region" in sql
        and not con.execute("SELECT 1 FROM duckdb_types() WHERE type_name = 'gs_region'").fetchall()
    ):
        regions, enum = lookup_tables_sql([str(c) for c in _region_array().tolist()])
        con.execute(regions, [_region_array().tolist()])
        con.execute(enum)
    return con.execute(sql)


def _source(con: duckdb.DuckDBPyConnection, path: Stored, *, row_numbers: bool = True) -> str:
    """``FROM`` text for a bare Parquet file or a stored version without sealed columns
    (those are streamed: ``sources``)."""
    if isinstance(path, tuple):
        if path[1].sealed:
            raise ValueError("a version with sealed columns is read through sources()")
        path = storage.objects.at(Path(path[0])).local(path[1].path)
    numbered = ", file_row_number = true" if row_numbers else ""
    return "read_parquet(" + "'" + str(path).replace("'", "''") + f"'{numbered})"


def profile_distinct(path: Stored, fields: list[dict]) -> dict[str, bool]:
    """For the key candidates: does every non-null value occur once? (default rules)"""
    cands = key_candidates(fields)
    if not cands:
        return {}
    con = connect(spill=spill_dir(path))
    source = sources(con, path)
    hidden = sealed_columns(path)
    try:
        # a sealed column's values are counted by keyed digest (``grouped.keyed``): what
        # DuckDB holds, and may spill, is never the value itself
        salt = grouped.salt()
        sql = ", ".join(
            f"count({q(c)}) = count(DISTINCT {grouped.keyed(q(c), salt) if c in hidden else q(c)})"
            for c in cands
        )
        row = con.execute(f"SELECT {sql} FROM {source(cands, row_numbers=False)}").fetchall()[0]
    finally:
        con.close()
    return dict(zip(cands, row, strict=True))


def evaluate(
    path: Stored,
    rules: list[dict],
    *,
    fields: list[dict],
    today: dt.date,
    loaded_at: dt.datetime,
    previous_loaded_at: dt.datetime | None,
    references: dict[int, Reference] | None = None,
    vectorized: bool = True,
    cluster: bool | None = None,
) -> tuple[int, list[RuleResult]]:
    """Row count and one result per rule (raw examples: the caller masks them).

    The identifier rules (GB 11643 and the birth date and gender against it, mobile
    format, uniqueness of an ID) run in numpy over Arrow batches (``vector``) unless
    ``vectorized`` is False; the other row rules in one DuckDB aggregate. With
    ``cluster`` (by default when ``GONGSHU_ENGINE=spark``) the row rules run on the
    Spark executors instead (``quality.cluster``): the same results."""
    if cluster is None:
        from gongshu.spark.context import engine as chosen

        cluster = chosen() == "spark"
    if cluster:
        from gongshu.quality import cluster as on_cluster

        return on_cluster.evaluate(
            path,
            rules,
            today=today,
            loaded_at=loaded_at,
            previous_loaded_at=previous_loaded_at,
            references=references,
        )
    con = connect(today, spill=spill_dir(path))
    pool = ThreadPoolExecutor(1)  # the aggregate beside the fetch, then the keys' count
    runs: list[unique.KeyRuns] = []
    source = sources(con, path)
    try:
        types = {
            row[0]: str(row[1]).upper()
            for row in con.execute(f"DESCRIBE SELECT * FROM {source()}").fetchall()
        }
        checks = (
            vector.Checks(
                rules,
                types,
                today,
                _mobile_prefixes(con),
                raw_genders=_plain_file(path) is not None,
            )
            if vectorized
            else None
        )
        fast = checks.ids if checks else set()
        compiled = [
            c
            for r in rules
            if r["id"] not in fast and (c := compile_row_rule(r, today)) is not None
        ]
        uniques = [
            r
            for r in rules
            if r["expectation"] == "expect_column_values_to_be_unique" and r["id"] not in fast
        ]
        recent = [r for r in rules if r["expectation"] == "expect_column_max_to_be_recent"]
        maxes = [r["column"] for r in recent]
        # A sealed column the fast path fetches anyway has its missing values counted
        # there (``nulls``): the aggregate then reads only the columns it needs, and a
        # sealed column is decrypted once.
        hidden = sealed_columns(path)
        fetched = set(checks.columns) & hidden if checks else set()
        by_fetch = [
            c for c in compiled if c.rule["expectation"] == NOT_NULL and c.rule["column"] in fetched
        ]
        in_agg = [c for c in compiled if all(c is not b for b in by_fetch)]
        names = [n for n in types if n != "file_row_number"]
        agg_cols = [n for n in names if n not in hidden or _mentioned(n, in_agg, recent)]
        # The aggregate of the other rules runs beside the fast path's fetch, on a
        # cursor of its own (a sealed version's stream registered on that cursor).
        beside = checks is not None and bool(checks.columns)
        pending = None
        nulls: dict[str, int] = {c.rule["column"]: 0 for c in by_fetch}
        if beside:
            cursor = con.cursor()
            sql = aggregate_sql(in_agg, maxes, source(agg_cols, on=cursor))
            pending = pool.submit(_aggregate, cursor, sql, close=True)
        parts = None
        if checks and checks.columns:
            parts, runs = _fast_parts(con, path, source, checks, nulls)
        agg = (
            pending.result()
            if pending is not None
            else _aggregate(con, aggregate_sql(in_agg, maxes, source(agg_cols)))
        )
        # the keys' last merges and count, beside the examples' queries
        counting = [
            (rule, pool.submit(unique.count, rule, parts or [], keys))
            for rule, keys in zip(checks.uniques if checks else [], runs, strict=True)
        ]
        rows = int(agg["gs_rows"])
        out: dict[str, RuleResult] = {}
        for i, comp in enumerate(in_agg):
            out[comp.rule["id"]] = RuleResult(
                comp.rule, int(agg[f"gs_checked_{i}"]), int(agg[f"gs_failed_{i}"])
            )
        for comp in by_fetch:
            out[comp.rule["id"]] = RuleResult(comp.rule, rows, nulls[comp.rule["column"]])
        failing = [c for c in compiled if out[c.rule["id"]].failed]
        if failing:
            _examples(con, source(), failing, out)
        if parts is not None:
            _fast_results(con, checks, parts, today, out)
        for rule, counted in counting:
            total, extra, examples = counted.result()
            out[rule["id"]] = RuleResult(rule, total, extra, [plain(e) for e in examples])
        whole_table_rules(
            con,
            source,
            lambda: types,
            rules,
            uniques=uniques,
            maxima=[agg[f"gs_max_{i}"] for i in range(len(recent))],
            loaded_at=loaded_at,
            previous_loaded_at=previous_loaded_at,
            references=references,
            out=out,
            sealed=sealed_columns(path),
        )
    finally:
        pool.shutdown()
        for keys in runs:
            keys.close()
        con.close()
    return rows, [out[r["id"]] for r in rules if r["id"] in out]


def whole_table_rules(
    con: duckdb.DuckDBPyConnection,
    source: Callable[[], str],
    column_types: Callable[[], dict[str, str]],
    rules: list[dict],
    *,
    uniques: list[dict],
    maxima: list,
    loaded_at: dt.datetime,
    previous_loaded_at: dt.datetime | None,
    references: dict[int, Reference] | None,
    out: dict[str, RuleResult],
    sealed: set[str] | frozenset[str] = frozenset(),
) -> None:
    """The rules over the whole table rather than row by row: uniqueness (a GROUP BY),
    recency (from the maxima of the row pass, in ``expect_column_max_to_be_recent``
    order), stored types, the update schedule, compound keys and references. ``source``
    (SQL for one scan, asked again for each) and ``column_types`` are asked only when a
    rule needs them; ``sealed``: the columns sealed at rest (grouped by keyed digest)."""
    for rule in uniques:
        out[rule["id"]] = grouped.unique(con, source, rule, sealed=rule["column"] in sealed)
    recent = [r for r in rules if r["expectation"] == "expect_column_max_to_be_recent"]
    for rule, newest in zip(recent, maxima, strict=True):
        if isinstance(newest, dt.datetime):
            newest = newest.date()
        oldest_ok = loaded_at.date() - dt.timedelta(days=int(rule["max_age_days"]))
        stale = newest is not None and newest < oldest_ok
        out[rule["id"]] = RuleResult(
            rule,
            1 if newest is not None else 0,
            int(stale),
            detail=f"最新记录 {newest}，应不早于 {oldest_ok}" if newest else "无记录",
        )
    for rule in rules:
        exp = rule["expectation"]
        if exp == "expect_column_values_to_be_of_type":
            actual = column_types().get(rule["column"], "")
            ok = any(actual.startswith(t) for t in TYPE_OK.get(rule.get("type"), ()))
            out[rule["id"]] = RuleResult(rule, 1, int(not ok), detail=f"存储类型 {actual}")
        elif exp == "expect_version_on_schedule":
            out[rule["id"]] = _on_schedule(rule, loaded_at, previous_loaded_at)
        elif exp == COMPOUND:
            out[rule["id"]] = grouped.compound_unique(con, source, rule, sealed=sealed)
        elif exp == "expect_column_values_to_match_reference":
            ref = (references or {}).get(int(rule.get("ref_entry_id") or 0))
            rsrc = _reference(con, rule, ref)
            out[rule["id"]] = grouped.reference(con, source(), rule, ref, rsrc)


def _reference(con: duckdb.DuckDBPyConnection, rule: dict, ref: Reference | None) -> str | None:
    """``FROM`` text for the reference entry's key and compared columns (one scan; its
    sealed columns streamed a frame at a time, never decrypted whole), or None when the
    rule has nothing to compare (``grouped.reference`` then reads no source)."""
    if ref is None or rule.get("ref_column") not in ref.columns:
        return None
    compared = [p[1] for p in rule.get("compare") or [] if p[1] in ref.columns]
    if not compared:
        return None
    return sources(con, ref.path)(
        list(dict.fromkeys([rule["ref_column"], *compared])), row_numbers=False
    )


def _aggregate(con: duckdb.DuckDBPyConnection, sql: str, *, close: bool = False) -> dict:
    try:
        cur = _execute(con, sql)
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchall()[0], strict=True))
    finally:
        if close:
            con.close()


def _examples(
    con: duckdb.DuckDBPyConnection, src: str, failing: list, out: dict[str, RuleResult]
) -> None:
    """The second query: failing rows of the failed rules only."""
    row = _execute(con, examples_sql(failing, src)).fetchall()[0]
    for i, comp in enumerate(failing):
        out[comp.rule["id"]].examples = [plain(e) for e in row[i] or []]


_PREFIXES: dict[str, np.ndarray | None] = {}


def _mobile_prefixes(con: duckdb.DuckDBPyConnection) -> np.ndarray | None:
    """For CN_MOBILE: which first three digits the pattern (RE2, as the SQL runs it)
    allows in an 11-digit value, if the rest does not matter (else None: SQL only)."""
    pattern = ENTITY_PATTERNS["CN_MOBILE"]
    if pattern not in _PREFIXES:
        _PREFIXES[pattern] = _prefixes(con, pattern)
    return _PREFIXES[pattern]


def _prefixes(con: duckdb.DuckDBPyConnection, pattern: str) -> np.ndarray | None:
    rows = con.execute(
        "SELECT p, "
        + ", ".join(
            f"regexp_full_match(lpad(CAST(p AS VARCHAR), 3, '0') || '{tail}', $1)"
            for tail in ("00000000", "99999999", "12345678")
        )
        + " FROM range(1000) t(p) ORDER BY p",
        [pattern],
    ).fetchall()
    if any(len({a, b, c}) > 1 for _, a, b, c in rows):
        return None
    return np.array([a for _, a, _, _ in rows], dtype=bool)


def _plain_file(path: Stored) -> Path | None:
    """The version's Parquet file if it holds every column (nothing sealed), else None."""
    if not isinstance(path, tuple):
        return Path(path)
    datasets_dir, version = path
    return None if version.sealed else storage.objects.at(Path(datasets_dir)).local(version.path)


def _mentioned(name: str, compiled: list[Compiled], rules: list[dict]) -> bool:
    """Does a rule name the column ``name`` (its column, or any other field of it)?"""
    for rule in [c.rule for c in compiled] + rules:
        for value in rule.values():
            if value == name or (isinstance(value, list | tuple) and name in value):
                return True
    return False


def _counting_nulls(batches: Iterator[pa.RecordBatch], nulls: dict[str, int]) -> Iterator:
    """The batches as they come, with the missing values of ``nulls``' columns added up."""
    for batch in batches:
        for name in nulls:
            nulls[name] += batch.column(name).null_count
        yield batch


def _fast_parts(
    con: duckdb.DuckDBPyConnection,
    path: Stored,
    source: Source,
    checks: vector.Checks,
    nulls: dict[str, int] | None = None,
) -> tuple[list[vector.Part], list[unique.KeyRuns]]:
    """The fast path: batches of the columns it needs, checked in slices on threads;
    the ID keys go to their runs as the parts arrive (sorted beside the fetch).

    A plain Parquet file is read with pyarrow: it decodes on its own threads, without
    the GIL, and a gender column comes as a dictionary (its codes are looked up once
    per dictionary); a version with sealed columns is read through DuckDB over the
    stream of only the columns needed (``sources``: a sealed frame at a time)."""
    file = _plain_file(path)
    with contextlib.ExitStack() as stack:
        if file is not None:
            reader = stack.enter_context(
                pq.ParquetFile(
                    file,
                    read_dictionary=list(checks.genders),
                    memory_map=MEMORY_MAP,
                    pre_buffer=False,  # not every row group up front (issue 19 item 3)
                )
            )
            capacity = reader.metadata.num_rows
            names = list(dict.fromkeys([*checks.columns, *checks.genders]))
            batches = reader.iter_batches(ROWS_PER_BATCH, columns=names, use_threads=True)
        else:
            capacity = _rows(path)
            cols = [q(c) for c in checks.columns]
            cols += [f"{sql} AS {q(alias)}" for alias, sql in checks.derived.items()]
            con.execute(f"SET threads = {FETCH_THREADS}")
            stack.callback(con.execute, "RESET threads")
            needed = list(dict.fromkeys([*checks.columns, *checks.genders]))
            src = source(needed, row_numbers=False)
            batches = con.sql(f"SELECT {', '.join(cols)} FROM {src}").to_arrow_reader(
                ROWS_PER_BATCH
            )
        if nulls:  # sealed columns only: fetched through DuckDB, as they are
            batches = _counting_nulls(batches, nulls)
        # the keys' buffer: one int64 a row
        runs = [unique.KeyRuns(r["id"], capacity) for r in checks.uniques]
        parts = []
        try:
            in_flight = 2 * ROWS_PER_BATCH // SLICE_ROWS  # slices queued: a few batches
            for part in vector.in_threads(batches, checks.batch, SLICE_ROWS, WORKERS, in_flight):
                parts.append(part)
                for keys in runs:
                    keys.add(part.keys[keys.rule_id][0])
        except BaseException:
            for keys in runs:
                keys.close()
            raise
    return parts, runs  # the runs' last sorts go on: ``evaluate`` waits for them


def _rows(path: Stored) -> int:
    """The version's rows, from its plain file's footer (sealed columns have as many)."""
    if isinstance(path, tuple):
        datasets_dir, version = path
        local = storage.objects.at(Path(datasets_dir)).local(version.path)
    else:
        local = Path(path)
    return int(pq.read_metadata(local).num_rows)


def _fast_results(
    con: duckdb.DuckDBPyConnection,
    checks: vector.Checks,
    parts: list[vector.Part],
    today: dt.date,
    out: dict[str, RuleResult],
) -> None:
    """The fast path's row rules: its counts and first failing rows, plus the rows it
    deferred, which go through the rules' own SQL."""
    for rule in checks.rules:
        rid = rule["id"]
        examples = sorted((e for p in parts for e in p.examples[rid]), key=lambda e: e["gs_row"])
        out[rid] = RuleResult(
            rule,
            sum(p.checked[rid] for p in parts),
            sum(p.failed[rid] for p in parts),
            [plain(e) for e in examples[:EXAMPLES]],
        )
    deferred = [p.deferred for p in parts if p.deferred is not None]
    if deferred:
        _deferred(con, pa.Table.from_batches(deferred), checks.rules, today, out)


def _deferred(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    rules: list[dict],
    today: dt.date,
    out: dict[str, RuleResult],
) -> None:
    """The rows the fast path left to SQL (``gs_defer_<i>`` marks them per rule): the
    rules' own compiled SQL over those rows, added to the fast counts and examples."""
    con.register("gs_deferred", table)
    try:
        compiled = []
        for i, rule in enumerate(rules):
            c = compile_row_rule(rule, today)
            compiled.append(
                Compiled(rule, f"gs_defer_{i} AND ({c.checked})", c.ok, c.columns, c.derived)
            )
        cur = _execute(con, aggregate_sql(compiled, [], "gs_deferred"))
        agg = dict(zip([d[0] for d in cur.description], cur.fetchall()[0], strict=True))
        failing = []
        for i, comp in enumerate(compiled):
            res = out[comp.rule["id"]]
            res.checked += int(agg[f"gs_checked_{i}"])
            res.failed += int(agg[f"gs_failed_{i}"])
            if agg[f"gs_failed_{i}"]:
                failing.append(comp)
        if failing:
            extra = {c.rule["id"]: RuleResult(c.rule, 0, 0) for c in failing}
            _examples(con, "gs_deferred", failing, extra)
            for rid, res in extra.items():
                both = sorted(out[rid].examples + res.examples, key=lambda e: e["gs_row"])
                out[rid].examples = both[:EXAMPLES]
    finally:
        con.unregister("gs_deferred")


def _on_schedule(rule: dict, loaded_at: dt.datetime, previous: dt.datetime | None) -> RuleResult:
    if previous is None:
        return RuleResult(rule, 0, 0, detail="首个版本")
    days = (loaded_at - previous).days
    late = days > int(rule["max_interval_days"])
    return RuleResult(
        rule,
        1,
        int(late),
        detail=f"距上一版本 {days} 天，更新频率允许 {rule['max_interval_days']} 天",
    )
