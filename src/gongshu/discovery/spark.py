"""The Spark engine (`gongshu scan --engine spark`): the same kernels on Apache Spark.

The driver reads the file exactly as the in-process engine does (same reader,
same encoding detection, same head plan and distinct counts) and stages the
batches as an Arrow IPC file; Spark runs
:func:`~gongshu.discovery.classifier.count_batch` on them in its Python workers
through ``mapInArrow``, first every detector on the head (which decides the
plan), then the planned detectors on every other row. Evidence counts add up,
so the driver sums the partial counts and decides exactly as the local engine
would: the JSON is the same (issue 3 item 5).
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
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc  # noqa: F401 - pa.ipc

from gongshu.discovery.classifier import TableCounts, count_batch
from gongshu.errors import InvalidInput

_SESSION: list = []
_ATEXIT: list = []
_LOG4J_FILES: list[Path] = []
# Staged batches small enough that Spark spreads a file over all its cores.
STAGED_BATCH_ROWS = 65_536


class SparkUnavailable(InvalidInput):
    """The Spark engine cannot start here (no Java, or pyspark not installed)."""


# Spark's own log4j configuration prints WARN lines (hostname, native Hadoop) on
# stderr, under the CLI's progress bar; the scan reports errors itself. Spark
# announces "Setting default log level" unless its own loggers have an explicit
# level equal to the root's.
_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
logger.spark.name = org.apache.spark
logger.spark.level = error
"""


def java_available() -> bool:
    """Whether a ``java`` executable is on PATH or under ``$JAVA_HOME/bin``."""
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and Path(home, "bin", "java").exists()))


@contextmanager
def _quiet_pyspark() -> Iterator[None]:
    """PySpark's own deprecation/resource warnings are not ours (warnings are errors)."""
    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=category)
        yield


def session():  # noqa: ANN201
    """One local SparkSession per process; its Python workers use this interpreter."""
    if _SESSION:
        return _SESSION[0]
    if not java_available():
        raise SparkUnavailable(
            "Spark 引擎需要 Java 运行环境：请安装 Java 17 或设置 JAVA_HOME"
            "；Debian 上可执行 apt-get install default-jre-headless"
        )
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    with _quiet_pyspark():
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise SparkUnavailable("Spark 引擎需要 pyspark：请安装 pyspark>=4.0") from exc
        from pyspark.errors import PySparkException

        fd, name = tempfile.mkstemp(prefix="gongshu-log4j2-", suffix=".properties")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(_LOG4J)
        log4j = Path(name)
        try:
            spark = (
                SparkSession.builder.master(os.environ.get("GONGSHU_SPARK_MASTER", "local[2]"))
                .appName("gongshu-scan")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.driver.memory", "1g")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                .config(
                    "spark.driver.extraJavaOptions",
                    f"-Dlog4j2.configurationFile={log4j.as_uri()}",
                )
                .getOrCreate()
            )
        except (PySparkException, OSError) as exc:  # e.g. a Java that cannot run Spark
            log4j.unlink(missing_ok=True)
            raise SparkUnavailable(
                f"Spark 引擎无法启动：{exc}；请检查 Java 17 与 JAVA_HOME"
            ) from exc
        spark.sparkContext.setLogLevel("ERROR")
    _SESSION.append(spark)
    _LOG4J_FILES.append(log4j)
    if not _ATEXIT:
        atexit.register(stop)
        _ATEXIT.append(True)
    return spark


def stop() -> None:
    """Stop this process's SparkSession (also run at exit)."""
    if _SESSION:
        _SESSION.pop().stop()
    while _LOG4J_FILES:
        _LOG4J_FILES.pop().unlink(missing_ok=True)


def count_rest(batches: Iterator[pa.RecordBatch], *, today: date, plan: dict | None) -> TableCounts:
    """Counts of ``batches`` computed on Spark executors with ``plan``.

    The batches are staged as one Arrow IPC file in record batches of at most
    ``STAGED_BATCH_ROWS`` rows; Spark schedules one task per slice of batch numbers
    and each Python worker memory-maps the file and counts its batches, so the
    kernels see exactly the arrays the local reader gave (no JVM row conversion,
    no Parquet encoding). The staged copy is of the file being scanned, never a
    stored dataset version. On a cluster ``TMPDIR`` must be shared storage.
    """
    tmp = Path(tempfile.mkdtemp(prefix="gongshu-spark-"))
    try:
        path, writer, chunks = tmp / "rest.arrow", None, 0
        for batch in batches:
            for start in range(0, batch.num_rows, STAGED_BATCH_ROWS):
                if writer is None:
                    writer = pa.ipc.new_file(path, batch.schema)
                writer.write_batch(batch.slice(start, STAGED_BATCH_ROWS))
                chunks += 1
        if writer is None:
            return TableCounts(0)
        writer.close()
        spark = session()
        staged = str(path)

        def kernel(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            with pa.memory_map(staged) as source:
                staged_file = pa.ipc.open_file(source)
                total = TableCounts(0)
                for ids in it:
                    for i in ids.column(0).to_pylist():
                        b = staged_file.get_batch(i)
                        total = total + count_batch(b, today=today, plan=plan)
            yield pa.RecordBatch.from_pydict({"counts": [pickle.dumps(total)]})

        slices = max(1, min(chunks, spark.sparkContext.defaultParallelism))
        with _quiet_pyspark():
            parts = spark.range(0, chunks, 1, slices).mapInArrow(kernel, "counts binary").collect()
        total = TableCounts(0)
        for row in parts:
            total = total + pickle.loads(row["counts"])  # noqa: S301 - our own executors' output
        return total
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
