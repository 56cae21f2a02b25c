"""Agencies procure non-public data; the data authority reviews the demand (TRD-9).

An approval creates the agency's grant on the catalog entry procured, through
``egress.create_grant`` and so through every gate at the door (PIP-8 assessment,
XBR-5, ...): a gate that refuses refuses the approval, and nothing is recorded as
approved. The entry is the one the request names, or the one the authority names
when approving; an approval with no entry to grant is refused.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record
from gongshu.operation.errors import NotAuthority, RequestNotFound, WrongStatus
from gongshu.operation.models import ProcurementRequest
from gongshu.timeutil import utcnow

REQUIRED = {"data_wanted": "所需数据", "purpose": "用途", "legal_basis": "依据"}


def file_request(
    session: Session,
    *,
    actor: User,
    data_wanted: str,
    purpose: str,
    legal_basis: str,
    entry_id: int | None = None,
    budget: str | None = None,
) -> ProcurementRequest:
    """An agency files a request for non-public data (e.g. an enterprise's entry, CAT-8)."""
    if actor.org is None or actor.org.kind != "agency":
        raise InvalidInput("只有公共管理和服务机构可以申请采购非公共数据")
    texts = {"data_wanted": data_wanted, "purpose": purpose, "legal_basis": legal_basis}
    missing = {
        k: f"采购申请必须写明{label}"
        for k, label in REQUIRED.items()
        if not (texts[k] or "").strip()
    }
    if missing:
        raise InvalidField.of(missing)
    if entry_id is not None:
        catalog.get(session, entry_id)
    req = ProcurementRequest(
        agency_org_id=actor.org_id,
        entry_id=entry_id,
        budget=(budget or "").strip() or None,
        requested_by=actor.actor,
        **{k: v.strip() for k, v in texts.items()},
    )
    session.add(req)
    session.flush()
    record(
        session,
        "procurement.requested",
        actor=actor.actor,
        subject=f"procurement:{req.id}",
        payload={"agency": actor.org_id, "entry": entry_id, **texts, "budget": req.budget},
    )
    return req


def get(session: Session, request_id: int) -> ProcurementRequest:
    req = session.get(ProcurementRequest, request_id)
    if req is None:
        raise RequestNotFound(f"采购申请不存在：{request_id}")
    return req


def review(
    session: Session,
    request_id: int,
    *,
    actor: User,
    approve: bool,
    reason: str,
    entry_id: int | None = None,
    days: int = 365,
) -> ProcurementRequest:
    """The data authority approves or refuses, always with reasons (TRD-9); approving
    creates the agency's grant through the same gates as every grant."""
    if "admin" not in actor.roles and (actor.org is None or actor.org.kind != "data_authority"):
        raise NotAuthority("只有数据管理部门可以审核采购需求")
    req = get(session, request_id)
    jurisdiction.require(
        session,
        actor,
        req.agency.region_code,
        reach=jurisdiction.OWN,
        action="审核",
        what=f"采购需求（{req.agency.name}）",
        law="TRD-9",
    )
    if req.status != "submitted":
        raise WrongStatus("该采购申请已审核")
    if not (reason or "").strip():
        raise InvalidField("审核采购需求须说明理由", field="reason")
    grant = _grant(session, req, actor=actor, entry_id=entry_id, days=days) if approve else None
    req.status = "approved" if approve else "refused"
    req.reviewed_by, req.review_reason, req.reviewed_at = actor.actor, reason.strip(), utcnow()
    req.grant_id = grant.id if grant else None
    session.flush()
    record(
        session,
        f"procurement.{req.status}",
        actor=actor.actor,
        subject=f"procurement:{req.id}",
        payload={"reason": req.review_reason, "entry": req.entry_id, "grant": req.grant_id},
    )
    return req


def _grant(
    session: Session, req: ProcurementRequest, *, actor: User, entry_id: int | None, days: int
) -> Grant:
    """The agency's grant on the procured entry; the gates at the door decide first."""
    if req.entry_id is not None and entry_id is not None and entry_id != req.entry_id:
        raise InvalidField(
            "申请已指明所采购的数据目录，批准时不能改为其他目录", field="resource_code"
        )
    chosen = req.entry_id if req.entry_id is not None else entry_id
    if chosen is None:
        raise InvalidField(
            "批准采购须指明所采购数据的目录；申请未指明的，请在审核时填写目录代码",
            field="resource_code",
        )
    entry = catalog.get(session, chosen)
    if entry.scope == "public":
        raise InvalidField(
            f"“{entry.name}”（{entry.resource_code}）是公共数据，请通过共享申请获取，不属于采购范围",
            field="resource_code",
        )
    req.entry_id = entry.id
    return egress.create_grant(
        session,
        entry,
        recipient_org_id=req.agency_org_id,
        purpose=f"采购非公共数据（采购申请 {req.id}）：{req.purpose}",
        source="procurement",
        source_ref=f"procurement:{req.id}",
        actor=actor,
        days=days,
    )


def entry_by_code(session: Session, code: str) -> int | None:
    """The id of the entry a reviewer names by its resource code (None when blank)."""
    code = (code or "").strip()
    if not code:
        return None
    entry_id = session.scalar(select(CatalogEntry.id).where(CatalogEntry.resource_code == code))
    if entry_id is None:
        raise InvalidField(f"目录代码不存在：{code}", field="resource_code")
    return entry_id


def requests_for(session: Session, actor: User) -> list[ProcurementRequest]:
    """An agency's own requests; every request for the data authority."""
    stmt = select(ProcurementRequest).order_by(ProcurementRequest.id.desc())
    if "admin" not in actor.roles and (actor.org is None or actor.org.kind != "data_authority"):
        stmt = stmt.where(ProcurementRequest.agency_org_id == (actor.org_id or -1))
    return list(session.scalars(stmt).unique())
