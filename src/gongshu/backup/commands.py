"""``gongshu backup DEST`` and ``gongshu restore SRC``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="实例目录（默认 GONGSHU_DATA_DIR 或 ./var）")
]


def backup(
    dest: Annotated[
        str, typer.Argument(help="备份目录（须为空或不存在），或对象存储位置 s3://存储桶/前缀")
    ],
    data_dir: DataDir = None,
) -> None:
    """在线备份：元数据快照、其引用的全部数据文件、以实例密钥封装的密钥与签名的账本检查点。"""
    from gongshu.backup import remote
    from gongshu.backup.snapshot import take
    from gongshu.config import load_settings

    settings = load_settings(data_dir)
    if remote.is_remote(dest):
        manifest = remote.take(settings, dest, progress=typer.echo)
    else:
        manifest = take(settings, Path(dest), progress=typer.echo)
    typer.echo(f"账本 {manifest['ledger']['size']} 条记录，{len(manifest['files'])} 个文件")


def restore(
    src: Annotated[
        str,
        typer.Argument(help="备份目录（gongshu backup 的输出），或对象存储位置 s3://存储桶/前缀"),
    ],
    data_dir: DataDir = None,
) -> None:
    """把备份恢复到空的实例目录（任意路径），并按备份检查点校验账本。

    PostgreSQL 实例恢复到 GONGSHU_DATABASE_URL 指向的空数据库。"""
    from gongshu.backup import remote
    from gongshu.backup.restore import restore as run
    from gongshu.config import load_settings

    settings = load_settings(data_dir)
    if remote.is_remote(src):
        manifest = remote.restore(src, settings, progress=typer.echo)
    else:
        manifest = run(Path(src), settings, progress=typer.echo)
    typer.echo(f"账本已按备份检查点校验通过：{manifest['ledger']['size']} 条记录")
