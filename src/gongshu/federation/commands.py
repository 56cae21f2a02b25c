"""``gongshu node ...``: make this instance a node, print its anchor, join, sync,
status, list cross-node sharing near or past its deadline, and re-verify the message
log offline (exit 1 when it does not verify)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gongshu.db import transaction
from gongshu.errors import GongshuError
from gongshu.federation import (
    chain,
    client,
    directory,
    feed,
    identity,
    jobs,
    members,
    peers,
    returned,
    sharing,
)
from gongshu.federation.envelope import sign
from gongshu.federation.models import CHANNEL_LABELS, ROLE_LABELS

node_app = typer.Typer(
    help="联邦节点：初始化、信任锚、加入、同步、校验消息日志", no_args_is_help=True
)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="实例目录")]


def _open(data_dir: Path | None):  # noqa: ANN202
    from gongshu.runtime import Instance, load_settings

    return Instance.open(load_settings(data_dir))


def _join(session, settings) -> str:  # noqa: ANN001
    node = identity.me(session)
    text, signature = sign(identity.private_key(settings), members.join_document(node))
    body = json.dumps({"document": text, "signature": signature}).encode()
    answer = client.post(f"{node.anchor_address}/federation/v1/join", body)
    return f"已向省级节点提交加入申请（编号 {answer['request_id']}），待省级数据管理部门批准"


@node_app.command("init")
def init(
    role: Annotated[str, typer.Option(help="province | city | county | national")],
    region: Annotated[str, typer.Option(help="6 位行政区划代码")],
    address: Annotated[str, typer.Option(help="本节点对外地址，如 http://10.0.0.2:8000")],
    join: Annotated[str | None, typer.Option(help="省级节点地址（下级节点）")] = None,
    anchor: Annotated[Path | None, typer.Option(help="省级节点的信任锚文件")] = None,
    data_dir: DataDir = None,
) -> None:
    """创建本节点的 SM2 密钥对；下级节点随即向省级节点提交加入申请。"""
    instance = _open(data_dir)
    try:
        anchor_doc = identity.read_anchor(anchor) if anchor else None
        if anchor_doc and join and join.rstrip("/") != anchor_doc["address"]:
            raise typer.BadParameter("--join 与信任锚中的省级节点地址不一致")
        with transaction(instance.session_factory) as session:
            node = identity.init_node(
                session,
                instance.settings,
                role=role,
                region_code=region,
                address=address,
                anchor=anchor_doc,
            )
            typer.echo(
                f"节点已初始化：{node.node_id}，公钥指纹 {chain.fingerprint(node.public_key)}"
            )
        if anchor_doc:
            with transaction(instance.session_factory) as session:
                typer.echo(_join(session, instance.settings))
    except (GongshuError, client.Unreachable, client.PeerRefused) as exc:
        typer.echo(f"失败：{exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        instance.close()


@node_app.command("join")
def join_again(data_dir: DataDir = None) -> None:
    """再次向省级节点提交加入申请（初始化时省级节点不可达时使用）。"""
    instance = _open(data_dir)
    try:
        with transaction(instance.session_factory) as session:
            typer.echo(_join(session, instance.settings))
    except (GongshuError, client.Unreachable, client.PeerRefused) as exc:
        typer.echo(f"失败：{exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        instance.close()


@node_app.command("anchor")
def anchor(
    out: Annotated[Path | None, typer.Option(help="写入文件（默认打印）")] = None,
    data_dir: DataDir = None,
) -> None:
    """省级节点的信任锚（公钥与地址），线下交给下级节点。"""
    instance = _open(data_dir)
    try:
        with transaction(instance.session_factory) as session:
            node = identity.me(session)
            if node.role not in ("province", "national"):
                raise typer.BadParameter("只有省级节点和国家级登记节点有信任锚")
            text = json.dumps(identity.anchor_of(node), ensure_ascii=False, indent=2)
        if out:
            out.write_text(text + "\n")
            typer.echo(f"信任锚已写入 {out}")
        else:
            typer.echo(text)
    finally:
        instance.close()


def _add_peer(data_dir: Path | None, anchor_file: Path, *, own: str, peer: str) -> None:
    instance = _open(data_dir)
    try:
        doc = identity.read_anchor(anchor_file, peer)
        with transaction(instance.session_factory) as session:
            node = identity.me(session)
            if node.role != own:
                raise typer.BadParameter(f"本命令只在{identity.ANCHOR_WHAT[own]}上运行")
            member = members.dock(session, doc)
            typer.echo(
                f"已认定 {member.node_id}（{ROLE_LABELS[member.role]}），"
                f"公钥指纹 {chain.fingerprint(member.public_key)}"
            )
    except GongshuError as exc:
        typer.echo(f"失败：{exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        instance.close()


@node_app.command("dock")
def dock(
    anchor: Annotated[Path, typer.Option(help="国家级登记节点的信任锚文件")],
    data_dir: DataDir = None,
) -> None:
    """省级节点：用国家级登记节点的信任锚对接国家登记平台。"""
    _add_peer(data_dir, anchor, own="province", peer="national")


@node_app.command("admit")
def admit(
    anchor: Annotated[Path, typer.Option(help="省级节点的信任锚文件")],
    data_dir: DataDir = None,
) -> None:
    """国家级登记节点：用省级节点的信任锚接纳其报送。"""
    _add_peer(data_dir, anchor, own="national", peer="province")


@node_app.command("sync")
def sync(data_dir: DataDir = None) -> None:
    """立即同步一轮（服务运行时后台每秒自动同步）。"""
    instance = _open(data_dir)
    try:
        with transaction(instance.session_factory) as session:
            typer.echo(json.dumps(jobs.tick(session, instance.settings), ensure_ascii=False))
    finally:
        instance.close()


@node_app.command("status")
def status(data_dir: DataDir = None) -> None:
    """本节点、节点目录有效期与提醒。"""
    instance = _open(data_dir)
    try:
        with transaction(instance.session_factory) as session:
            node = identity.me(session)
            row = directory.cached(session)
            typer.echo(f"节点 {node.node_id}（{ROLE_LABELS[node.role]}）地址 {node.address}")
            if row is not None:
                typer.echo(f"节点目录有效至 {row.valid_until.isoformat()}")
            if (warning := directory.warning(session)) is not None:
                typer.echo(f"提醒：{warning}")
            for alert in peers.alerts(session, instance.settings.federation_alert_minutes):
                typer.echo(f"提醒：{alert}")
            for stall in sharing.stalled(session):
                typer.echo(f"提醒：{stall['line']}")
            for line in returned.waiting(session):
                typer.echo(f"提醒：{line}")
            for c in feed.overview(session)["chains"]:
                way = "发往" if c["direction"] == "out" else "来自"
                name = CHANNEL_LABELS.get(c["channel"], "其他")
                line = f"{way} {c['peer']} 通道 {c['channel']}（{name}）：最后第 {c['last_seq']} 号"
                if c["direction"] == "out":
                    line += f"，待确认 {c['backlog']} 条"
                if c["error"]:
                    line += f"，最近被拒：{c['error']}"
                typer.echo(line)
    finally:
        instance.close()


@node_app.command("verify-log")
def verify_log(data_dir: DataDir = None) -> None:
    """离线重新校验所有消息链：哈希、签名、序号、前序哈希与回执。"""
    instance = _open(data_dir)
    try:
        with transaction(instance.session_factory) as session:
            report = chain.verify_log(session)
    finally:
        instance.close()
    for problem in report.problems:
        typer.echo(problem, err=True)
    typer.echo(
        f"消息 {report.messages} 条，回执 {report.receipts} 条：{'通过' if report.ok else '未通过'}"
    )
    if not report.ok:
        raise typer.Exit(1)


@node_app.command("sharing")
def sharing_stalls(
    days: Annotated[int, typer.Option(help="提前提醒的工作日数")] = sharing.WARN_WORKDAYS,
    data_dir: DataDir = None,
) -> None:
    """列出临近或超过答复期限的跨节点共享申请（双向）；有超期的退出码为 1。"""
    instance = _open(data_dir)
    try:
        with transaction(instance.session_factory) as session:
            stalls = sharing.stalled(session, warn_workdays=days)
    finally:
        instance.close()
    for stall in stalls:
        typer.echo(stall["line"])
    typer.echo(f"临近或超过期限的跨节点共享申请 {len(stalls)} 件")
    if any(s["workdays_left"] is not None and s["workdays_left"] < 0 for s in stalls):
        raise typer.Exit(1)
