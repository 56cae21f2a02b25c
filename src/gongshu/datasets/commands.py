"""``gongshu keys ...``: rotate the data key for sealed columns, re-encrypt old versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gongshu.storage.commands import mount as mount_key_backup

keys_app = typer.Typer(help="静态加密密钥：轮换与重新加密", no_args_is_help=True)
mount_key_backup(keys_app)  # gongshu keys export / import (storage/commands.py)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="实例目录（默认 GONGSHU_DATA_DIR 或 ./var）")
]


@keys_app.command("rotate")
def rotate_command(data_dir: DataDir = None) -> None:
    """新建当前数据密钥；旧密钥保留用于读取，服务不停 (rotate, no downtime)。"""
    from gongshu import storage
    from gongshu.runtime import Instance, load_settings

    instance = Instance.open(load_settings(data_dir))
    try:
        key_id = storage.rotate(instance.settings.datasets_dir)
    finally:
        instance.close()
    typer.echo(f"已启用新的数据密钥：{key_id}；运行 gongshu keys reseal 重新加密旧版本。")


@keys_app.command("reseal")
def reseal_command(data_dir: DataDir = None) -> None:
    """用当前密钥重新加密旧版本，并加密升级前未加密的敏感列 (reseal)。"""
    from gongshu import storage
    from gongshu.datasets.service import seal_existing
    from gongshu.db import transaction
    from gongshu.runtime import Instance, load_settings

    instance = Instance.open(load_settings(data_dir))
    ds = instance.settings.datasets_dir
    try:
        with transaction(instance.session_factory) as session:
            sealed = seal_existing(session, datasets_dir=ds, by="system:keys")
            moved = storage.reseal(session, datasets_dir=ds, by="system:keys")
    finally:
        instance.close()
    typer.echo(f"新加密 {sealed} 个版本，改用当前密钥 {moved} 个版本。")
