"""Demo data: every demo operator is reviewed by the data authority of its region and has
signed the security protection and confidentiality agreement (SEC-13), through the real
service, so its operation licence and grants pass the gate."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.accounts.models import Organization, User
from gongshu.documents import Document, Section, render_pdf
from gongshu.instruments import parties, service
from gongshu.timeutil import utcnow

TERM_DAYS = 3 * 365


def _reviewer(session: Session, org: Organization) -> User | None:
    """A reviewer of the nearest data authority whose region reaches ``org``'s."""
    found = [
        u
        for u in session.scalars(select(User).order_by(User.id)).unique()
        if "reviewer" in (u.roles or [])
        and u.org is not None
        and u.org.kind == "data_authority"
        and jurisdiction.may_act(u, org.region_code, jurisdiction.AREA)
    ]
    return max(found, key=lambda u: len(jurisdiction.area_prefix(u.org.region_code)), default=None)


def _pdf(title: str, party: Organization, authority: Organization, body: str) -> bytes:
    return render_pdf(
        Document(
            title=title,
            facts=[("受托单位", party.name), ("数据管理部门", authority.name)],
            sections=[Section("主要内容", [body])],
            signatures=[("数据管理部门（盖章）", authority.name), ("受托单位（盖章）", party.name)],
        )
    )


def clear_party(session: Session, party: Organization, authority: User, *, data_dir: Path) -> None:
    """Record the authority's passed review of ``party`` and their signed agreement."""
    start = utcnow() - timedelta(days=1)
    for kind, body in (
        (
            "party_review",
            "经审查，该单位数据安全管理制度、技术防护措施和人员管理符合要求，审查合格。",
        ),
        (
            "party_agreement",
            "受托单位履行数据安全保护义务，对接触的公共数据保密，不得擅自留存、使用或向他人提供；"
            "协议期满或终止时删除全部数据；违约依法承担责任。",
        ),
    ):
        title = service.KINDS[kind]
        path, digest = service.store_document(
            _pdf(title, party, authority.org, body), f"{title}.pdf", data_dir=data_dir
        )
        service.issue(
            session,
            actor=authority,
            kind=kind,
            title=f"{party.name}{title}",
            purpose="outsourcing",
            recipient_org_id=party.id,
            valid_from=start,
            valid_until=start + timedelta(days=TERM_DAYS),
            document_name=f"{title}.pdf",
            document_path=path,
            document_sm3=digest,
        )


def seed(session: Session, demo) -> None:  # noqa: ANN001
    """The registry's demo seed (``Capability.demo``; ``demo`` a ``DemoContext``, untyped
    here because the demo package is a higher layer): clear every demo operator."""
    for org in session.scalars(
        select(Organization)
        .where(Organization.kind.in_(parties.PARTY_ORG_KINDS))
        .order_by(Organization.id)
    ):
        authority = _reviewer(session, org)
        if authority is not None:
            clear_party(session, org, authority, data_dir=demo.settings.data_dir)
