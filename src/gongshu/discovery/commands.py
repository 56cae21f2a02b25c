"""``gongshu scan PATH... [--json | --format table] [--sample N]`` (spec/scan-output.md).

JSON goes to stdout and nothing else does; progress goes to stderr, as a bar
when stderr is a terminal or the input is large. A file that cannot be read
is reported in place and the command exits 1 after printing the rest.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from gongshu.errors import InvalidInput

LARGE_INPUT_BYTES = 64 << 20


def _progress_bar(paths: list[Path]):  # noqa: ANN202
    """A rich progress bar on stderr, or None when nobody would see it."""
    total = sum(p.stat().st_size for p in paths if p.is_file())
    if not (sys.stderr.isatty() or total >= LARGE_INPUT_BYTES):
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("扫描 {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=sys.stderr.isatty(),
    )
    tasks = {
        str(p): bar.add_task(p.name, total=max(p.stat().st_size, 1) if p.is_file() else 1)
        for p in paths
    }

    def update(source: str, seen: int) -> None:
        # Arrow batch bytes approximate file bytes; cap at the file size.
        task = tasks[source]
        bar.update(task, completed=min(seen, bar.tasks[task].total or seen))

    return bar, update


def format_table(report: dict) -> str:
    """The report for people: one block per file, one line per column."""
    lines = [f"扫描日期 {report['scanned_at']}"]
    for t in report["tables"]:
        lines.append("")
        if "error" in t:
            lines.append(f"{t['source']}：错误 {t['error']}")
            continue
        head = f"{t['source']}  {t['rows']} 行  编码 {t.get('encoding') or '-'}"
        if t["minors_under_14"]:
            head += "  含不满十四周岁未成年人信息"
        if "grading" in t:
            g = t["grading"]
            head += f"  建议级别 {g['grade']}"
            if g["important_data_candidate"]:
                head += "  重要数据候选"
        lines.append(head)
        width = max([len(c["name"]) for c in t["columns"]] + [4])
        for c in t["columns"]:
            ents = ",".join(c["entities"]) or "-"
            ev = " ".join(f"{e}={v['matched']}/{v['checked']}" for e, v in c["evidence"].items())
            mark = "敏感" if c["sensitive"] else "    "
            extra = f"  {c['grade']} {c['masking']}" if "grade" in c else ""
            lines.append(f"  {c['name']:<{width}}  {mark}  {ents:<28} {ev}{extra}")
    return "\n".join(lines)


def scan(
    paths: Annotated[list[str], typer.Argument(help="CSV / XLSX / Parquet 文件，可多个")],
    as_json: Annotated[
        bool, typer.Option("--json", help="输出 JSON（等同 --format json）")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="输出格式：table 或 json")] = "table",
    sample: Annotated[
        int | None, typer.Option("--sample", help="抽样行数（省略则全量扫描）")
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="扫描引擎：local（进程内）或 spark（Spark 集群，需 Java）；默认取 GONGSHU_ENGINE",
        ),
    ] = None,
    grades: Annotated[
        bool, typer.Option("--grades", help="附带分级建议、脱敏默认与重要数据候选")
    ] = False,
    today: Annotated[
        str | None, typer.Option("--today", help="扫描日期 YYYY-MM-DD（判断未成年人用，默认今天）")
    ] = None,
) -> None:
    """发现并分类分级表格中的个人信息与敏感数据 (discovery scan)。"""
    from gongshu.discovery.scanner import scan_paths

    if fmt not in ("table", "json"):
        raise InvalidInput(f"不支持的输出格式：{fmt}，可选 table 或 json")
    try:
        scan_date = date.fromisoformat(today) if today else None
    except ValueError as exc:
        raise InvalidInput(f"扫描日期格式错误：{today}，应为 YYYY-MM-DD") from exc
    if engine is None:  # GONGSHU_ENGINE=spark sends every heavy kernel to the cluster
        from gongshu.spark import engine as configured_engine

        engine = "spark" if configured_engine() == "spark" else "local"
    # kept as typed: the report's "source" is the path as given (scan-output.md)
    bar, update = _progress_bar([Path(p) for p in paths])
    if bar is not None:
        bar.start()
    try:
        report = scan_paths(
            paths,
            sample_rows=sample,
            today=scan_date,
            engine=engine,
            grading=grades,
            progress=update,
        )
    finally:
        if bar is not None:
            bar.stop()
    if as_json or fmt == "json":
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        typer.echo(format_table(report))
    if any("error" in t for t in report["tables"]):
        raise typer.Exit(1)
