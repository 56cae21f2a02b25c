"""Tables: sharing applications (SHR-3, SHR-4), error reports (QUA-3), effect reports (SHR-6)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.accounts.models import Organization, User
from gongshu.catalog.models import CatalogEntry
from gongshu.db import Base
from gongshu.timeutil import utcnow

# submitted -> approved | refused | referred;  referred -> approved | refused (SHR-4)
STATUSES = ("submitted", "approved", "refused", "referred")
ERROR_STATUSES = ("open", "corrected", "not_error")
STATUS_LABELS = {
    "submitted": "待答复",
    "approved": "已同意共享",
    "refused": "不予共享",
    "referred": "已报数据管理部门",
}
ERROR_STATUS_LABELS = {"open": "待核实", "corrected": "已更正", "not_error": "经核实无误"}


class SharingApplication(Base):
    __tablename__ = "sharing_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    applicant_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    applicant_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    use: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)
    requested_fields: Mapped[list] = mapped_column(default=list)
    term_days: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # NULL when the period reaches a year without a holiday schedule (CLK-4): never guessed.
    deadline: Mapped[datetime | None] = mapped_column(index=True)
    deadline_warning: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(96))
    answer: Mapped[str | None] = mapped_column(Text)  # conditions, or reasons for refusal
    refusal_basis: Mapped[str | None] = mapped_column(Text)  # SHR-1: refusal needs a legal basis
    referred_region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    referred_at: Mapped[datetime | None]
    referral_note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(96))
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"))

    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
    provider: Mapped[Organization] = relationship(foreign_keys=[provider_org_id], lazy="joined")
    applicant_org: Mapped[Organization] = relationship(
        foreign_keys=[applicant_org_id], lazy="joined"
    )
    applicant: Mapped[User] = relationship(lazy="joined")


class ErrorReport(Base):
    """A consumer's report of an error in shared data (QUA-3)."""

    __tablename__ = "sharing_error_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    reporter_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    reporter_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    field: Mapped[str | None] = mapped_column(String(128))
    row_description: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    found_at: Mapped[datetime]
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    report_due: Mapped[datetime | None]  # 24:00 of the 5th working day after finding
    late: Mapped[bool | None]  # None when report_due could not be computed (CLK-4)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(96))

    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
    reporter_org: Mapped[Organization] = relationship(foreign_keys=[reporter_org_id], lazy="joined")


class EffectReport(Base):
    """What the shared data achieved (应用成效, SHR-6)."""

    __tablename__ = "sharing_effect_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("sharing_applications.id"), index=True)
    reporter_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict] = mapped_column(default=dict)
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
