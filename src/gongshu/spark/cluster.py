"""Start and stop a standalone Spark cluster on this machine (tests, benchmarks, a
one-machine deployment): a master and workers run by pip pyspark's ``spark-class``.

A deployment over several machines starts the same two classes by hand or under
systemd (docs/deployment.md, "Spark cluster"); this module is the one-machine case.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from gongshu.spark.context import SparkUnavailable, java_available


def spark_home() -> Path:
    """The pip pyspark package directory (it holds ``bin/spark-class`` and ``jars``)."""
    try:
        import pyspark
    except ImportError as exc:
        raise SparkUnavailable("Spark 集群需要 pyspark：请安装 pyspark>=4.0") from exc
    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalCluster:
    """A master and ``workers`` workers on 127.0.0.1, each worker ``cores`` cores and
    ``memory`` for its executors. ``url`` is the master (``spark://127.0.0.1:port``)."""

    workers: int = 2
    cores: int = 1
    memory: str = "512m"
    url: str = ""
    web: int = 0
    work_dir: Path | None = None
    # Added to the workers' environment, which their executors inherit (the object
    # store's GONGSHU_S3_ACCESS_KEY and GONGSHU_S3_SECRET_KEY, never sent with tasks).
    env: dict[str, str] = field(default_factory=dict)
    _procs: list[subprocess.Popen] = field(default_factory=list)

    def _spawn(self, name: str, *args: str, opts: dict[str, str] | None = None) -> None:
        home = spark_home()
        assert self.work_dir is not None
        log = open(self.work_dir / f"{name}.log", "wb")  # noqa: SIM115 - lives with the process
        env = {
            **os.environ,
            **self.env,
            **(opts or {}),
            "SPARK_HOME": str(home),
            "SPARK_LOG_DIR": str(self.work_dir),
        }
        env.pop("PYTHONPATH", None)  # the JVM needs none; executors get theirs from the driver
        self._procs.append(
            subprocess.Popen(  # noqa: S603 - fixed command line
                [str(home / "bin" / "spark-class"), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group: stop() ends the JVM too
            )
        )
        log.close()

    def start(self, timeout: float = 120.0, attempts: int = 3) -> LocalCluster:
        """Start the master and workers; wait until every worker is ALIVE.

        The ports are free when chosen but another process may take one before the
        JVM binds it (the test S3 server starts beside the cluster). The master is
        told not to drift to the next port (``spark.port.maxRetries=0``: workers and
        this status check would reach someone else), so a taken port ends it and the
        whole start is tried again on fresh ports."""
        if not java_available():
            raise SparkUnavailable("Spark 集群需要 Java 运行环境：请安装 Java 17 或设置 JAVA_HOME")
        for _ in range(attempts):
            if self._start_once(timeout):
                return self
        raise SparkUnavailable("Spark 集群未能在限定时间内启动：请检查 Java 17 与端口占用")

    def _start_once(self, timeout: float) -> bool:
        self.work_dir = Path(tempfile.mkdtemp(prefix="gongshu-spark-cluster-"))
        port, self.web = free_port(), free_port()
        self.url = f"spark://127.0.0.1:{port}"
        self._spawn(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(self.web),
            # no REST submission server (port 6066 for every master on the machine:
            # a second cluster's would fail to bind it and, with no retries, be left
            # unable to register workers)
            opts={
                "SPARK_MASTER_OPTS": "-Dspark.port.maxRetries=0 -Dspark.master.rest.enabled=false"
            },
        )  # fmt: skip
        for i in range(self.workers):
            work = self.work_dir / f"worker-{i}"
            (work / "local").mkdir(parents=True)
            self._spawn(
                f"worker-{i}",
                "org.apache.spark.deploy.worker.Worker",
                "--host", "127.0.0.1", "--cores", str(self.cores), "--memory", self.memory,
                "--webui-port", str(free_port()), "--work-dir", str(work), self.url,
                # its executors' scratch (shuffle and spill files) under the cluster's
                # own directory, not the machine's /tmp
                opts={"SPARK_LOCAL_DIRS": str(work / "local")},
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.alive_workers() >= self.workers:
                return True
            if any(p.poll() is not None for p in self._procs):
                break
            time.sleep(0.3)
        self.stop(keep=True)  # its logs stay for whoever wonders why it did not start
        return False

    def alive_workers(self) -> int:
        """Workers the master lists as ALIVE (its JSON status page). An answer that is
        not this master's status (another server on the port) counts none."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web}/json/", timeout=2) as r:  # noqa: S310
                status = json.load(r)
        except (OSError, ValueError):
            return 0
        if not isinstance(status, dict) or status.get("url") != self.url:
            return 0
        return sum(1 for w in status.get("workers", []) if w.get("state") == "ALIVE")

    def stop(self, *, keep: bool = False) -> None:
        """End the workers, then the master (each whole process group), and remove the
        cluster's directory (logs, the workers' scratch) unless ``keep``."""
        for proc in reversed(self._procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for proc in self._procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._procs.clear()
        if not keep and self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
