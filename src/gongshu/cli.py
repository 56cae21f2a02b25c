"""The ``gongshu`` command. Every command finds its instance from ``--data-dir``
or GONGSHU_DATA_DIR (default ./var). A user error prints one line in Chinese
with the English key term and exits 1; no traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gongshu.errors import GongshuError

app = typer.Typer(
    help="公数 Gongshu：省级公共数据平台。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
user_app = typer.Typer(help="账户管理。", no_args_is_help=True)
org_app = typer.Typer(help="机构管理。", no_args_is_help=True)
region_app = typer.Typer(help="行政区划。", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(org_app, name="org")
app.add_typer(region_app, name="region")
_mounted: list[bool] = []

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="实例目录（默认 GONGSHU_DATA_DIR 或 ./var）")
]


def _mount_capability_commands() -> None:
    """Capabilities add their commands (``Capability.commands``), like they add routes."""
    from gongshu import capabilities

    if _mounted:
        return
    _mounted.append(True)
    capabilities.activate()
    for name, command in capabilities.commands():
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=name)
        else:
            app.command(name)(command)


def _open(data_dir: Path | None, **overrides):  # noqa: ANN202
    from gongshu.runtime import Instance, load_settings

    return Instance.open(load_settings(data_dir, **overrides))


@app.command()
def init(data_dir: DataDir = None) -> None:
    """创建或升级实例：数据库结构（Alembic）、数据目录与实例签名密钥。"""
    from gongshu.app.server import init_instance

    instance = _open(data_dir)
    try:
        init_instance(instance)
        typer.echo(f"实例已就绪：{instance.settings.data_dir.resolve()}")
    finally:
        instance.close()


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="监听地址")] = None,
    port: Annotated[int | None, typer.Option(help="监听端口")] = None,
    workers: Annotated[int | None, typer.Option(help="服务进程数（PostgreSQL 时每核一个）")] = None,
) -> None:
    """启动 Web 服务（需先运行 gongshu init）。"""
    from gongshu.app.server import run_server

    given = (("host", host), ("port", port), ("workers", workers))
    overrides = {k: v for k, v in given if v is not None}
    instance = _open(data_dir, **overrides)
    run_server(instance)


@app.command()
def demo(
    data_dir: DataDir = None,
    port: Annotated[int | None, typer.Option(help="监听端口（默认 8000）")] = None,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="加载后是否启动服务")] = True,
) -> None:
    """演示：初始化实例、载入演示省份（首次）、打印演示账户并启动服务。"""
    from gongshu.app.server import init_instance, run_server
    from gongshu.demo.loader import ensure_demo

    overrides: dict = {"demo": True}
    if port is not None:
        overrides["port"] = port
    instance = _open(data_dir, **overrides)
    init_instance(instance)
    ensure_demo(instance, echo=typer.echo)
    if serve:
        run_server(instance)
    else:
        instance.close()


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="用户名")],
    org: Annotated[str, typer.Option(help="所属机构名称")],
    role: Annotated[list[str], typer.Option(help="角色，可重复：admin/reviewer/clerk/...")],
    display_name: Annotated[str | None, typer.Option(help="姓名")] = None,
    password: Annotated[str | None, typer.Option(help="密码（省略则交互输入）")] = None,
    data_dir: DataDir = None,
) -> None:
    """新增用户。"""
    from gongshu.accounts import service as accounts
    from gongshu.db import transaction

    if password is None:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    instance = _open(data_dir)
    try:
        with transaction(instance.session_factory) as session:
            organization = accounts.find_org(session, org)
            user = accounts.create_user(
                session,
                username,
                password,
                org=organization,
                roles=role,
                display_name=display_name or username,
                by="cli",
            )
            typer.echo(f"已创建用户：{user.username}（{organization.name}）")
    finally:
        instance.close()


@region_app.command("add")
def region_add(
    code: Annotated[str, typer.Argument(help="GB/T 2260 行政区划代码，如 360000")],
    name: Annotated[str, typer.Argument(help="名称，如 江西省")],
    parent: Annotated[str | None, typer.Option(help="上级区划代码")] = None,
    data_dir: DataDir = None,
) -> None:
    """新增行政区划（省、市、县三级，层级由代码推出）。"""
    from gongshu.accounts import service as accounts
    from gongshu.db import transaction

    instance = _open(data_dir)
    try:
        with transaction(instance.session_factory) as session:
            region = accounts.add_region(session, code, name, parent=parent)
            typer.echo(f"已新增行政区划：{region.code} {region.name}（{region.tier}）")
    finally:
        instance.close()


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Argument(help="机构名称")],
    kind: Annotated[
        str, typer.Option(help="data_authority/agency/enterprise/operator/auditor/regulator")
    ],
    region: Annotated[str, typer.Option(help="所在行政区划代码")],
    data_dir: DataDir = None,
) -> None:
    """新增机构。"""
    from gongshu.accounts import service as accounts
    from gongshu.db import transaction

    instance = _open(data_dir)
    try:
        with transaction(instance.session_factory) as session:
            org = accounts.add_organization(session, name, kind=kind, region_code=region, by="cli")
            typer.echo(f"已新增机构：{org.name}")
    finally:
        instance.close()


@app.command()
def load(
    resource_code: Annotated[str, typer.Argument(help="目录资源代码")],
    file: Annotated[Path, typer.Argument(help="CSV / XLSX / Parquet 文件")],
    as_user: Annotated[str, typer.Option("--as", help="以哪个用户的身份加载（数据提供单位）")],
    data_dir: DataDir = None,
) -> None:
    """把表格加载到已发布的目录，生成新的数据版本并打印加载报告。"""
    from sqlalchemy import select

    from gongshu.accounts import service as accounts
    from gongshu.catalog.models import CatalogEntry
    from gongshu.datasets import service as datasets
    from gongshu.datasets.ingest import LoadRejected
    from gongshu.db import read_first_factory, transaction

    instance = _open(data_dir)
    try:
        # Read-first: the file is converted outside the write lock, which is taken
        # for the version's rows alone (datasets.service.load); the server's writers
        # wait milliseconds, not the length of the load.
        with transaction(read_first_factory(instance.session_factory)) as session:
            entry_id = session.scalar(
                select(CatalogEntry.id).where(CatalogEntry.resource_code == resource_code)
            )
            if entry_id is None:
                raise GongshuError(f"目录不存在：{resource_code}")
            user = accounts.get_user(session, as_user)
            try:
                version = datasets.load(
                    session, entry_id, file, actor=user, datasets_dir=instance.settings.datasets_dir
                )
            except LoadRejected as exc:
                for bad in exc.report.bad_values[:20]:
                    typer.echo(
                        f"  第 {bad.row} 行「{bad.column}」：{bad.reason}：{bad.value}", err=True
                    )
                raise
            typer.echo(
                f"已加载：{resource_code} 第 {version.version_no} 版，"
                f"{version.rows} 行，错误值 {version.bad_values_total} 个"
            )
            for bad in version.report.get("bad_values", [])[:20]:
                typer.echo(
                    f"  第 {bad['row']} 行「{bad['column']}」：{bad['reason']}：{bad['value']}"
                )
    finally:
        instance.close()


def main() -> None:
    _mount_capability_commands()
    try:
        app()
    except GongshuError as exc:
        typer.echo(f"错误：{exc.message}", err=True)
        sys.exit(1)
