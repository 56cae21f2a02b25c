"""The Spark engine (`gongshu scan --engine spark`): the same kernels on Apache Spark.

The driver reads the file exactly as the in-process engine does (same reader,
same encoding detection, same head plan and distinct counts) and stages the
batches as sealed Arrow IPC slices (``gongshu.spark.tasks.map_staged``); Spark runs
:func:`~gongshu.discovery.classifier.count_batch` on them in its Python workers
through ``mapInArrow``, first every detector on the head (which decides the
plan), then the planned detectors on every other row. Evidence counts add up,
so the driver sums the partial counts and decides exactly as the local engine
would: the JSON is the same (issue 3 item 5), in local mode and on a standalone
cluster (``GONGSHU_SPARK_MASTER``, issue 19 item 2). The session is
``gongshu.spark``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from functools import reduce

import pyarrow as pa

from gongshu.discovery.classifier import TableCounts, count_batch
from gongshu.spark import SparkUnavailable, java_available, session, stop
from gongshu.spark import tasks as _tasks

__all__ = [
    "STAGED_BATCH_ROWS",
    "SparkUnavailable",
    "count_rest",
    "java_available",
    "session",
    "stop",
]

# Staged batches small enough that Spark spreads a file over all its cores.
STAGED_BATCH_ROWS = _tasks.STAGED_BATCH_ROWS


def _sum(parts: list[TableCounts]) -> TableCounts:
    return reduce(lambda a, b: a + b, parts, TableCounts(0))


def count_rest(batches: Iterator[pa.RecordBatch], *, today: date, plan: dict | None) -> TableCounts:
    """Counts of ``batches`` computed on Spark executors with ``plan``.

    The batches are staged in record batches of at most ``STAGED_BATCH_ROWS``
    rows, each sealed under the job's key; each Python worker decrypts its batches
    and counts them, so the kernels see exactly the arrays the local reader gave (no JVM row
    conversion, no Parquet encoding). The staged copy is of the file being
    scanned, never a stored dataset version. On a cluster the staging directory
    (``GONGSHU_SPARK_STAGING``) must be shared storage.
    """

    def kernel(batch: pa.RecordBatch) -> TableCounts:
        return count_batch(batch, today=today, plan=plan)

    return _sum(_tasks.map_staged(batches, kernel, _sum, rows=STAGED_BATCH_ROWS))
