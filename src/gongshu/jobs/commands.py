"""``gongshu worker``: run background jobs until SIGINT/SIGTERM (or once)."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="实例目录（默认 GONGSHU_DATA_DIR 或 ./var）"),
]


def worker(
    data_dir: DataDir = None,
    once: Annotated[
        bool, typer.Option("--once", help="只领取并执行一个任务后退出（无任务则直接退出）")
    ] = False,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", help="空闲时两次轮询之间的秒数")
    ] = 1.0,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="只处理这些任务类型，可重复")
    ] = None,
) -> None:
    """运行后台任务工作进程 (worker)，直到收到 SIGINT/SIGTERM。"""
    from gongshu.capability import installed
    from gongshu.jobs.worker import Worker
    from gongshu.runtime import Instance, load_settings, require_current_schema

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    installed().load_job_handlers()  # every capability's handlers (Capability.jobs)
    instance = Instance.open(load_settings(data_dir))
    try:
        require_current_schema(instance)
        runner = Worker(
            instance.session_factory,
            kinds=kind or None,
            poll_interval=poll_interval,
            settings=instance.settings,
        )
        if once:
            ran = runner.run_once()
            typer.echo("已执行一个任务" if ran else "没有待执行的任务")
            return
        stop = threading.Event()
        previous = {
            sig: signal.signal(sig, lambda *_: stop.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        typer.echo(f"工作进程已启动：{runner.worker_id}")
        try:
            runner.run(stop)
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
        typer.echo("工作进程已停止")
    finally:
        instance.close()
