"""One standalone Spark cluster (a master and two one-core workers started with pip
pyspark's ``spark-class``) shared by every cluster test of the run, and a SparkSession
on it (``GONGSHU_SPARK_MASTER``) for the tests of this folder."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from gongshu import spark as spark_engine
from gongshu.spark.cluster import LocalCluster


@pytest.fixture(scope="session")
def cluster(s3_server) -> Iterator[LocalCluster]:  # noqa: ANN001
    """The workers hold the test S3 server's credentials in their environment, as a
    deployment's workers do (docs/deployment.md); tasks carry none."""
    if not spark_engine.java_available():
        pytest.skip("Java is not installed (make java-deps)")
    env = {
        "GONGSHU_S3_ACCESS_KEY": s3_server.access_key,
        "GONGSHU_S3_SECRET_KEY": s3_server.secret_key,
    }
    with LocalCluster(workers=2, cores=1, memory="512m", env=env) as running:
        yield running


@pytest.fixture(scope="module")
def spark_conf() -> dict[str, str]:
    """More Spark properties for the module's session (a module overrides this)."""
    return {}


@pytest.fixture(scope="module")
def on_cluster(cluster: LocalCluster, spark_conf: dict[str, str]):  # noqa: ANN201
    """The process's SparkSession, connected to the cluster for this module."""
    spark_engine.stop()  # a local-mode session of an earlier module
    before = os.environ.get("GONGSHU_SPARK_MASTER")
    os.environ["GONGSHU_SPARK_MASTER"] = cluster.url
    try:
        spark = spark_engine.session(spark_conf)
        assert spark.sparkContext.master == cluster.url
        # Both workers' executors registered before the tests run (on a loaded machine
        # one can take half a minute to start, and the other would run every task).
        status = spark.sparkContext._jsc.sc().getExecutorMemoryStatus
        deadline = time.monotonic() + 120
        while status().size() < cluster.workers + 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        yield spark
    finally:
        spark_engine.stop()
        if before is None:
            os.environ.pop("GONGSHU_SPARK_MASTER", None)
        else:
            os.environ["GONGSHU_SPARK_MASTER"] = before
