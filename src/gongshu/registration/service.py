"""Registering data resources and products; review; certificates; REG-1 gaps.

Anyone who lawfully holds data registers it (REG-2): a description, the
catalog entries it comes from, how it was processed, the rights held
(REG-4: holding, processing and use, product operation; a processor acting
on another's behalf holds none), pricing, and for a deliverable product the
catalog entry that holds its data. The data authority reviews; approval
issues a registration code with a check character (codes.py) and a
certificate (REG-3). Every change is a new version with its diff, in the
ledger, and goes back to review; the public page shows the approved version.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.accounts.models import Organization, User
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record
from gongshu.registration import codes, provenance
from gongshu.registration.errors import (
    NotRegistrant,
    NotRegistrationReviewer,
    RegistrationNotFound,
    WrongRegistrationStatus,
)
from gongshu.registration.models import (
    KINDS,
    PRICE_MODES,
    RIGHTS,
    STATUSES,
    Registration,
    RegistrationVersion,
)
from gongshu.timeutil import BEIJING, utcnow

CONTENT_KEYS = (
    "kind",
    "name",
    "description",
    "processing_summary",
    "source_entry_ids",
    "rights",
    "acting_for",
    "price_mode",
    "price_yuan",
    "price_unit",
    "fee_item",
    "data_entry_id",
    "holder_authorization",
    "important_data_consent",
)
LABELS = {
    "kind": "登记类型",
    "name": "名称",
    "description": "描述",
    "processing_summary": "加工处理说明",
    "source_entry_ids": "来源数据",
    "rights": "所持权利",
    "acting_for": "受托方（代为加工）",
    "price_mode": "定价方式",
    "price_yuan": "价格（元）",
    "price_unit": "计价单位",
    "fee_item": "指导价收费项目",
    "data_entry_id": "产品数据目录",
    "holder_authorization": "权利人授权",
    "important_data_consent": "主管部门同意（重要数据）",
    "status": "状态",
}


def _text(value: Any) -> str | None:
    text = (value or "").strip() if isinstance(value, str) else value
    return text or None


def _clean(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """Validate the registrant's form; messages name the field (REG-2, REG-4)."""
    out = {k: data.get(k) for k in CONTENT_KEYS}
    for k in ("name", "description", "processing_summary", "acting_for", "price_yuan"):
        out[k] = _text(out[k])
    for k in ("price_unit", "fee_item", "holder_authorization", "important_data_consent"):
        out[k] = _text(out[k])
    if out["kind"] not in KINDS:
        raise InvalidField(f"登记类型须为数据资源或数据产品：{out['kind']}", field="kind")
    if not out["name"]:
        raise InvalidField("请填写名称", field="name")
    if not out["description"]:
        raise InvalidField("请填写描述", field="description")
    if out["kind"] == "product" and not out["processing_summary"]:
        raise InvalidField("数据产品须说明加工处理过程", field="processing_summary")
    out["processing_summary"] = out["processing_summary"] or ""
    ids = []
    for raw in out["source_entry_ids"] or []:
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            raise InvalidField(f"来源数据须为目录编号：{raw}", field="source_entry_ids") from None
    for entry_id in ids:
        entry = catalog.get(session, entry_id)
        if entry.published_version is None:
            raise InvalidField(f"来源数据目录尚未发布：{entry.name}", field="source_entry_ids")
    out["source_entry_ids"] = list(dict.fromkeys(ids))
    rights = list(dict.fromkeys(out["rights"] or []))
    unknown = [r for r in rights if r not in RIGHTS]
    if unknown:
        raise InvalidField(f"未知的权利类型：{'、'.join(map(str, unknown))}", field="rights")
    if out["acting_for"] and rights:
        raise InvalidField(
            "受托代为加工处理数据的，不享有持有权、加工使用权和产品经营权，"
            f"请勿勾选权利；受托方：{out['acting_for']}",
            field="rights",
        )
    if not out["acting_for"] and not rights:
        raise InvalidField("请至少选择一项所持权利", field="rights")
    out["rights"] = [r for r in RIGHTS if r in rights]
    if out["price_mode"] not in PRICE_MODES:
        raise InvalidField(f"定价方式无效：{out['price_mode']}", field="price_mode")
    if out["price_mode"] == "self":
        try:
            price = Decimal(out["price_yuan"] or "")
        except InvalidOperation:
            raise InvalidField(
                f"自主定价须填写价格：{out['price_yuan']}", field="price_yuan"
            ) from None
        if price < 0 or price != price.quantize(Decimal("0.01")):
            raise InvalidField(
                f"价格须为不小于 0 的金额，最多两位小数：{price}", field="price_yuan"
            )
        out["price_yuan"] = str(price.quantize(Decimal("0.01")))
    elif out["price_mode"] == "guided":
        if not out["fee_item"]:
            raise InvalidField("政府指导价须选择收费项目", field="fee_item")
        out["price_yuan"] = None
    else:
        out["price_yuan"] = "0.00"
    if out["data_entry_id"] not in (None, ""):
        entry = catalog.get(session, int(out["data_entry_id"]))
        if entry.published_version is None:
            raise InvalidField(f"产品数据目录尚未发布：{entry.name}", field="data_entry_id")
        out["data_entry_id"] = entry.id
        if out["kind"] == "product":  # only sandbox products, never raw rows (OPR-4, TRD-3)
            out["source_entry_ids"] = provenance.require_product_data(
                session, entry, out["source_entry_ids"]
            )
    else:
        out["data_entry_id"] = None
    return out


def snapshot(session: Session, reg: Registration) -> dict[str, Any]:
    snap = {k: getattr(reg, k) for k in CONTENT_KEYS}
    snap["status"] = reg.status
    snap["code"] = reg.code
    snap["registrant"] = reg.registrant.name if reg.registrant else None
    snap["sources"] = [
        {"id": e.id, "name": e.name, "resource_code": e.resource_code}
        for e in (session.get(CatalogEntry, i) for i in reg.source_entry_ids)
        if e is not None
    ]
    return snap


def changes_between(old: dict | None, new: dict) -> list[dict]:
    if old is None:
        return []
    return [
        {"field": k, "label": LABELS[k], "old": old.get(k), "new": new.get(k)}
        for k in (*CONTENT_KEYS, "status")
        if old.get(k) != new.get(k)
    ]


def _new_version(
    session: Session, reg: Registration, action: str, actor: User, comment: str | None = None
) -> RegistrationVersion:
    previous = session.scalar(
        select(RegistrationVersion)
        .where(RegistrationVersion.registration_id == reg.id)
        .order_by(RegistrationVersion.version_no.desc())
        .limit(1)
    )
    if previous is not None:
        reg.version_no = previous.version_no + 1
    reg.updated_at = utcnow()
    session.flush()
    snap = snapshot(session, reg)
    version = RegistrationVersion(
        registration_id=reg.id,
        version_no=reg.version_no,
        action=action,
        snapshot=snap,
        changes=changes_between(previous.snapshot if previous else None, snap),
        actor=actor.actor,
        comment=comment,
    )
    session.add(version)
    session.flush()
    record(
        session,
        f"registration.{action}",
        actor=actor.actor,
        subject=f"registration:{reg.id}",
        payload={
            "version": reg.version_no,
            "status": reg.status,
            "code": reg.code,
            "changes": version.changes,
            "comment": comment,
        },
    )
    return version


# ---------------------------------------------------------------- registrant


def apply(session: Session, data: dict[str, Any], *, actor: User) -> Registration:
    """Register a data resource or product for the actor's organization (REG-2)."""
    if actor.org_id is None:
        raise NotRegistrant("登记须以机构名义申请")
    clean = _clean(session, data)
    reg = Registration(registrant_org_id=actor.org_id, registrant_user_id=actor.id, **clean)
    reg.status = "submitted"
    session.add(reg)
    session.flush()
    session.refresh(reg)
    _new_version(session, reg, "submitted", actor)
    return reg


def update(session: Session, reg_id: int, data: dict[str, Any], *, actor: User) -> Registration:
    """A change: a new version with its diff, back to review; the code stays (REG-3)."""
    reg = get(session, reg_id)
    _require_registrant(reg, actor)
    clean = _clean(session, {**{k: getattr(reg, k) for k in CONTENT_KEYS}, **data})
    if clean["kind"] != reg.kind and reg.code is not None:
        raise InvalidInput("已登记的类型不能变更；请另行登记")
    if all(getattr(reg, k) == v for k, v in clean.items()):
        raise InvalidInput("没有任何变更")
    for k, v in clean.items():
        setattr(reg, k, v)
    reg.status = "submitted"
    _new_version(session, reg, "changed", actor)
    return reg


def _require_registrant(reg: Registration, actor: User) -> None:
    if "admin" not in actor.roles and actor.org_id != reg.registrant_org_id:
        raise NotRegistrant("只有登记主体可以操作该登记")


def get(session: Session, reg_id: int) -> Registration:
    reg = session.get(Registration, reg_id)
    if reg is None:
        raise RegistrationNotFound(f"登记不存在：{reg_id}")
    return reg


def of_org(session: Session, org_id: int) -> list[Registration]:
    return list(
        session.scalars(
            select(Registration)
            .where(Registration.registrant_org_id == org_id)
            .order_by(Registration.updated_at.desc())
        )
    )


def versions(session: Session, reg_id: int) -> list[RegistrationVersion]:
    return list(
        session.scalars(
            select(RegistrationVersion)
            .where(RegistrationVersion.registration_id == reg_id)
            .order_by(RegistrationVersion.version_no.desc())
        )
    )


def registered(session: Session, limit: int = 50) -> list[Registration]:
    """Approved registrations, newest first, for the public registry."""
    return list(
        session.scalars(
            select(Registration)
            .where(Registration.approved_snapshot.is_not(None))
            .order_by(Registration.approved_at.desc())
            .limit(limit)
        )
    )


# ---------------------------------------------------------------- review


def _require_reviewer(session: Session, reg: Registration, actor: User) -> Organization:
    """A data authority's reviewer whose region is the registrant's or contains it:
    a county does not certify a provincial operator, nor one city another's (REG-3)."""
    org = actor.org
    if org is None or org.kind != "data_authority" or not {"reviewer", "admin"} & set(actor.roles):
        raise NotRegistrationReviewer("只有数据管理部门可以审核登记")
    jurisdiction.require(
        session,
        actor,
        reg.registrant.region_code,
        reach=jurisdiction.AREA,
        action="审核登记",
        what=f"登记申请（{reg.registrant.name}）",
        law="REG-3",
    )
    return org


def queue(session: Session, actor: User) -> list[Registration]:
    """Submitted registrations the reviewer may decide: those of registrants in the
    area of the reviewer's organization (REG-3, as ``approve`` checks); all for a
    platform administrator."""
    query = select(Registration).where(Registration.status == "submitted")
    if "admin" not in (actor.roles or []):
        org = actor.org
        if org is None:
            return []
        prefix = jurisdiction.area_prefix(org.region_code)
        query = query.join(Organization, Organization.id == Registration.registrant_org_id).where(
            Organization.region_code.startswith(prefix, autoescape=True)
        )
    return list(session.scalars(query.order_by(Registration.updated_at)))


def _next_code(session: Session, region_code: str, kind: str) -> str:
    year = utcnow().astimezone(BEIJING).year
    prefix = f"{codes.PREFIX}-{region_code}-{year:04d}-{codes.KIND_LETTERS[kind]}"
    issued = session.scalar(select(func.count()).where(Registration.code.like(f"{prefix}%")))
    return codes.make_code(region_code, year, kind, (issued or 0) + 1)


def approve(
    session: Session, reg_id: int, *, actor: User, comment: str | None = None
) -> Registration:
    """Approve the pending version; the first approval issues the code (REG-3)."""
    reg = get(session, reg_id)
    org = _require_reviewer(session, reg, actor)
    if reg.status != "submitted":
        raise WrongRegistrationStatus(
            f"登记当前为“{STATUSES.get(reg.status, reg.status)}”，不能审核"
        )
    if reg.code is None:
        reg.code = _next_code(session, org.region_code, reg.kind)
        reg.issued_region_code = org.region_code
    reg.status = "approved"
    reg.approved_by, reg.approved_at = actor.actor, utcnow()
    reg.last_comment = _text(comment)
    version = _new_version(session, reg, "approved", actor, reg.last_comment)
    reg.approved_version_no = version.version_no
    reg.approved_snapshot = {**version.snapshot, "issuer": org.name}
    session.flush()
    return reg


def return_(session: Session, reg_id: int, *, actor: User, comment: str) -> Registration:
    reg = get(session, reg_id)
    _require_reviewer(session, reg, actor)
    if reg.status != "submitted":
        raise WrongRegistrationStatus(
            f"登记当前为“{STATUSES.get(reg.status, reg.status)}”，不能退回"
        )
    if not _text(comment):
        raise InvalidField("退回时必须填写审核意见", field="comment")
    reg.status = "returned"
    reg.last_comment = comment.strip()
    _new_version(session, reg, "returned", actor, reg.last_comment)
    return reg


# ---------------------------------------------------------------- public


def lookup(session: Session, code: str) -> Registration:
    """The public registration page's look-up; a code with a wrong check character is
    told apart from one never issued."""
    code = (code or "").strip().upper()
    if not codes.is_valid(code):
        raise InvalidInput(f"登记编码格式或校验位不正确：{code}")
    reg = session.scalar(select(Registration).where(Registration.code == code))
    if reg is None or reg.approved_snapshot is None:
        raise RegistrationNotFound(f"未查到该登记编码：{code}")
    return reg
