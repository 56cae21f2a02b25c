"""Files -> the ``gongshu scan`` report (spec/scan-output.md).

A full scan plans on the head of each file (every detector on up to
``PLAN_ROWS`` rows), then counts only the detectors that saw anything, on
every row, batch by batch, with columns in a thread pool. A sampled scan
(``sample_rows``) keeps an evenly spaced sample of the whole file and runs
every detector on it. Memory stays bounded by the reader's batch size.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pyarrow as pa

from gongshu.discovery.classifier import (
    ColumnCounts,
    TableCounts,
    TableResult,
    count_batch,
    decide,
    distinct_counts,
    plan_from,
)
from gongshu.discovery.grading import Rules, default_rules
from gongshu.errors import GongshuError, InvalidInput
from gongshu.tabular import TableStream, open_table
from gongshu.timeutil import BEIJING, utcnow

PLAN_ROWS = 10_000
ENGINES = ("local", "spark")

Progress = Callable[[str, int], None]  # (source, bytes read so far)


def _today() -> date:
    """The scan date in Beijing time: ages (PIP-1) are counted on the local calendar."""
    return utcnow().astimezone(BEIJING).date()


def _systematic_sample(batches: Iterable[pa.RecordBatch], n: int) -> tuple[pa.Table | None, int]:
    """An evenly spaced sample of about ``n`` rows over the whole stream, and the row count."""
    kept: list[pa.RecordBatch] = []
    kept_rows = rows = 0
    stride = 1  # keep global rows 0, stride, 2*stride, ...
    for batch in batches:
        idx = pa.array(range((-rows) % stride, batch.num_rows, stride), pa.int64())
        rows += batch.num_rows
        if len(idx):
            kept.append(batch.take(idx))
            kept_rows += len(idx)
        if kept_rows > 2 * n:
            table = pa.Table.from_batches(kept).combine_chunks()
            table = table.take(pa.array(range(0, table.num_rows, 2), pa.int64()))
            kept, kept_rows = table.to_batches(), table.num_rows
            stride *= 2
    if not kept:
        return None, rows
    table = pa.Table.from_batches(kept).combine_chunks()
    if table.num_rows > n:
        step = table.num_rows / n
        table = table.take(pa.array([int(i * step) for i in range(n)], pa.int64()))
    return table, rows


def _prefetch(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Read the next batches in a thread while the current one is scanned."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def reader() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                q.put(batch)
            q.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            q.put(exc)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def _spark_full(
    batches: Iterator[pa.RecordBatch], *, today: date, pool: ThreadPoolExecutor | None
) -> tuple[TableCounts, dict[str, int]]:
    """The local engine's two passes, both on Spark: every detector on the head, whose
    counts decide the plan; then the planned detectors on every other row."""
    from gongshu.discovery.spark import count_rest

    first = next(batches, None)
    if first is None:
        return TableCounts(0), {}
    head = first.slice(0, PLAN_ROWS)
    counts = count_rest(iter([head]), today=today, plan=None)  # the head on Spark too
    distinct = distinct_counts(head)
    plan = plan_from(counts)

    def rest() -> Iterator[pa.RecordBatch]:
        yield first.slice(PLAN_ROWS)
        yield from batches

    return counts + count_rest(rest(), today=today, plan=plan), distinct


def scan_table(
    path: str | Path | TableStream,
    *,
    today: date,
    sample_rows: int | None = None,
    rules: Rules | None = None,
    on_bytes: Callable[[int], None] | None = None,
    pool: ThreadPoolExecutor | None = None,
    engine: str = "local",
) -> tuple[TableResult, str | None]:
    """Scan one file (or an open stream of batches, e.g. a stored version read through
    gongshu.storage); returns the graded result and the detected text encoding."""
    rules = rules or default_rules()
    stream = path if isinstance(path, TableStream) else open_table(path)
    schema_names = stream.columns

    def tracked(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if on_bytes:
                on_bytes(batch.nbytes)
            yield batch

    batches = _prefetch(tracked(stream.batches))
    if sample_rows is not None:
        sample, rows = _systematic_sample(batches, sample_rows)
        if sample is None:
            counts = TableCounts(0)
            distinct: dict[str, int] = {}
        elif engine == "spark":
            from gongshu.discovery.spark import count_rest

            counts = count_rest(iter(sample.to_batches()), today=today, plan=None)
            distinct = distinct_counts(sample)
        else:
            counts = count_batch(sample, today=today, pool=pool)
            distinct = distinct_counts(sample)
        counts.rows = rows
    elif engine == "spark":
        counts, distinct = _spark_full(batches, today=today, pool=pool)
    else:
        counts, distinct = TableCounts(0), {}
        plan = None
        for batch in batches:
            if plan is None:
                head = batch.slice(0, PLAN_ROWS)
                head_counts = count_batch(head, today=today, pool=pool)
                distinct = distinct_counts(head)
                plan = plan_from(head_counts)
                counts = head_counts
                rest = batch.slice(PLAN_ROWS)
                if rest.num_rows:
                    counts = counts + count_batch(rest, today=today, plan=plan, pool=pool)
            else:
                counts = counts + count_batch(batch, today=today, plan=plan, pool=pool)
    for name in schema_names:  # an empty file still lists its columns
        if name not in counts.columns:
            counts.columns[name] = ColumnCounts()
    counts.columns = {n: counts.columns[n] for n in schema_names}
    result = decide(counts, distinct=distinct, rules=rules)
    rules.grade(result)
    return result, stream.encoding


def table_report(source: str, result: TableResult, encoding: str | None, *, grading: bool) -> dict:
    out: dict = {
        "source": source,
        "encoding": encoding,
        "rows": result.rows,
        "minors_under_14": result.minors_under_14,
        "columns": [c.to_dict(grading=grading) for c in result.columns],
    }
    if grading:
        out["grading"] = {
            "grade": result.grade,
            "important_data_candidate": result.important_data_candidate,
            "reasons": result.reasons,
        }
    return out


def scan_paths(
    paths: Iterable[str | Path],
    *,
    sample_rows: int | None = None,
    today: date | None = None,
    engine: str = "local",
    rules: Rules | None = None,
    grading: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Scan files into the report of spec/scan-output.md. A file that cannot be read
    gives a table object with an ``error`` string and no ``columns``. ``grading`` adds
    each column's category/grade/masking and a table ``grading`` object."""
    if engine not in ENGINES:
        raise InvalidInput(f"不支持的扫描引擎：{engine}，当前可用：{'、'.join(ENGINES)}")
    if sample_rows is not None and sample_rows < 1:
        raise InvalidInput("抽样行数必须为正整数")
    if engine == "spark":  # no Java or no pyspark fails the command once, not per file
        from gongshu.discovery.spark import session

        session()
    today = today or _today()
    tables = []
    workers = min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for path in paths:
            source = str(path)
            seen = 0

            def on_bytes(n: int, source: str = source) -> None:
                nonlocal seen
                seen += n
                if progress:
                    progress(source, seen)

            try:
                result, encoding = scan_table(
                    path,
                    today=today,
                    sample_rows=sample_rows,
                    rules=rules,
                    on_bytes=on_bytes,
                    pool=pool,
                    engine=engine,
                )
            except GongshuError as exc:
                tables.append({"source": source, "error": exc.message})
                continue
            except (pa.ArrowException, OSError, ValueError) as exc:
                tables.append({"source": source, "error": f"无法读取文件：{exc}"})
                continue
            tables.append(table_report(source, result, encoding, grading=grading))
    return {"scanned_at": today.isoformat(), "tables": tables}
