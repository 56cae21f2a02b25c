"""``gongshu keys export | import``: back up and restore the instance's keys.

The passphrase is asked for twice on a terminal, or read from
``GONGSHU_KEYS_PASSPHRASE`` (scripts). The backup is useless without it; keep
the two apart.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="实例目录（默认 GONGSHU_DATA_DIR 或 ./var）")
]
PASSPHRASE_ENV = "GONGSHU_KEYS_PASSPHRASE"


def _passphrase(confirm: bool) -> str:
    given = os.environ.get(PASSPHRASE_ENV)
    if given:
        return given
    return typer.prompt("备份口令", hide_input=True, confirmation_prompt=confirm)


def export_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="写入的备份文件")],
    data_dir: DataDir = None,
) -> None:
    """把签名密钥与数据密钥备份为一个以口令加密的文件 (export)。"""
    from gongshu.config import load_settings
    from gongshu.storage.keybackup import export_backup

    if output.exists():
        raise typer.BadParameter(f"{output} 已存在，不覆盖", param_hint="--output")
    blob = export_backup(load_settings(data_dir), _passphrase(confirm=True))
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(blob)
    typer.echo(f"密钥已备份：{output}；请与口令分开保管。")


def import_command(
    file: Annotated[Path, typer.Argument(help="gongshu keys export 写出的备份文件")],
    data_dir: DataDir = None,
) -> None:
    """从备份恢复缺失的密钥；已有且不同的密钥一律拒绝覆盖 (import)。"""
    from gongshu.config import load_settings
    from gongshu.storage.keybackup import import_backup

    try:
        blob = file.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"无法读取 {file}", param_hint="FILE") from exc
    report = import_backup(load_settings(data_dir), blob, _passphrase(confirm=False))
    words = {"restored": "已恢复", "present": "已存在且一致", "absent": "备份中没有"}
    signing, data = words[report.signing_key], words[report.data_keys]
    typer.echo(f"签名密钥：{signing}；数据密钥：{data}")


def mount(keys_app: typer.Typer) -> None:
    """Add the backup commands to ``gongshu keys``."""
    keys_app.command("export")(export_command)
    keys_app.command("import")(import_command)
