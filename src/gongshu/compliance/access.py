"""Who sees what: an organization its own records, supervisors all (AUD, SEC-10); an
auditor the ledger of its own engagements only (issue 16 item 5)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, literal, or_, select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.accounts.permissions import COMPLIANCE_SUPERVISE
from gongshu.ledger.models import LedgerEntry


def supervises(user: User) -> bool:
    """Regulators, the data authority and administrators see every organization's records."""
    return COMPLIANCE_SUPERVISE in user.scopes


def ledger_scope(session: Session, user: User) -> ColumnElement[bool] | None:
    """The ledger entries ``user`` may read: all (None) for a supervisor; otherwise
    those of the engagements its organization conducts (as the institution, or an
    internal audit of itself): the engagement's own entries (``audit:N``) and what
    the audited organization's people did in the audit's period (AUD-1)."""
    if supervises(user):
        return None
    from gongshu.compliance.audits import period
    from gongshu.compliance.models import AuditEngagement

    if user.org_id is None:
        return false()
    engagements = session.scalars(
        select(AuditEngagement).where(
            or_(
                AuditEngagement.institution_org_id == user.org_id,
                and_(
                    AuditEngagement.conductor == "internal",
                    AuditEngagement.subject_org_id == user.org_id,
                ),
            )
        )
    ).all()
    clauses = []
    for audit in engagements:
        start, end = period(audit)
        people = select(literal("user:").concat(User.username)).where(
            User.org_id == audit.subject_org_id
        )
        clauses.append(LedgerEntry.subject == f"audit:{audit.id}")
        clauses.append(
            and_(
                LedgerEntry.actor.in_(people),
                LedgerEntry.created_at >= start,
                LedgerEntry.created_at < end,
            )
        )
    return or_(*clauses) if clauses else false()
