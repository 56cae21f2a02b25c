"""Outsourced vendors an operator or processor declares, and the SEC-13 check.

A declared vendor needs a valid security review and a signed confidentiality agreement
on record (``service`` kinds ``vendor_review`` and ``confidentiality_agreement``, issued
by the declaring organization); an organization with a vendor lacking either gets no
grant (``gates.VendorGate``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.instruments import service
from gongshu.instruments.errors import BadInstrument, InstrumentNotFound, InstrumentRequired
from gongshu.instruments.models import Vendor
from gongshu.ledger import record
from gongshu.timeutil import utcnow

OUTSOURCING_ORGS = ("operator", "enterprise")  # operators and processors


def declare(
    session: Session, *, actor: User, name: str, credit_code: str = "", service_text: str = ""
) -> Vendor:
    """Declare a vendor the actor's organization outsources processing to."""
    if actor.org_id is None:
        raise BadInstrument("只有所属机构可以登记外包服务商", detail={"field": "name"})
    if not (name or "").strip():
        raise BadInstrument("请填写外包服务商名称", detail={"field": "name"})
    vendor = Vendor(
        org_id=actor.org_id,
        name=name.strip()[:200],
        credit_code=(credit_code or "").strip()[:32],
        service=(service_text or "").strip(),
        declared_by=actor.actor,
    )
    session.add(vendor)
    session.flush()
    record(
        session,
        "vendor.declared",
        actor=actor.actor,
        subject=f"org:{actor.org_id}",
        payload={"vendor": vendor.id, "name": vendor.name, "credit_code": vendor.credit_code},
    )
    return vendor


def end(session: Session, vendor_id: int, *, actor: User) -> Vendor:
    vendor = session.get(Vendor, vendor_id)
    if vendor is None or vendor.org_id != actor.org_id:
        raise InstrumentNotFound(f"本单位没有第 {vendor_id} 号外包服务商")
    if vendor.ended_at is None:
        vendor.ended_at = utcnow()
        session.flush()
        record(
            session,
            "vendor.ended",
            actor=actor.actor,
            subject=f"org:{actor.org_id}",
            payload={"vendor": vendor.id},
        )
    return vendor


def active(session: Session, org_id: int) -> list[Vendor]:
    return list(
        session.scalars(
            select(Vendor)
            .where(Vendor.org_id == org_id, Vendor.ended_at.is_(None))
            .order_by(Vendor.id)
        )
    )


def require_reviewed(session: Session, org_id: int, *, at: datetime | None = None) -> None:
    """Every active vendor of ``org_id`` has a valid security review and a valid
    confidentiality agreement on record, or ``InstrumentRequired`` naming the vendor."""
    for vendor in active(session, org_id):
        for kind in ("vendor_review", "confidentiality_agreement"):
            found = service.find(
                session,
                kind,
                entry_id=None,
                purpose="outsourcing",
                recipient_org_id=org_id,
                vendor_id=vendor.id,
                at=at,
            )
            if found is None:
                raise InstrumentRequired(
                    f"外包服务商「{vendor.name}」没有在有效期内的「{service.KINDS[kind]}」记录，"
                    "委托方不能获得数据授权",
                    detail={"vendor": vendor.id, "kind": kind},
                )
