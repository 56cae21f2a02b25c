"""A Spark driver's staged batches and partial results belong to a live process: a
driver killed mid-job leaves them (sealed, but they can be gigabytes), and the next
job anywhere on the staging area removes them at once, while the directories of
drivers still running stay (issue 20 item 3, issue 19 item 2)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from gongshu.spark import tasks

DRIVER = """
import os, sys, time
from gongshu.spark import tasks
job = tasks.job_dir()
(job / "staged.sealed").write_bytes(b"x" * 4096)
print(job, flush=True)
time.sleep(600)
"""


def _driver(staging: Path) -> tuple[subprocess.Popen, Path]:
    env = {**os.environ, "GONGSHU_SPARK_STAGING": str(staging)}
    proc = subprocess.Popen(  # noqa: S603 - this interpreter
        [sys.executable, "-c", DRIVER], env=env, stdout=subprocess.PIPE, text=True
    )
    job = Path(proc.stdout.readline().strip())
    assert (job / "staged.sealed").is_file()
    return proc, job


def test_a_killed_drivers_staging_goes_with_the_next_job(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("GONGSHU_SPARK_STAGING", str(tmp_path))
    killed, dead_job = _driver(tmp_path)
    running, live_job = _driver(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        assert dead_job.is_dir()  # nothing removes it when the driver dies

        mine = tasks.job_dir()  # the next job, in this process
        assert not dead_job.exists()
        assert not dead_job.parent.exists()  # the dead driver's own directory too
        assert (live_job / "staged.sealed").is_file()  # a running driver's job stays
        assert mine.is_dir() and mine.parent != live_job.parent
        assert mine.parent.parent == tmp_path / tasks.STAGING_AREA

        tasks.job_dir()  # this process's own jobs are never swept by itself
        assert mine.is_dir()
    finally:
        running.kill()
        running.wait(10)
        killed.stdout.close()
        running.stdout.close()
