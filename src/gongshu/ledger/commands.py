"""``gongshu ledger ...``: verify the ledger, export signed heads, check an export.

Exit codes: 0 verified, 1 verification failed, 2 cannot run (no database,
no ledger tables, unreadable file).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gongshu.config import load_settings
from gongshu.db import make_engine, make_session_factory, read_only_factory
from gongshu.ledger.keys import load_public_keys, public_key_from
from gongshu.ledger.service import export_checkpoints
from gongshu.ledger.verification import VerifyReport, verify, verify_against

ledger_app = typer.Typer(help="审计账本：校验、导出检查点", no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="实例数据目录，默认读取 GONGSHU_DATA_DIR"),
]
PublicKey = Annotated[
    list[Path] | None,
    typer.Option(
        "--public-key",
        help="用于校验签名的公钥 PEM 文件，可重复：轮换前的旧公钥也一并给出；"
        "默认使用实例密钥目录中的公钥",
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@contextmanager
def _open(data_dir: Path | None) -> Iterator[tuple[Session, Any]]:
    settings = load_settings(data_dir)
    engine = make_engine(settings.db_url)
    if engine.dialect.name == "postgresql":  # one snapshot for the whole walk
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    try:
        # Read-only: on SQLite it takes no write lock, so a long verify never holds
        # up the server's writers.
        with read_only_factory(make_session_factory(engine))() as session:
            yield session, settings
    except SQLAlchemyError as exc:
        raise _fail(f"无法读取账本：{exc.__class__.__name__}") from exc
    finally:
        engine.dispose()


def _public_key(settings: Any, paths: list[Path] | None) -> Any:
    """The keys given (each checkpoint is checked with the one its fingerprint names),
    else the instance's own public key."""
    if not paths:
        return load_public_keys(settings.keys_dir)
    keys = []
    for path in paths:
        try:
            keys.append(public_key_from(path.read_bytes()))
        except (OSError, ValueError) as exc:
            raise _fail(f"无法读取公钥文件 {path}") from exc
    return keys


def _report(report: VerifyReport) -> None:
    if report.ok:
        counts = f"{report.entries} 条记录，{report.checkpoints} 个检查点"
        typer.echo(f"账本校验通过：{counts}")
        return
    typer.echo(f"账本校验失败：{report.problem}")
    raise typer.Exit(1)


@ledger_app.command("verify")
def verify_command(data_dir: DataDir = None, public_key: PublicKey = None) -> None:
    """重新计算全部记录与检查点，确认账本未被修改、删除或调换顺序。"""
    with _open(data_dir) as (session, settings):
        report = verify(session, _public_key(settings, public_key))
    _report(report)


@ledger_app.command("export")
def export_command(
    data_dir: DataDir = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="写入的文件，默认输出到标准输出")
    ] = None,
) -> None:
    """导出全部已签名检查点 (JSON)，交由外部保存。"""
    with _open(data_dir) as (session, _settings):
        heads = export_checkpoints(session)
    text = json.dumps(heads, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"已导出 {len(heads)} 个检查点：{output}", err=True)


@ledger_app.command("verify-export")
def verify_export_command(
    file: Annotated[Path, typer.Argument(help="此前导出的检查点 JSON 文件")],
    data_dir: DataDir = None,
    public_key: PublicKey = None,
) -> None:
    """确认当前账本仍包含外部保存的检查点 (consistency with an export)。"""
    try:
        exported = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _fail(f"无法读取导出文件 {file}") from exc
    if not isinstance(exported, list):
        raise _fail(f"导出文件 {file} 格式错误")
    with _open(data_dir) as (session, settings):
        report = verify_against(session, exported, public_key=_public_key(settings, public_key))
    _report(report)
