"""Catalog service: compile, submit, review, merge up the tiers.

CAT-2 three tiers merged upward; CAT-3/CAT-4 required attributes; CAT-5 every
change a version (``versions``); CAT-6 agencies edit their own entries, the data
authority of their tier reviews. Search and visibility live in ``search``. Takes a
Session, flushes, never commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.accounts.models import Region, User
from gongshu.catalog import versions
from gongshu.catalog.errors import (
    EntryIncomplete,
    EntryNotFound,
    NotProvider,
    NotReviewer,
    OutsideReviewRegion,
    WrongStatus,
)
from gongshu.catalog.models import (
    FIELD_KINDS,
    FIELD_TYPES,
    LOAD_POLICIES,
    OPENING_ATTRS,
    SECURITY_GRADES,
    SHARING_ATTRS,
    STATUS_LABELS,
    UPDATE_FREQUENCIES,
    CatalogEntry,
)
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record

# ---------------------------------------------------------------- validation


def _clean_fields(
    raw: list[dict[str, Any]], problems: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The field rows as stored. A row's problem is said beside its row (issue 17 item
    6): ``field_name-3`` etc., "第 3 个数据项：…"; every row is checked before any is
    refused, so a form shows all its problems at once."""
    said: dict[str, str] = {}
    out, seen = [], set()
    for i, f in enumerate(raw, start=1):
        name = str(f.get("name") or "").strip()
        if not name:
            if str(f.get("description") or "").strip():  # typed, but the name forgotten
                said[f"field_name-{i}"] = f"第 {i} 个数据项：请填写字段名（已填写说明）"
            continue  # a row left wholly blank (the form's spare row) is no data item
        if name in seen:
            said[f"field_name-{i}"] = f"第 {i} 个数据项：字段名重复：{name}"
        seen.add(name)
        ftype = f.get("type") or "string"
        if ftype not in FIELD_TYPES:
            said[f"field_type-{i}"] = f"第 {i} 个数据项：字段「{name}」的类型无效：{ftype}"
        kind = f.get("kind") or None
        if kind is not None and kind not in FIELD_KINDS:
            said[f"field_kind-{i}"] = f"第 {i} 个数据项：字段「{name}」的标识类型无效：{kind}"
        out.append(
            {
                "name": name,
                "type": ftype,
                "description": str(f.get("description") or "").strip(),
                "kind": kind,
                "required": bool(f.get("required")),
            }
        )
    if problems is not None:
        problems.update(said)
    elif said:
        raise InvalidField.of(said)
    return out


_CHOICES = {
    "sharing_attr": (SHARING_ATTRS, "共享属性无效"),
    "opening_attr": (OPENING_ATTRS, "开放属性无效"),
    "load_policy": (LOAD_POLICIES, "错误数据处理策略无效"),
}


def _problems(data: dict[str, Any]) -> dict[str, str]:
    """Every problem of the entry's content, by form field, before anything is written."""
    problems: dict[str, str] = {}
    for key, (allowed, saying) in _CHOICES.items():
        if key in data:
            value = data[key].strip() if isinstance(data[key], str) else data[key]
            if value not in allowed:
                problems[key] = f"{saying}：{value}"
    if "fields" in data:
        _clean_fields(data["fields"] or [], problems)
    return problems


def _apply(entry: CatalogEntry, data: dict[str, Any]) -> None:
    problems = _problems(data)
    if problems:
        raise InvalidField.of(problems)
    for key in versions.CONTENT_KEYS:
        if key not in data:
            continue
        value = data[key]
        if key == "fields":
            value = _clean_fields(value or [])
        elif key in ("formats", "themes"):
            value = [str(v).strip() for v in (value or []) if str(v).strip()]
        elif isinstance(value, str):
            value = value.strip() or (None if key in _OPTIONAL else "")
        setattr(entry, key, value)


_OPTIONAL = {"sharing_conditions", "no_share_basis", "opening_conditions"}


def check_complete(entry: CatalogEntry) -> None:
    """What CAT-3/CAT-4/SHR-1 require before an entry can be submitted."""
    missing = []
    if not entry.name:
        missing.append("名称")
    if not entry.summary:
        missing.append("摘要")
    if not entry.fields:
        missing.append("字段")
    if entry.update_frequency not in UPDATE_FREQUENCIES:
        missing.append("更新频率")
    if entry.security_grade not in SECURITY_GRADES:
        missing.append("安全级别")
    if entry.sharing_attr == "conditional" and not entry.sharing_conditions:
        missing.append("共享条件")
    if entry.sharing_attr == "none" and not entry.no_share_basis:
        # SHR-1: refusing to share needs a legal basis.
        missing.append("不予共享的法律依据")
    if entry.opening_attr == "conditional" and not entry.opening_conditions:
        missing.append("开放条件")
    if missing:
        raise EntryIncomplete("目录信息不完整，缺少：" + "、".join(missing))


# ---------------------------------------------------------------- workflow


def get(session: Session, entry_id: int) -> CatalogEntry:
    entry = session.get(CatalogEntry, entry_id)
    if entry is None:
        raise EntryNotFound(f"目录不存在：{entry_id}")
    return entry


def _require_provider(entry: CatalogEntry, actor: User) -> None:
    if "admin" in actor.roles:
        return
    if actor.org_id != entry.provider_org_id:
        raise NotProvider(f"只有数据提供单位可以修改此目录：{entry.provider.name}")


def create(session: Session, data: dict[str, Any], *, actor: User) -> CatalogEntry:
    """An agency compiles a new entry in its own tier (CAT-6); starts as a draft."""
    org = actor.org
    if org is None or org.kind not in ("agency", "vertical", "enterprise"):
        raise NotProvider("只有公共管理和服务机构（或企业）可以编制目录")
    problems: dict[str, str] = {}  # in the form's order: name, then resource code
    if not str(data.get("name") or "").strip():
        problems["name"] = "名称不能为空"
    code = str(data.get("resource_code") or "").strip()
    if not code:
        problems["resource_code"] = "资源代码不能为空"
    elif session.scalar(select(CatalogEntry.id).where(CatalogEntry.resource_code == code)):
        problems["resource_code"] = f"资源代码已被使用：{code}"
    problems.update(_problems(data))
    if problems:
        raise InvalidField.of(problems)
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
    versions.new_version(session, entry, "created", actor)
    return entry


def update(session: Session, entry_id: int, data: dict[str, Any], *, actor: User) -> CatalogEntry:
    """Edit an entry; an edit to a published entry goes back through review (CAT-5)."""
    entry = get(session, entry_id)
    _require_provider(entry, actor)
    if entry.status == "submitted":
        raise WrongStatus("目录正在审核中，不能修改")
    problems: dict[str, str] = {}  # in the form's order: name, then resource code
    if "name" in data and not str(data.get("name") or "").strip():
        problems["name"] = "名称不能为空"
    code = str(data.get("resource_code") or "").strip()
    if "resource_code" in data and not code:
        problems["resource_code"] = "资源代码不能为空"
    elif (
        code
        and code != entry.resource_code
        and session.scalar(select(CatalogEntry.id).where(CatalogEntry.resource_code == code))
    ):
        problems["resource_code"] = f"资源代码已被使用：{code}"
    problems.update(_problems(data))
    if problems:
        raise InvalidField.of(problems)
    before = versions.snapshot(entry)
    _apply(entry, data)
    if {k: before[k] for k in versions.CONTENT_KEYS} == {
        k: getattr(entry, k) for k in versions.CONTENT_KEYS
    }:
        return entry
    entry.status = "draft"
    entry.review_region_code = None
    versions.new_version(session, entry, "edited", actor)
    return entry


def submit(session: Session, entry_id: int, *, actor: User) -> CatalogEntry:
    """Send to the data authority of the entry's own tier (CAT-6)."""
    entry = get(session, entry_id)
    _require_provider(entry, actor)
    if entry.status not in ("draft", "returned"):
        raise WrongStatus(
            f"目录当前为“{STATUS_LABELS.get(entry.status, entry.status)}”，不能提交审核"
        )
    check_complete(entry)
    entry.status = "submitted"
    entry.review_region_code = entry.region_code
    versions.new_version(session, entry, "submitted", actor)
    return entry


def _require_reviewer(session: Session, entry: CatalogEntry, actor: User) -> Region:
    """A data authority's reviewer at the entry's current review region, and only there
    (CAT-2): not a neighbour, not a lower tier, and not a higher tier before its turn."""
    org = actor.org
    if (
        org is None
        or org.kind != "data_authority"
        or not ({"reviewer", "admin"} & set(actor.roles))
    ):
        raise NotReviewer("只有数据管理部门审核员可以审核目录")
    if entry.review_region_code is None:
        raise NotReviewer("此目录不在审核队列中")
    if org.region_code != entry.review_region_code:
        error = jurisdiction.refusal(
            session,
            actor,
            entry.review_region_code,
            reach=jurisdiction.OWN,
            action="审核",
            what=f"数据目录「{entry.name}」（本级审核队列之外）",
            law="CAT-2",
        )
        raise OutsideReviewRegion(error.message, detail=error.detail)
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
        raise WrongStatus(f"目录当前为“{STATUS_LABELS.get(entry.status, entry.status)}”，不能审核")
    if region.parent_code is None:
        entry.provincial = True
        entry.review_region_code = None
    else:
        entry.review_region_code = region.parent_code
    entry.last_comment = comment
    versions.new_version(session, entry, action, actor, comment)
    return entry


def return_(session: Session, entry_id: int, *, actor: User, comment: str) -> CatalogEntry:
    """Return with comments; the agency edits and submits again.

    An entry a lower tier approved (and so published) that a higher tier returns while
    merging it leaves publication (issue 16 item 1): the higher tier found it wanting,
    so it is not open or shared on the lower tier's word alone."""
    entry = get(session, entry_id)
    _require_reviewer(session, entry, actor)
    if not comment or not comment.strip():
        raise InvalidInput("退回时必须填写审核意见")
    unpublished = entry.published_version if entry.status == "approved" else None
    entry.status = "returned"
    entry.review_region_code = None
    entry.provincial = False
    entry.last_comment = comment.strip()
    if unpublished is not None:
        entry.published_version = None
    versions.new_version(session, entry, "returned", actor, comment.strip())
    if unpublished is not None:
        record(
            session,
            "catalog.unpublished",
            actor=actor.actor,
            subject=f"entry:{entry.id}",
            payload={
                "published_version": unpublished,
                "returned_by_region": actor.org.region_code,
                "reason": entry.last_comment,
            },
        )
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


def regrade(
    session: Session, entry_id: int, grade: str, *, actor: User, reason: str
) -> CatalogEntry:
    """Raise an entry's security grade to what its confirmed tags call for (SEC-1, CAT-7).

    Only ever upwards and never silently: a new version with the reason, in the
    ledger. Lowering a grade goes through an ordinary edit and review.
    """
    entry = get(session, entry_id)
    if grade not in SECURITY_GRADES:
        raise InvalidInput(f"安全级别无效：{grade}")
    current = (
        SECURITY_GRADES.index(entry.security_grade)
        if entry.security_grade in SECURITY_GRADES
        else -1
    )
    if SECURITY_GRADES.index(grade) <= current:
        return entry
    entry.security_grade = grade
    versions.new_version(session, entry, "regraded", actor, reason)
    return entry
