"""The one SparkSession of a process: local mode or a standalone cluster.

``GONGSHU_SPARK_MASTER`` names the master (``spark://host:7077``, or ``local[N]``,
the default ``local[2]``). On a standalone cluster each executor gets
``GONGSHU_SPARK_EXECUTOR_MEMORY`` (default 512m) and one core per task, and its
Python workers import ``gongshu`` from the same source directory as the driver
(``spark.executorEnv.PYTHONPATH``): on other machines that path must hold the
same release (see docs/deployment.md, "Spark cluster").
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from gongshu.errors import InvalidInput

_SESSION: list = []
_ATEXIT: list = []
_LOG4J_FILES: list[Path] = []
DEFAULT_MASTER = "local[2]"


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
def quiet_pyspark() -> Iterator[None]:
    """PySpark's own deprecation/resource warnings are not ours (warnings are errors)."""
    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=category)
        yield


def master() -> str:
    """The master the session connects to (``GONGSHU_SPARK_MASTER``)."""
    return os.environ.get("GONGSHU_SPARK_MASTER") or DEFAULT_MASTER


def engine() -> str:
    """``spark`` when ``GONGSHU_ENGINE=spark`` selects the cluster for heavy kernels."""
    return (os.environ.get("GONGSHU_ENGINE") or "local").strip().lower()


def source_root() -> str:
    """The directory ``gongshu`` is imported from (executors import the same code)."""
    import gongshu

    return str(Path(gongshu.__file__).resolve().parents[1])


def session(conf: dict[str, str] | None = None):  # noqa: ANN201
    """One SparkSession per process; its Python workers use this interpreter.

    ``conf``: more Spark properties for the session this call creates (a test's
    uncompressed shuffle files); ignored when the session exists."""
    if _SESSION:
        return _SESSION[0]
    if not java_available():
        raise SparkUnavailable(
            "Spark 引擎需要 Java 运行环境：请安装 Java 17 或设置 JAVA_HOME"
            "；Debian 上可执行 apt-get install default-jre-headless"
        )
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    url = master()
    with quiet_pyspark():
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise SparkUnavailable("Spark 引擎需要 pyspark：请安装 pyspark>=4.0") from exc
        from pyspark.errors import PySparkException

        fd, name = tempfile.mkstemp(prefix="gongshu-log4j2-", suffix=".properties")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(_LOG4J)
        log4j = Path(name)
        builder = (
            SparkSession.builder.master(url)
            .appName("gongshu")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.memory", "1g")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config(
                "spark.driver.extraJavaOptions",
                f"-Dlog4j2.configurationFile={log4j.as_uri()}",
            )
        )
        for name, value in (conf or {}).items():
            builder = builder.config(name, value)
        if url.startswith("spark://"):
            builder = (
                builder.config(
                    "spark.executor.memory",
                    os.environ.get("GONGSHU_SPARK_EXECUTOR_MEMORY") or "512m",
                )
                .config("spark.executor.cores", "1")
                # Executors come and go with the work: every gongshu process (each job
                # worker, the server) keeps its one session for its lifetime, and an
                # idle one must not hold the cluster's cores from the others.
                .config("spark.dynamicAllocation.enabled", "true")
                .config("spark.dynamicAllocation.shuffleTracking.enabled", "true")
                .config("spark.dynamicAllocation.minExecutors", "0")
                .config("spark.dynamicAllocation.initialExecutors", "2")
                .config("spark.dynamicAllocation.schedulerBacklogTimeout", "1s")
                .config("spark.dynamicAllocation.executorIdleTimeout", "10s")
                .config("spark.executorEnv.PYTHONPATH", source_root())
                .config("spark.pyspark.python", sys.executable)
            )
            host = urlsplit(url).hostname or ""
            if host in ("127.0.0.1", "localhost"):  # one machine: no outside address
                builder = builder.config("spark.driver.host", "127.0.0.1")
        try:
            spark = builder.getOrCreate()
        except (PySparkException, OSError) as exc:  # e.g. a Java that cannot run Spark
            log4j.unlink(missing_ok=True)
            raise SparkUnavailable(
                f"Spark 引擎无法启动：{exc}；请检查 Java 17、JAVA_HOME 与 GONGSHU_SPARK_MASTER"
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
