"""``gongshu trace``: which delivery a leaked file came from (issue 4 item 5, SEC-3 溯源)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="实例目录")]


def trace(
    leaked: Annotated[Path, typer.Argument(help="泄露的文件（CSV、XLSX 或 Parquet）")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    entry: Annotated[int | None, typer.Option(help="只在该目录的交付中查找")] = None,
    data_dir: DataDir = None,
) -> None:
    """在全部带水印的交付中找出泄露文件的来源（接收方、交付记录与置信度）。"""
    from gongshu.db import transaction
    from gongshu.egress.tracing import trace_leak
    from gongshu.runtime import Instance, load_settings

    instance = Instance.open(load_settings(data_dir))
    try:
        with transaction(instance.session_factory) as session:
            verdict = trace_leak(
                session,
                leaked,
                secret=instance.settings.secret_key,
                entry_id=entry,
                datasets_dir=instance.settings.datasets_dir,
            )
    finally:
        instance.close()
    if as_json:
        typer.echo(json.dumps(verdict, ensure_ascii=False, indent=2))
    elif verdict["attributed"]:
        typer.echo(
            f"来源：{verdict['recipient_name']}（{verdict['recipient']}），"
            f"交付 {verdict['delivery_id']}，{verdict['delivery']['delivered_at']}，"
            f"用途：{verdict['delivery']['purpose']}；p = {verdict['p_value']:.2e}"
        )
    else:
        typer.echo(
            f"无法认定来源：比对 {len(verdict['candidates'])} 个候选，"
            f"证据不足（{verdict['bits']} 个水印位）"
        )
        raise typer.Exit(1)
