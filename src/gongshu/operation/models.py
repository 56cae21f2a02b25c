"""Tables: operator agreements (OPR-1, OPR-2), their entries (OPR-3), sandbox runs (OPR-4)
and agencies' procurement requests for non-public data (TRD-9)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.accounts.models import Organization
from gongshu.catalog.models import CatalogEntry
from gongshu.db import Base
from gongshu.timeutil import utcnow

AGREEMENT_STATUSES = ("active", "expired", "disposed")
RUN_STATUSES = ("passed", "refused", "failed")
PROCUREMENT_STATUSES = ("submitted", "approved", "refused")


class OperatorAgreement(Base):
    """The authorization agreement between the data authority and an operator (OPR-2)."""

    __tablename__ = "operator_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    authority_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime] = mapped_column(index=True)
    revenue_method: Mapped[str] = mapped_column(Text)  # how reasonable revenue is computed
    security_requirements: Mapped[str] = mapped_column(Text)
    disposal: Mapped[str] = mapped_column(Text)  # what happens to data and products at expiry
    # The security risk assessment report, stored under the data dir (OPR-2).
    risk_report_name: Mapped[str] = mapped_column(String(255))
    risk_report_path: Mapped[str] = mapped_column(String(500))
    risk_report_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    expired_at: Mapped[datetime | None]
    disposal_confirmed_at: Mapped[datetime | None]
    disposal_confirmed_by: Mapped[str | None] = mapped_column(String(96))
    disposal_note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    operator: Mapped[Organization] = relationship(foreign_keys=[operator_org_id], lazy="joined")
    authority: Mapped[Organization] = relationship(foreign_keys=[authority_org_id], lazy="joined")
    items: Mapped[list[AgreementItem]] = relationship(
        back_populates="agreement", lazy="selectin", order_by="AgreementItem.id"
    )


class AgreementItem(Base):
    """One catalog entry in an agreement's scope, with the grant it created (OPR-3)."""

    __tablename__ = "operator_agreement_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("operator_agreements.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    policy: Mapped[str] = mapped_column(String(64))
    columns: Mapped[list | None]
    # Why a not-open entry may be operated (OPR-3): desensitized | consent.
    basis: Mapped[str] = mapped_column(String(16), default="open")
    # Before issue 16: typed text, kept readable, never a basis. Now it names the record.
    consent: Mapped[str | None] = mapped_column(Text)
    # The rights holder's authorization on record (gongshu.instruments) for basis "consent".
    instrument_id: Mapped[int | None] = mapped_column(ForeignKey("instruments.id"))
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))

    agreement: Mapped[OperatorAgreement] = relationship(back_populates="items")
    entry: Mapped[CatalogEntry] = relationship(lazy="joined")


class SandboxRun(Base):
    """One query in the sandbox, passed or refused; the rule broken is named (OPR-4)."""

    __tablename__ = "sandbox_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("operator_agreements.id"), index=True)
    operator_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    actor: Mapped[str] = mapped_column(String(96))
    sql: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))  # aggregate | rows
    rule: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    columns: Mapped[list] = mapped_column(default=list)
    sources: Mapped[list] = mapped_column(default=list)  # entry ids the query read
    min_group: Mapped[int | None]
    smallest_group: Mapped[int | None]
    result_path: Mapped[str | None] = mapped_column(String(500))  # relative to the datasets dir
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[int] = mapped_column(default=0)
    product_entry_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_entries.id"))
    # Rows the door's gates kept back from the sandbox (OPR-3 per-person consent):
    # [{"entry", "gate", "reason", "rows", "left"}], counts only, never which rows.
    withheld: Mapped[list | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcurementRequest(Base):
    """An agency's request to procure non-public data, reviewed by the data authority (TRD-9)."""

    __tablename__ = "procurement_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_entries.id"))
    data_wanted: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    budget: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    requested_by: Mapped[str] = mapped_column(String(96))
    reviewed_by: Mapped[str | None] = mapped_column(String(96))
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]
    # the agency's grant an approval creates, through the gates at the door (TRD-9)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agency: Mapped[Organization] = relationship(lazy="joined")
