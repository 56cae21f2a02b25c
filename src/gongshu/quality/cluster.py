"""A version's quality rules with the row pass on the Spark executors (issue 19 item 2).

Every row rule (the identifier checks included, in their SQL form) is decided by the
executors over their share of the rows: each task runs the rules' one aggregate and,
for the rules that failed there, the examples query in DuckDB over its rows, numbered
with their position in the version, and returns the counts, the column maxima and its
first failing rows. The partials add up: counts are summed, maxima taken, and the
first ``EXAMPLES`` failing rows of the version are the first of the tasks' first
rows. The rules over the whole table (uniqueness, compound keys, references, stored
types, the schedule) run on the driver as in process (``engine.whole_table_rules``).
The report equals the in-process engine's (tests/spark/test_quality.py).

A plain Parquet file is read by the executors where it lies, one row group per unit
(shared storage or the object store); a version with sealed columns is streamed by
the driver, which alone can decrypt it, and staged sealed (``tasks.map_staged``).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from gongshu.quality import engine
from gongshu.quality.results import Reference, RuleResult, Stored, plain
from gongshu.quality.rules import EXAMPLES
from gongshu.quality.sql import Compiled, aggregate_sql, compile_row_rule, examples_sql
from gongshu.spark import tasks

ROW = "file_row_number"


def evaluate(
    path: Stored,
    rules: list[dict],
    *,
    today: dt.date,
    loaded_at: dt.datetime,
    previous_loaded_at: dt.datetime | None,
    references: dict[int, Reference] | None = None,
) -> tuple[int, list[RuleResult]]:
    """``engine.evaluate`` with the row pass on the cluster: the same rows and results."""
    compiled = [c for r in rules if (c := compile_row_rule(r, today)) is not None]
    maxes = [r["column"] for r in rules if r["expectation"] == "expect_column_max_to_be_recent"]
    total = _row_pass(path, compiled, maxes)
    out: dict[str, RuleResult] = {}
    for i, comp in enumerate(compiled):
        res = RuleResult(comp.rule, total["checked"][i], total["failed"][i])
        res.examples = [plain(e) for e in total["examples"].get(i, [])]
        out[comp.rule["id"]] = res
    con = engine.connect(today, spill=engine.spill_dir(path))
    source = engine.sources(con, path)  # one scan each (sealed columns streamed)

    def column_types() -> dict[str, str]:
        described = con.execute(f"DESCRIBE SELECT * FROM {source()}").fetchall()
        return {row[0]: str(row[1]).upper() for row in described}

    try:
        engine.whole_table_rules(
            con,
            source,
            column_types,
            rules,
            uniques=[r for r in rules if r["expectation"] == "expect_column_values_to_be_unique"],
            maxima=total["maxima"],
            loaded_at=loaded_at,
            previous_loaded_at=previous_loaded_at,
            references=references,
            out=out,
            sealed=engine.sealed_columns(path),
        )
    finally:
        con.close()
    return total["rows"], [out[r["id"]] for r in rules if r["id"] in out]


def _row_pass(path: Stored, compiled: list[Compiled], maxes: list[str]) -> dict[str, Any]:
    """Counts, maxima and first failing rows of the row rules, from the executors."""

    def kernel(table: pa.Table) -> dict[str, Any]:
        return _check(table, compiled, maxes)

    plain_file = engine._plain_file(path)
    if plain_file is not None:
        where: Path | Any = plain_file
        if isinstance(path, tuple):  # a stored version: where the executors read it
            from gongshu import storage

            where = storage.objects.at(Path(path[0])).where(path[1].path)
        parts = _row_groups(where, kernel)
    else:
        from gongshu import storage

        datasets_dir, version = path
        stream = storage.stream(Path(datasets_dir), version)
        parts = tasks.map_staged(_numbered(stream.batches), lambda b: kernel(_table(b)), _merge)
    return _merge(parts) if parts else _merge([kernel(_empty(path))])


def _row_groups(where: Any, kernel: Any) -> list[dict[str, Any]]:  # noqa: ANN401
    """``kernel`` over each row group, its rows numbered by their place in the file."""
    meta = tasks.parquet_file(where).metadata
    starts = np.cumsum([0] + [meta.row_group(i).num_rows for i in range(meta.num_row_groups)])
    firsts = [int(x) for x in starts[:-1]]
    if not firsts:
        return []

    def task(ids: list[int]) -> dict[str, Any]:
        with tasks.parquet_file(where) as f:
            return _merge([kernel(_numbered_table(f.read_row_group(i), firsts[i])) for i in ids])

    work = tasks.job_dir()
    try:
        return tasks._run(len(firsts), task, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _numbered_table(table: pa.Table, first: int) -> pa.Table:
    rows = pa.array(np.arange(first, first + table.num_rows, dtype=np.int64))
    return table.append_column(ROW, rows)


def _numbered(batches: Any) -> Any:  # noqa: ANN401 - an iterator of record batches
    first = 0
    for batch in batches:
        rows = pa.array(np.arange(first, first + batch.num_rows, dtype=np.int64))
        yield pa.RecordBatch.from_arrays([*batch.columns, rows], [*batch.schema.names, ROW])
        first += batch.num_rows


def _table(batch: pa.RecordBatch) -> pa.Table:
    return pa.Table.from_batches([batch])


def _empty(path: Stored) -> pa.Table:
    from gongshu import storage

    if isinstance(path, tuple):
        schema = storage.schema(Path(path[0]), path[1])
    else:
        schema = tasks.parquet_file(path).schema_arrow
    return _numbered_table(schema.empty_table(), 0)


def _check(table: pa.Table, compiled: list[Compiled], maxes: list[str]) -> dict[str, Any]:
    """One task's rows: the aggregate, then the examples of the rules that failed."""
    con = engine.connect()
    try:
        con.register("gs_rows_here", table)
        agg = engine._aggregate(con, aggregate_sql(compiled, maxes, "gs_rows_here"))
        failing = [(i, c) for i, c in enumerate(compiled) if agg[f"gs_failed_{i}"]]
        examples: dict[int, list] = {}
        if failing:
            row = engine._execute(
                con, examples_sql([c for _, c in failing], "gs_rows_here")
            ).fetchall()[0]
            examples = {i: list(row[k] or []) for k, (i, _) in enumerate(failing)}
    finally:
        con.close()
    return {
        "rows": int(agg["gs_rows"]),
        "checked": [int(agg[f"gs_checked_{i}"]) for i in range(len(compiled))],
        "failed": [int(agg[f"gs_failed_{i}"]) for i in range(len(compiled))],
        "maxima": [agg[f"gs_max_{i}"] for i in range(len(maxes))],
        "examples": examples,
    }


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Partials in row order folded into one: sums, maxima, the first failing rows."""
    first = parts[0]
    examples: dict[int, list] = {}
    for part in parts:
        for i, rows in part["examples"].items():
            examples.setdefault(i, []).extend(rows)
    return {
        "rows": sum(p["rows"] for p in parts),
        "checked": [sum(v) for v in zip(*(p["checked"] for p in parts), strict=True)]
        if first["checked"]
        else [],
        "failed": [sum(v) for v in zip(*(p["failed"] for p in parts), strict=True)]
        if first["failed"]
        else [],
        "maxima": [
            max((v for v in column if v is not None), default=None)
            for column in zip(*(p["maxima"] for p in parts), strict=True)
        ]
        if first["maxima"]
        else [],
        "examples": {
            i: sorted(rows, key=lambda e: e["gs_row"])[:EXAMPLES] for i, rows in examples.items()
        },
    }
