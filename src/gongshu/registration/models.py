"""Registrations of data resources and products, and every version of them (REG-1..REG-4)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.accounts.models import Organization
from gongshu.db import Base
from gongshu.timeutil import utcnow

KINDS = {"resource": "数据资源", "product": "数据产品"}
# REG-4: three rights held separately.
RIGHTS = {
    "holding": "数据资源持有权",
    "processing": "数据加工使用权",
    "operation": "数据产品经营权",
}
PRICE_MODES = {"self": "自主定价", "guided": "政府指导价", "free": "免费"}
STATUSES = {"submitted": "待审核", "approved": "已登记", "returned": "已退回"}


class Registration(Base):
    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)  # issued at approval
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str] = mapped_column(Text)
    processing_summary: Mapped[str] = mapped_column(Text, default="")
    registrant_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    registrant_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    source_entry_ids: Mapped[list] = mapped_column(default=list)
    rights: Mapped[list] = mapped_column(default=list)
    # REG-4: a processor acting on another's behalf names the principal and holds no right.
    acting_for: Mapped[str | None] = mapped_column(String(200))
    price_mode: Mapped[str] = mapped_column(String(16), default="self")
    price_yuan: Mapped[str | None] = mapped_column(String(32))
    price_unit: Mapped[str | None] = mapped_column(String(32))
    fee_item: Mapped[str | None] = mapped_column(String(64))
    data_entry_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_entries.id"))
    # Notes only since issue 16: the TRD-8 authorization and the SEC-8 consent are
    # records (gongshu.instruments) that market.authorizations looks up; text decides nothing.
    holder_authorization: Mapped[str | None] = mapped_column(Text)
    important_data_consent: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    version_no: Mapped[int] = mapped_column(default=1)
    approved_version_no: Mapped[int | None]
    approved_snapshot: Mapped[dict | None]
    approved_by: Mapped[str | None] = mapped_column(String(96))
    approved_at: Mapped[datetime | None]
    issued_region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    last_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    registrant: Mapped[Organization] = relationship(lazy="joined")


class RegistrationVersion(Base):
    """One change of a registration: the full snapshot and its diff to the previous one."""

    __tablename__ = "registration_versions"
    __table_args__ = (UniqueConstraint("registration_id", "version_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    version_no: Mapped[int]
    action: Mapped[str] = mapped_column(String(32))
    snapshot: Mapped[dict]
    changes: Mapped[list] = mapped_column(default=list)  # [{field, label, old, new}]
    actor: Mapped[str] = mapped_column(String(96))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
