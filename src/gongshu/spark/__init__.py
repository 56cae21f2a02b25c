"""Heavy kernels on Apache Spark: local mode or a standalone cluster (issue 19 item 2)."""

from gongshu.spark.context import (
    SparkUnavailable,
    engine,
    java_available,
    master,
    quiet_pyspark,
    session,
    stop,
)

__all__ = [
    "SparkUnavailable",
    "engine",
    "java_available",
    "master",
    "quiet_pyspark",
    "session",
    "stop",
]
