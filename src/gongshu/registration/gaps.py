"""REG-1: public data in authorized operation, and every product derived from it,
must be registered. Operation licences are grants with ``source == "operation"``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.egress.models import Grant
from gongshu.registration.models import Registration
from gongshu.registration.service import of_org
from gongshu.timeutil import as_utc, utcnow


def operated_entry_ids(session: Session, org_id: int | None = None) -> dict[int, set[int]]:
    """Entries in authorized operation: org id -> entry ids under an active operation grant."""
    now = utcnow()
    stmt = select(Grant).where(
        Grant.source == "operation",
        Grant.revoked_at.is_(None),
        Grant.recipient_org_id.is_not(None),
    )
    if org_id is not None:
        stmt = stmt.where(Grant.recipient_org_id == org_id)
    out: dict[int, set[int]] = {}
    for grant in session.scalars(stmt):
        if as_utc(grant.expires_at) > now:
            out.setdefault(grant.recipient_org_id, set()).add(grant.entry_id)
    return out


@dataclass
class Gap:
    kind: str  # operated_data | derived_product
    org: Organization
    entry: CatalogEntry
    registration: Registration | None
    message: str


def gaps(session: Session) -> list[Gap]:
    """REG-1: public data in authorized operation and every product derived from it
    must be registered. Shown to the data authority."""
    out: list[Gap] = []
    for org_id, entry_ids in sorted(operated_entry_ids(session).items()):
        org = session.get(Organization, org_id)
        regs = of_org(session, org_id)
        covered = {
            i
            for r in regs
            if r.approved_snapshot is not None
            for i in r.approved_snapshot.get("source_entry_ids") or []
        }
        for entry_id in sorted(entry_ids):
            entry = catalog.get(session, entry_id)
            if entry_id not in covered:
                out.append(
                    Gap(
                        "operated_data",
                        org,
                        entry,
                        None,
                        f"“{entry.name}”已授权{org.name}运营，但尚未登记",
                    )
                )
            for r in regs:
                if (
                    r.kind == "product"
                    and r.status != "approved"
                    and entry_id in r.source_entry_ids
                ):
                    out.append(
                        Gap(
                            "derived_product",
                            org,
                            entry,
                            r,
                            f"由“{entry.name}”加工的产品“{r.name}”尚未完成登记"
                            f"（{'待审核' if r.status == 'submitted' else '已退回'}）",
                        )
                    )
    return out


def source_standing(session: Session, reg: Registration) -> list[dict]:
    """For the reviewer (REG-2: data the registrant lawfully holds): how the registrant
    stands to each source entry, by the platform's records."""
    operated = operated_entry_ids(session, reg.registrant_org_id).get(reg.registrant_org_id, set())
    out = []
    for entry_id in dict.fromkeys([*reg.source_entry_ids, reg.data_entry_id]):
        if entry_id is None:
            continue
        entry = session.get(CatalogEntry, entry_id)
        if entry.provider_org_id == reg.registrant_org_id:
            standing = "本单位提供的数据"
        elif entry_id in operated:
            standing = "已授权本单位运营"
        else:
            standing = "平台上没有本单位持有或获授权运营的记录"
        out.append({"entry": entry, "standing": standing, "ok": not standing.startswith("平台")})
    return out
