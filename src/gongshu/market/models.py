"""Market tables: listings (TRD-1, TRD-3), fee schedules (OPR-7), prohibited kinds,
orders with their contracts and settlements (TRD-5), disputes and breaches (TRD-7)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.accounts.models import Organization
from gongshu.db import Base
from gongshu.registration.models import Registration
from gongshu.timeutil import utcnow

USE_KINDS = {"welfare": "公共治理、公益事业", "industry": "产业发展、行业应用"}  # OPR-7
ORDER_STATUSES = {"offered": "待确认合同", "accepted": "已签约交付", "cancelled": "已取消"}
DISPUTE_OUTCOMES = {"upheld": "支持申请方", "rejected": "驳回申请", "mediated": "调解结案"}


class FeeSchedule(Base):
    """One version of the government-guided fee schedule; the latest is in force (OPR-7)."""

    __tablename__ = "market_fee_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_no: Mapped[int] = mapped_column(unique=True)
    items: Mapped[dict]  # code -> {name, unit, price_yuan}
    basis: Mapped[str] = mapped_column(Text)  # the pricing document it follows
    actor: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProhibitedKind(Base):
    """An entity kind the administrator lists as not tradable (TRD-3: law forbids)."""

    __tablename__ = "market_prohibited_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_code: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    actor: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Listing(Base):
    __tablename__ = "market_listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    registration_version_no: Mapped[int]
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    data_entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"))
    title: Mapped[str] = mapped_column(String(200))
    # Products of authorized operation are priced by OPR-7, the others by the seller (TRD-6).
    operation_product: Mapped[bool] = mapped_column(default=False)
    price_mode: Mapped[str] = mapped_column(String(16))
    price_yuan: Mapped[str | None] = mapped_column(String(32))
    price_unit: Mapped[str | None] = mapped_column(String(32))
    fee_item: Mapped[str | None] = mapped_column(String(64))
    check: Mapped[dict]  # the passed tradability check, as shown
    status: Mapped[str] = mapped_column(String(16), default="listed", index=True)
    listed_by: Mapped[str] = mapped_column(String(96))
    listed_at: Mapped[datetime] = mapped_column(default=utcnow)
    delisted_at: Mapped[datetime | None]

    registration: Mapped[Registration] = relationship(lazy="joined")
    seller: Mapped[Organization] = relationship(lazy="joined")


class Order(Base):
    __tablename__ = "market_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("market_listings.id"), index=True)
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    buyer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    buyer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    use_kind: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    term_days: Mapped[int]
    amount_yuan: Mapped[str] = mapped_column(String(32))
    pricing_basis: Mapped[str] = mapped_column(Text)
    terms: Mapped[dict]  # the contract (OPR-8 clauses included)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="offered", index=True)
    accepted_at: Mapped[datetime | None]
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    listing: Mapped[Listing] = relationship(lazy="joined")


class Settlement(Base):
    """What the buyer owes the seller for an order, and when it was settled (TRD-5)."""

    __tablename__ = "market_settlements"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_orders.id"), unique=True)
    amount_yuan: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="due")  # due | settled | free
    reference: Mapped[str | None] = mapped_column(String(128))
    settled_by: Mapped[str | None] = mapped_column(String(96))
    settled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dispute(Base):
    """raised -> responded -> resolved, each step on the working-day clock (TRD-5)."""

    __tablename__ = "market_disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_orders.id"), index=True)
    claimant: Mapped[str] = mapped_column(String(32))  # market entity: org:ID | user:ID
    respondent: Mapped[str] = mapped_column(String(32))
    raised_by: Mapped[str] = mapped_column(String(96))
    claim: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    # NULL when the period reaches a year without a holiday schedule (CLK-4).
    respond_due: Mapped[datetime | None]
    response: Mapped[str | None] = mapped_column(Text)
    responded_by: Mapped[str | None] = mapped_column(String(96))
    responded_at: Mapped[datetime | None]
    resolve_due: Mapped[datetime | None]
    deadline_warning: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(16))
    resolution: Mapped[str | None] = mapped_column(Text)
    loser: Mapped[str | None] = mapped_column(String(32), index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(96))
    resolved_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="raised", index=True)


class ContractBreach(Base):
    """A recorded breach of a market contract by one party (TRD-7: enters credit)."""

    __tablename__ = "market_breaches"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("market_orders.id"), index=True)
    entity: Mapped[str] = mapped_column(String(32), index=True)
    finding: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
