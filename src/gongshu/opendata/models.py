"""Open-data tables: declared uses (OPN-2), applications (OPN-3), signed
open-use agreements (OPN-4) and breach records (OPN-5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base
from gongshu.timeutil import utcnow

APPLICATION_STATUSES = ("pending", "approved", "refused")


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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    """Use outside the agreement: the order to correct and its deadline (OPN-5)."""

    __tablename__ = "open_breaches"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("open_agreements.id"), index=True)
    finding: Mapped[str] = mapped_column(Text)
    correction_order: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(96))
    corrected_at: Mapped[datetime | None]
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
