"""Instruments and outsourced vendors (issue 16 items 3, 8)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.accounts.models import Organization
from gongshu.db import Base
from gongshu.timeutil import utcnow


class Instrument(Base):
    """A consent, authorization, approval, contract, certification or vendor record.

    Scope: ``entry_id`` (a catalog entry), ``purpose`` (a use, ``service.PURPOSES``),
    ``recipient_org_id`` (None: any recipient, where the kind allows it) and, for vendor
    records, ``vendor_id``. The issuer is the signed-in user and organization that
    created it, never typed. The document is kept under the data directory with its SM3."""

    __tablename__ = "instruments"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    issuer_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    issuer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_by: Mapped[str] = mapped_column(String(96))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    recipient_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("instrument_vendors.id"))
    title: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    document_name: Mapped[str] = mapped_column(String(255))
    document_path: Mapped[str] = mapped_column(String(255))
    document_sm3: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(96))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    issuer_org: Mapped[Organization] = relationship(lazy="joined", foreign_keys=[issuer_org_id])


class Vendor(Base):
    """An outsourced vendor an operator or processor declares (SEC-13): it needs a
    security review and a signed confidentiality agreement on record."""

    __tablename__ = "instrument_vendors"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(32), default="")
    service: Mapped[str] = mapped_column(Text, default="")
    declared_by: Mapped[str] = mapped_column(String(96))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
