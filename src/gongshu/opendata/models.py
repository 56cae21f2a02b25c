"""Open-data tables: declared uses (OPN-2), applications (OPN-3), signed
open-use agreements (OPN-4) and breach records (OPN-5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base
from gongshu.timeutil import utcnow

# pending -> approved | refused | referred;  referred -> approved | refused (SHR-4)
APPLICATION_STATUSES = ("pending", "approved", "refused", "referred")


class OpenUseDeclaration(Base):
    """A verified user's declared use of an unconditional-open entry, once per entry (OPN-2)."""

    __tablename__ = "open_use_declarations"
    __table_args__ = (UniqueConstraint("entry_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    use: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OpenApplication(Base):
    """An application for conditional-open data, answered by the provider (OPN-3, SHR-4)."""

    __tablename__ = "open_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    use: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)
    security_measures: Mapped[str] = mapped_column(Text)
    fields: Mapped[list | None]  # None: every field of the entry
    term_days: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    answer_reason: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(96))
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # received: the clock starts
    # 10 working days from receipt (OPN-3, SHR-4; opendata/clocks.py). NULL when the
    # period reaches a year without a holiday schedule (CLK-4): never guessed.
    deadline: Mapped[datetime | None] = mapped_column(index=True)
    deadline_warning: Mapped[str | None] = mapped_column(Text)
    # Referred by the provider, unsure, to the data authority of its tier (SHR-4).
    referred_region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    referred_at: Mapped[datetime | None]
    referral_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(96))
    decided_at: Mapped[datetime | None]


class OpenAgreement(Base):
    """The open-use agreement with the OPN-4 terms; signed by an explicit click in the portal."""

    __tablename__ = "open_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("open_applications.id"), unique=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    terms: Mapped[dict]
    sha256: Mapped[str] = mapped_column(String(64))
    sm3: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime | None]
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"))
    disposal_confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OpenBreach(Base):
    """Use outside the agreement, decided by a data authority: the order to correct within
    a number of working days, and the fine the law names if it is not corrected (OPN-5)."""

    __tablename__ = "open_breaches"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("open_agreements.id"), index=True)
    authority_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    finding: Mapped[str] = mapped_column(Text)
    correction_order: Mapped[str] = mapped_column(Text)
    correction_workdays: Mapped[int | None]
    # NULL when the period reaches a year without a holiday schedule (CLK-4).
    deadline: Mapped[datetime | None]
    deadline_warning: Mapped[str | None] = mapped_column(Text)
    penalty_clause: Mapped[str | None] = mapped_column(Text)  # as stated to the party
    recorded_by: Mapped[str] = mapped_column(String(96))
    corrected_at: Mapped[datetime | None]
    corrected_confirmed_by: Mapped[str | None] = mapped_column(String(96))
    fine_yuan: Mapped[int | None]
    fine_reason: Mapped[str | None] = mapped_column(Text)
    fined_by: Mapped[str | None] = mapped_column(String(96))
    fined_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


COMPLAINT_KINDS = {"wrong": "数据错误", "missing": "数据缺失", "infringing": "侵犯合法权益"}


class Complaint(Base):
    """Anyone's complaint that public data is wrong, missing or infringes their rights (QUA-4)."""

    __tablename__ = "open_complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(String(128))
    complainant_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | answered
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(96))
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsageFeedback(Base):
    """What the user did with conditional-open data, as the agreement requires (OPN-4)."""

    __tablename__ = "open_usage_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("open_agreements.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
