"""Grants, masking policies and deliveries: what the egress door checks and records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gongshu import changes
from gongshu.db import Base
from gongshu.timeutil import utcnow


class MaskingPolicy(Base):
    """Entity code -> masking operator, versioned; every grant names one (issue 4 item 2)."""

    __tablename__ = "masking_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(128))
    rules: Mapped[dict] = mapped_column(default=dict)
    version_no: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MaskingPolicyVersion(Base):
    __tablename__ = "masking_policy_versions"
    __table_args__ = (UniqueConstraint("policy_id", "version_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("masking_policies.id"), index=True)
    version_no: Mapped[int]
    rules: Mapped[dict]
    actor: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Grant(Base):
    """Who may read which entry's data, which columns and rows, for what, until when (SHR-5)."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    # None: always the latest dataset version at the time of each read.
    dataset_version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    recipient_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    columns: Mapped[list | None]  # None: every column of the entry
    row_filter: Mapped[list] = mapped_column(default=list)  # [{column, op, value}]
    purpose: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))  # sharing | open | operation | ...
    source_ref: Mapped[str | None] = mapped_column(String(64))
    policy_id: Mapped[int] = mapped_column(ForeignKey("masking_policies.id"))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One egress: what left, to whom, under which grant and policy, with which mark."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # the watermark's delivery id
    # None: the portal's public preview of an open entry (``service.preview_open``)
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    recipient: Mapped[str] = mapped_column(String(96), index=True)
    actor: Mapped[str] = mapped_column(String(96))
    purpose: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    columns: Mapped[list]
    policy_name: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int]
    watermarked: Mapped[bool] = mapped_column(default=False)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# What a grant lets its holder read (opendata/resolve.py caches it per process).
changes.watch("access", Grant, MaskingPolicy)
