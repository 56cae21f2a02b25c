"""Catalog versions (CAT-5): every change is a new version holding a full snapshot of
the entry, recorded in the ledger; history and field-level diffs are computed from the
snapshots, never reconstructed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.catalog.errors import EntryNotFound
from gongshu.catalog.models import CatalogEntry, EntryVersion
from gongshu.ledger import record
from gongshu.timeutil import utcnow

CONTENT_KEYS = (
    "name",
    "resource_code",
    "summary",
    "fields",
    "update_frequency",
    "security_grade",
    "sharing_attr",
    "sharing_conditions",
    "no_share_basis",
    "opening_attr",
    "opening_conditions",
    "formats",
    "themes",
    "load_policy",
)
STATE_KEYS = ("status", "tier", "region_code", "provider_org_id", "provincial")
KEY_LABELS = {
    "name": "名称",
    "resource_code": "资源代码",
    "summary": "摘要",
    "fields": "字段",
    "update_frequency": "更新频率",
    "security_grade": "安全级别",
    "sharing_attr": "共享属性",
    "sharing_conditions": "共享条件",
    "no_share_basis": "不予共享依据",
    "opening_attr": "开放属性",
    "opening_conditions": "开放条件",
    "formats": "格式",
    "themes": "主题",
    "load_policy": "错误数据处理策略",
    "status": "状态",
    "provincial": "已纳入省级目录",
}


def snapshot(entry: CatalogEntry) -> dict[str, Any]:
    snap = {k: getattr(entry, k) for k in CONTENT_KEYS + STATE_KEYS}
    snap["provider"] = entry.provider.name if entry.provider else None
    return snap


def new_version(
    session: Session, entry: CatalogEntry, action: str, actor: User, comment: str | None = None
) -> EntryVersion:
    if action != "created":  # a new entry's row was just written with both as they are
        entry.version_no += 1
        entry.updated_at = utcnow()
        session.flush()
    version = EntryVersion(
        entry_id=entry.id,
        version_no=entry.version_no,
        action=action,
        snapshot=snapshot(entry),
        actor=actor.actor,
        comment=comment,
    )
    session.add(version)
    session.flush()
    record(
        session,
        f"catalog.{action}",
        actor=actor.actor,
        subject=f"entry:{entry.id}",
        payload={
            "version": entry.version_no,
            "status": entry.status,
            "resource_code": entry.resource_code,
            "comment": comment,
        },
    )
    return version


def versions(session: Session, entry_id: int) -> list[EntryVersion]:
    return list(
        session.scalars(
            select(EntryVersion)
            .where(EntryVersion.entry_id == entry_id)
            .order_by(EntryVersion.version_no.desc())
        )
    )


def version(session: Session, entry_id: int, version_no: int) -> EntryVersion:
    v = session.scalar(
        select(EntryVersion).where(
            EntryVersion.entry_id == entry_id, EntryVersion.version_no == version_no
        )
    )
    if v is None:
        raise EntryNotFound(f"目录版本不存在：{entry_id} 第 {version_no} 版")
    return v


@dataclass
class Change:
    key: str
    label: str
    old: Any
    new: Any


@dataclass
class FieldChange:
    name: str
    change: str  # added | removed | changed
    old: dict | None = None
    new: dict | None = None
    attrs: list[str] = field(default_factory=list)


def diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[Change], list[FieldChange]]:
    """Field-level difference between two snapshots (CAT-5)."""
    changes = [
        Change(k, KEY_LABELS.get(k, k), old.get(k), new.get(k))
        for k in CONTENT_KEYS + ("status", "provincial")
        if k != "fields" and old.get(k) != new.get(k)
    ]
    of = {f["name"]: f for f in old.get("fields") or []}
    nf = {f["name"]: f for f in new.get("fields") or []}
    fchanges = [FieldChange(n, "removed", old=of[n]) for n in of if n not in nf]
    for n, f in nf.items():
        if n not in of:
            fchanges.append(FieldChange(n, "added", new=f))
        elif of[n] != f:
            attrs = [
                a for a in ("type", "description", "kind", "required") if of[n].get(a) != f.get(a)
            ]
            fchanges.append(FieldChange(n, "changed", old=of[n], new=f, attrs=attrs))
    return changes, fchanges
