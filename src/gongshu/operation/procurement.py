"""Agencies procure non-public data; the data authority reviews the demand (TRD-9)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.errors import InvalidInput
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
        raise InvalidInput("只有公共管理和服务机构可以申请采购非公共数据 (agencies only, TRD-9)")
    texts = {"data_wanted": data_wanted, "purpose": purpose, "legal_basis": legal_basis}
    missing = [label for k, label in REQUIRED.items() if not (texts[k] or "").strip()]
    if missing:
        raise InvalidInput(f"采购申请必须写明：{'、'.join(missing)} (TRD-9)")
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
        raise RequestNotFound(f"采购申请不存在 (procurement request)：{request_id}")
    return req


def review(
    session: Session, request_id: int, *, actor: User, approve: bool, reason: str
) -> ProcurementRequest:
    """The data authority approves or refuses, always with reasons (TRD-9)."""
    if "admin" not in actor.roles and (actor.org is None or actor.org.kind != "data_authority"):
        raise NotAuthority("只有数据管理部门可以审核采购需求 (data authority only, TRD-9)")
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
        raise WrongStatus("该采购申请已审核 (already reviewed)")
    if not (reason or "").strip():
        raise InvalidInput("审核采购需求须说明理由 (reason)")
    req.status = "approved" if approve else "refused"
    req.reviewed_by, req.review_reason, req.reviewed_at = actor.actor, reason.strip(), utcnow()
    session.flush()
    record(
        session,
        f"procurement.{req.status}",
        actor=actor.actor,
        subject=f"procurement:{req.id}",
        payload={"reason": req.review_reason},
    )
    return req


def requests_for(session: Session, actor: User) -> list[ProcurementRequest]:
    """An agency's own requests; every request for the data authority."""
    stmt = select(ProcurementRequest).order_by(ProcurementRequest.id.desc())
    if "admin" not in actor.roles and (actor.org is None or actor.org.kind != "data_authority"):
        stmt = stmt.where(ProcurementRequest.agency_org_id == (actor.org_id or -1))
    return list(session.scalars(stmt).unique())
