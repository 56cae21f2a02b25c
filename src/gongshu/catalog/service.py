"""Catalog service: compile, submit, review, merge up the tiers, version, search.

CAT-2 three tiers merged upward; CAT-3/CAT-4 required attributes; CAT-5 every
change a version; CAT-6 agencies edit their own entries, the data authority of
their tier reviews. Takes a Session, flushes, never commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, Region, User
from gongshu.catalog.errors import (
    EntryIncomplete,
    EntryNotFound,
    NotProvider,
    NotReviewer,
    WrongStatus,
)
from gongshu.catalog.models import (
    FIELD_KINDS,
    FIELD_TYPES,
    LOAD_POLICIES,
    OPENING_ATTRS,
    SECURITY_GRADES,
    SHARING_ATTRS,
    UPDATE_FREQUENCIES,
    CatalogEntry,
    EntryVersion,
)
from gongshu.errors import InvalidInput
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


# ---------------------------------------------------------------- validation


def _clean_fields(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out, seen = [], set()
    for i, f in enumerate(raw, start=1):
        name = str(f.get("name") or "").strip()
        if not name:
            continue
        if name in seen:
            raise InvalidInput(f"第 {i} 个字段名重复 (duplicate field)：{name}")
        seen.add(name)
        ftype = f.get("type") or "string"
        if ftype not in FIELD_TYPES:
            raise InvalidInput(f"字段「{name}」的类型无效 (field type)：{ftype}")
        kind = f.get("kind") or None
        if kind is not None and kind not in FIELD_KINDS:
            raise InvalidInput(f"字段「{name}」的标识类型无效 (identifier kind)：{kind}")
        out.append(
            {
                "name": name,
                "type": ftype,
                "description": str(f.get("description") or "").strip(),
                "kind": kind,
                "required": bool(f.get("required")),
            }
        )
    return out


def _apply(entry: CatalogEntry, data: dict[str, Any]) -> None:
    for key in CONTENT_KEYS:
        if key not in data:
            continue
        value = data[key]
        if key == "fields":
            value = _clean_fields(value or [])
        elif key in ("formats", "themes"):
            value = [str(v).strip() for v in (value or []) if str(v).strip()]
        elif isinstance(value, str):
            value = value.strip() or (None if key in _OPTIONAL else "")
        if key == "sharing_attr" and value not in SHARING_ATTRS:
            raise InvalidInput(f"共享属性无效 (sharing attribute)：{value}")
        if key == "opening_attr" and value not in OPENING_ATTRS:
            raise InvalidInput(f"开放属性无效 (opening attribute)：{value}")
        if key == "load_policy" and value not in LOAD_POLICIES:
            raise InvalidInput(f"错误数据处理策略无效 (load policy)：{value}")
        setattr(entry, key, value)


_OPTIONAL = {"sharing_conditions", "no_share_basis", "opening_conditions"}


def check_complete(entry: CatalogEntry) -> None:
    """What CAT-3/CAT-4/SHR-1 require before an entry can be submitted."""
    missing = []
    if not entry.name:
        missing.append("名称 (name)")
    if not entry.summary:
        missing.append("摘要 (summary)")
    if not entry.fields:
        missing.append("字段 (fields)")
    if entry.update_frequency not in UPDATE_FREQUENCIES:
        missing.append("更新频率 (update frequency)")
    if entry.security_grade not in SECURITY_GRADES:
        missing.append("安全级别 (security grade)")
    if entry.sharing_attr == "conditional" and not entry.sharing_conditions:
        missing.append("共享条件 (sharing conditions)")
    if entry.sharing_attr == "none" and not entry.no_share_basis:
        # SHR-1: refusing to share needs a legal basis.
        missing.append("不予共享的法律依据 (legal basis, SHR-1)")
    if entry.opening_attr == "conditional" and not entry.opening_conditions:
        missing.append("开放条件 (opening conditions)")
    if missing:
        raise EntryIncomplete("目录信息不完整，缺少：" + "、".join(missing))


# ---------------------------------------------------------------- versions


def snapshot(entry: CatalogEntry) -> dict[str, Any]:
    snap = {k: getattr(entry, k) for k in CONTENT_KEYS + STATE_KEYS}
    snap["provider"] = entry.provider.name if entry.provider else None
    return snap


def _new_version(
    session: Session, entry: CatalogEntry, action: str, actor: User, comment: str | None = None
) -> EntryVersion:
    if action != "created":
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
        raise EntryNotFound(f"目录版本不存在 (version)：{entry_id} 第 {version_no} 版")
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


# ---------------------------------------------------------------- workflow


def get(session: Session, entry_id: int) -> CatalogEntry:
    entry = session.get(CatalogEntry, entry_id)
    if entry is None:
        raise EntryNotFound(f"目录不存在 (catalog entry)：{entry_id}")
    return entry


def _require_provider(entry: CatalogEntry, actor: User) -> None:
    if "admin" in actor.roles:
        return
    if actor.org_id != entry.provider_org_id:
        raise NotProvider(f"只有数据提供单位可以修改此目录 (provider only)：{entry.provider.name}")


def create(session: Session, data: dict[str, Any], *, actor: User) -> CatalogEntry:
    """An agency compiles a new entry in its own tier (CAT-6); starts as a draft."""
    org = actor.org
    if org is None or org.kind not in ("agency", "enterprise"):
        raise NotProvider("只有公共管理和服务机构（或企业）可以编制目录 (provider only)")
    code = str(data.get("resource_code") or "").strip()
    if not code:
        raise InvalidInput("资源代码 (resource code) 不能为空")
    if session.scalar(select(CatalogEntry.id).where(CatalogEntry.resource_code == code)):
        raise InvalidInput(f"资源代码已被使用 (resource code taken)：{code}")
    if not str(data.get("name") or "").strip():
        raise InvalidInput("名称 (name) 不能为空")
    entry = CatalogEntry(
        provider_org_id=org.id,
        tier=org.region.tier,
        region_code=org.region_code,
        status="draft",
        version_no=1,
        # CAT-8: an enterprise keeps its own catalog in the same format, outside the public one.
        scope="enterprise" if org.kind == "enterprise" else "public",
    )
    entry.provider = org
    _apply(entry, data)
    session.add(entry)
    session.flush()
    _new_version(session, entry, "created", actor)
    return entry


def update(session: Session, entry_id: int, data: dict[str, Any], *, actor: User) -> CatalogEntry:
    """Edit an entry; an edit to a published entry goes back through review (CAT-5)."""
    entry = get(session, entry_id)
    _require_provider(entry, actor)
    if entry.status == "submitted":
        raise WrongStatus("目录正在审核中，不能修改 (under review)")
    code = data.get("resource_code")
    if (
        code
        and code != entry.resource_code
        and session.scalar(select(CatalogEntry.id).where(CatalogEntry.resource_code == code))
    ):
        raise InvalidInput(f"资源代码已被使用 (resource code taken)：{code}")
    before = snapshot(entry)
    _apply(entry, data)
    if {k: before[k] for k in CONTENT_KEYS} == {k: getattr(entry, k) for k in CONTENT_KEYS}:
        return entry
    entry.status = "draft"
    entry.review_region_code = None
    _new_version(session, entry, "edited", actor)
    return entry


def submit(session: Session, entry_id: int, *, actor: User) -> CatalogEntry:
    """Send to the data authority of the entry's own tier (CAT-6)."""
    entry = get(session, entry_id)
    _require_provider(entry, actor)
    if entry.status not in ("draft", "returned"):
        raise WrongStatus(f"当前状态不能提交审核 (status {entry.status})")
    check_complete(entry)
    entry.status = "submitted"
    entry.review_region_code = entry.region_code
    _new_version(session, entry, "submitted", actor)
    return entry


def _require_reviewer(session: Session, entry: CatalogEntry, actor: User) -> Region:
    org = actor.org
    if (
        org is None
        or org.kind != "data_authority"
        or not ({"reviewer", "admin"} & set(actor.roles))
    ):
        raise NotReviewer("只有数据管理部门审核员可以审核目录 (reviewer only)")
    if entry.review_region_code is None or org.region_code != entry.review_region_code:
        raise NotReviewer("此目录不在本级数据管理部门的审核队列中 (not your tier)")
    return org.region


def approve(
    session: Session, entry_id: int, *, actor: User, comment: str | None = None
) -> CatalogEntry:
    """Approve at this tier; a city or county approval then goes up a tier (CAT-2)."""
    entry = get(session, entry_id)
    region = _require_reviewer(session, entry, actor)
    if entry.status == "submitted":
        entry.status = "approved"
        entry.published_version = entry.version_no + 1
        action = "approved"
    elif entry.status == "approved":
        action = "merged"
    else:
        raise WrongStatus(f"当前状态不能审核 (status {entry.status})")
    if region.parent_code is None:
        entry.provincial = True
        entry.review_region_code = None
    else:
        entry.review_region_code = region.parent_code
    entry.last_comment = comment
    _new_version(session, entry, action, actor, comment)
    return entry


def return_(session: Session, entry_id: int, *, actor: User, comment: str) -> CatalogEntry:
    """Return with comments; the agency edits and submits again."""
    entry = get(session, entry_id)
    _require_reviewer(session, entry, actor)
    if not comment or not comment.strip():
        raise InvalidInput("退回时必须填写审核意见 (comment)")
    entry.status = "returned"
    entry.review_region_code = None
    entry.provincial = False
    entry.last_comment = comment.strip()
    _new_version(session, entry, "returned", actor, comment.strip())
    return entry


def review_queue(session: Session, actor: User) -> list[CatalogEntry]:
    if actor.org is None:
        return []
    return list(
        session.scalars(
            select(CatalogEntry)
            .where(CatalogEntry.review_region_code == actor.org.region_code)
            .order_by(CatalogEntry.updated_at)
        )
    )


# ---------------------------------------------------------------- search


FACETS = (
    "provider_org_id",
    "tier",
    "sharing_attr",
    "opening_attr",
    "status",
    "security_grade",
    "update_frequency",
)


def visible(actor: User | None) -> Any:
    """Published entries for everyone; own drafts for the provider; all for authorities."""
    if actor is not None and ("admin" in actor.roles or "reviewer" in actor.roles):
        return True
    cond = CatalogEntry.published_version.is_not(None) & (CatalogEntry.scope == "public")
    if actor is not None and actor.org_id is not None:
        cond = or_(cond, CatalogEntry.provider_org_id == actor.org_id)
    return cond


def can_see(entry: CatalogEntry, actor: User | None) -> bool:
    """The Python twin of ``visible`` for one loaded entry."""
    if actor is not None and ("admin" in actor.roles or "reviewer" in actor.roles):
        return True
    if entry.published_version is not None and entry.scope == "public":
        return True
    return actor is not None and actor.org_id is not None and actor.org_id == entry.provider_org_id


def provided_by(session: Session, org_id: int) -> list[CatalogEntry]:
    """An agency's own entries, newest change first."""
    return list(
        session.scalars(
            select(CatalogEntry)
            .where(CatalogEntry.provider_org_id == org_id)
            .order_by(CatalogEntry.updated_at.desc())
        ).unique()
    )


@dataclass
class SearchResult:
    total: int
    entries: list[CatalogEntry]
    facets: dict[str, list[tuple[Any, str, int]]]


def search(
    session: Session,
    *,
    actor: User | None,
    q: str | None = None,
    filters: dict[str, Any] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """Search by name, summary and provider, filter by attributes, count facets."""
    filters = {k: v for k, v in (filters or {}).items() if k in FACETS and v not in (None, "")}

    def base(skip: str | None = None) -> Select:
        stmt = select(CatalogEntry).join(
            Organization, CatalogEntry.provider_org_id == Organization.id
        )
        stmt = stmt.where(visible(actor), CatalogEntry.scope == "public")
        if q:
            like = f"%{q.strip().lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(CatalogEntry.name).like(like),
                    func.lower(CatalogEntry.summary).like(like),
                    func.lower(CatalogEntry.resource_code).like(like),
                    func.lower(Organization.name).like(like),
                )
            )
        for k, v in filters.items():
            if k != skip:
                stmt = stmt.where(
                    getattr(CatalogEntry, k) == (int(v) if k == "provider_org_id" else v)
                )
        return stmt

    # One grouped pass counts the total and every facet no filter narrows (each LIKE
    # scan of the catalog costs milliseconds, and this is the catalog API's hot path);
    # a facet with a filter of its own is counted without that filter, by itself.
    matched = base().subquery()
    combos = session.execute(
        select(*(matched.c[k] for k in FACETS), func.count()).group_by(
            *(matched.c[k] for k in FACETS)
        )
    ).all()
    total = sum(row[-1] for row in combos)
    stmt = base()
    entries = list(
        session.scalars(
            stmt.order_by(CatalogEntry.tier, CatalogEntry.resource_code).limit(limit).offset(offset)
        ).unique()
    )
    facets: dict[str, list[tuple[Any, str, int]]] = {}
    org_names = dict(session.execute(select(Organization.id, Organization.name)).all())
    for i, key in enumerate(FACETS):
        counts: dict[Any, int] = {}
        if key in filters:
            sub = base(skip=key).subquery()
            col = sub.c[key]
            counts = dict(session.execute(select(col, func.count()).group_by(col)).all())
        else:
            for row in combos:
                counts[row[i]] = counts.get(row[i], 0) + row[-1]
        facets[key] = [
            (v, org_names.get(v, str(v)) if key == "provider_org_id" else str(v), n)
            for v, n in sorted(counts.items(), key=lambda c: (-c[1], str(c[0])))
        ]
    return SearchResult(total, entries, facets)


def regrade(
    session: Session, entry_id: int, grade: str, *, actor: User, reason: str
) -> CatalogEntry:
    """Raise an entry's security grade to what its confirmed tags call for (SEC-1, CAT-7).

    Only ever upwards and never silently: a new version with the reason, in the
    ledger. Lowering a grade goes through an ordinary edit and review.
    """
    entry = get(session, entry_id)
    if grade not in SECURITY_GRADES:
        raise InvalidInput(f"安全级别无效 (security grade)：{grade}")
    current = (
        SECURITY_GRADES.index(entry.security_grade)
        if entry.security_grade in SECURITY_GRADES
        else -1
    )
    if SECURITY_GRADES.index(grade) <= current:
        return entry
    entry.security_grade = grade
    _new_version(session, entry, "regraded", actor, reason)
    return entry
