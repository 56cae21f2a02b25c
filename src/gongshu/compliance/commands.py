"""``gongshu compliance verify-audit N``: check an audit report's SM2 signatures (AUD-3).

Exit codes: 0 every signature valid, 1 a signature fails or none is there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

compliance_app = typer.Typer(help="合规：审计报告签名校验", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="实例目录")]


@compliance_app.callback()
def _group() -> None:
    """合规命令 (compliance)。"""


@compliance_app.command("verify-audit")
def verify_audit(
    audit_id: Annotated[int, typer.Argument(help="合规审计编号")],
    data_dir: DataDir = None,
) -> None:
    """重新计算审计报告的 SM3 哈希，逐一校验签署人的 SM2 签名。"""
    from gongshu.compliance import audits, signing
    from gongshu.db import transaction
    from gongshu.runtime import Instance, load_settings

    instance = Instance.open(load_settings(data_dir))
    try:
        with transaction(instance.session_factory) as session:
            audit = audits.get(session, audit_id)
            digest = signing.report_digest(session, audit).hex()
            checks = signing.verify(session, audit_id)
    finally:
        instance.close()
    typer.echo(f"报告哈希（SM3）：{digest}")
    for _role, ok, why in checks:
        typer.echo(("通过：" if ok else "失败：") + why)
    if not checks or not all(ok for _r, ok, _w in checks):
        if not checks:
            typer.echo("该审计报告尚无签名")
        raise typer.Exit(1)
