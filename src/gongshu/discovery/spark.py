"""The Spark engine (`gongshu scan --engine spark`): the same kernels on Apache Spark.

The driver reads the file exactly as the in-process engine does (same reader,
same encoding detection, same head plan and distinct counts), hands the rows
past the head to Spark as Parquet, and Spark runs
:func:`~gongshu.discovery.classifier.count_batch` on each Arrow batch through
``mapInArrow``. Evidence counts add up, so the driver sums the partial counts
and decides exactly as the local engine would: the JSON is the same.
"""

from __future__ import annotations

import atexit
import os
import pickle
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gongshu.discovery.classifier import TableCounts, count_batch
from gongshu.errors import InvalidInput

_SESSION: list = []


def java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and Path(home, "bin", "java").exists()))


def session():  # noqa: ANN201
    """One local SparkSession per process; its Python workers use this interpreter."""
    if _SESSION:
        return _SESSION[0]
    if not java_available():
        raise InvalidInput(
            "Spark 引擎需要 Java 运行环境 (Java not found)：请安装 Java 17 "
            "（Debian：apt-get install default-jre-headless）或设置 JAVA_HOME"
        )
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master(os.environ.get("GONGSHU_SPARK_MASTER", "local[2]"))
            .appName("gongshu-scan")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.memory", "1g")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate()
        )
    spark.sparkContext.setLogLevel("ERROR")
    _SESSION.append(spark)
    atexit.register(stop)
    return spark


def stop() -> None:
    if _SESSION:
        _SESSION.pop().stop()


def count_rest(batches: Iterator[pa.RecordBatch], *, today: date, plan: dict | None) -> TableCounts:
    """Counts of ``batches`` computed on Spark executors with ``plan``."""
    tmp = Path(tempfile.mkdtemp(prefix="gongshu-spark-"))
    try:
        path, writer, rows = tmp / "rest.parquet", None, 0
        for batch in batches:
            if batch.num_rows == 0:
                continue
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema)
            writer.write_batch(batch)
            rows += batch.num_rows
        if writer is None:
            return TableCounts(0)
        writer.close()
        schema = pq.read_schema(path)
        spark = session()

        def kernel(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for b in it:
                # Spark may hand over large_string; the kernels see what the local reader gives.
                b = pa.RecordBatch.from_arrays(
                    [b.column(i).cast(schema.field(i).type) for i in range(b.num_columns)],
                    names=schema.names,
                )
                counts = count_batch(b, today=today, plan=plan)
                yield pa.RecordBatch.from_pydict({"counts": [pickle.dumps(counts)]})

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parts = spark.read.parquet(str(path)).mapInArrow(kernel, "counts binary").collect()
        total = TableCounts(0)
        for row in parts:
            total = total + pickle.loads(row["counts"])  # noqa: S301 - our own executors' output
        return total
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
