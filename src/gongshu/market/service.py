"""Listings and their prices (TRD-1..TRD-3, OPR-7); orders, contracts, delivery and
settlement are in ``orders`` (TRD-4..TRD-6, OPR-8).

A seller lists an approved product registration only after the tradability
check passes (tradability.py). A buyer orders, stating the use (public
welfare or industry, OPR-7), purpose, scope and term; the platform drafts the
contract with the usage terms, including no resale of raw data and the OPR-8
clauses. Accepting the contract is recorded with the contract's hash; it
creates a grant with source "market" on the product's data entry, so the data
leaves only through the egress door, watermarked for the buyer. A settlement
record follows each accepted order.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.errors import InvalidField
from gongshu.ledger import record
from gongshu.market import provenance
from gongshu.market.errors import (
    ListingNotFound,
    NoFeeSchedule,
    NotRegistered,
    NotSeller,
    NotTradable,
    WrongMarketStatus,
)
from gongshu.market.models import USE_KINDS, Listing
from gongshu.market.tradability import check_and_record, current_fee_schedule
from gongshu.registration import service as registration
from gongshu.timeutil import utcnow


def entity_of(user: User) -> str:
    """A market entity: the organization a user acts for, or the person."""
    return f"org:{user.org_id}" if user.org_id is not None else f"user:{user.id}"


# ---------------------------------------------------------------- listing


def require_seller(actor: User, org_id: int | None = None) -> int:
    if actor.org_id is None:
        raise NotSeller("挂牌交易须以机构名义")
    if org_id is not None and actor.org_id != org_id and "admin" not in actor.roles:
        raise NotSeller("只有挂牌方可以操作")
    return actor.org_id


def check_registration(session: Session, reg_id: int, *, actor: User) -> dict:
    """Run the tradability check for the actor's organization, without listing."""
    org_id = require_seller(actor)
    reg = registration.get(session, reg_id)
    return check_and_record(session, reg, seller_org_id=org_id, actor=actor).as_dict()


def list_product(session: Session, reg_id: int, *, actor: User) -> Listing:
    """List an approved product registration; refused with every reason otherwise."""
    org_id = require_seller(actor)
    reg = registration.get(session, reg_id)
    if reg.approved_version_no is None:
        check_and_record(session, reg, seller_org_id=org_id, actor=actor)
        raise NotRegistered(
            f"“{reg.name}”尚未完成登记，未登记的产品不得挂牌",
            detail={"reasons": [{"rule": "REG-1", "code": "unregistered"}]},
        )
    result = check_and_record(session, reg, seller_org_id=org_id, actor=actor)
    if not result.passed:
        raise NotTradable(
            "不可交易：" + "；".join(r["message"] for r in result.reasons),
            detail=result.as_dict(),
        )
    entry = catalog.get(session, reg.data_entry_id)
    existing = session.scalar(
        select(Listing).where(Listing.registration_id == reg.id, Listing.status == "listed")
    )
    if existing is not None:
        raise WrongMarketStatus(f"该产品已挂牌：挂牌 {existing.id}")
    listing = Listing(
        registration_id=reg.id,
        registration_version_no=reg.approved_version_no,
        seller_org_id=org_id,
        data_entry_id=reg.data_entry_id,
        title=reg.name,
        operation_product=result.operation_product,
        price_mode=reg.price_mode,
        price_yuan=reg.price_yuan,
        price_unit=reg.price_unit,
        fee_item=reg.fee_item,
        # what the check saw, and the sandbox run the product came from (OPR-4)
        check={**result.as_dict(), "provenance": provenance.require(session, entry)},
        listed_by=actor.actor,
    )
    session.add(listing)
    session.flush()
    record(
        session,
        "market.listed",
        actor=actor.actor,
        subject=f"listing:{listing.id}",
        payload={
            "registration": reg.id,
            "code": reg.code,
            "version": reg.approved_version_no,
            "operation_product": listing.operation_product,
            "price_mode": listing.price_mode,
            "price_yuan": listing.price_yuan,
        },
    )
    return listing


def delist(session: Session, listing_id: int, *, actor: User, reason: str) -> Listing:
    listing = get_listing(session, listing_id)
    require_seller(actor, listing.seller_org_id)
    if listing.status != "listed":
        raise WrongMarketStatus("该产品已下架")
    if not (reason or "").strip():
        raise InvalidField("请说明下架原因", field="reason")
    listing.status, listing.delisted_at = "delisted", utcnow()
    session.flush()
    record(
        session,
        "market.delisted",
        actor=actor.actor,
        subject=f"listing:{listing.id}",
        payload={"reason": reason},
    )
    return listing


def get_listing(session: Session, listing_id: int) -> Listing:
    listing = session.get(Listing, listing_id)
    if listing is None:
        raise ListingNotFound(f"挂牌不存在：{listing_id}")
    return listing


def listings(session: Session, *, status: str | None = "listed") -> list[Listing]:
    stmt = select(Listing).order_by(Listing.listed_at.desc())
    if status:
        stmt = stmt.where(Listing.status == status)
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- pricing


def price_for(session: Session, listing: Listing, use_kind: str) -> tuple[str, str]:
    """The amount and its basis: OPR-7 for products of authorized operation, else TRD-6."""
    if use_kind not in USE_KINDS:
        raise InvalidField(f"用途类型须为公益或产业：{use_kind}", field="use_kind")
    if listing.operation_product:
        if use_kind == "welfare":
            return "0.00", "授权运营产品用于公共治理、公益事业，有条件免费使用"
        schedule = current_fee_schedule(session)
        item = (schedule.items if schedule else {}).get(listing.fee_item or "")
        if item is None:
            raise NoFeeSchedule(f"政府指导价收费标准中没有收费项目“{listing.fee_item}”")
        return (
            str(Decimal(item["price_yuan"]).quantize(Decimal("0.01"))),
            f"政府指导价第 {schedule.version_no} 版：{item['name']}，"
            f"{item['price_yuan']} 元/{item.get('unit') or '次'}",
        )
    if listing.price_mode == "free":
        return "0.00", "卖方免费提供"
    return listing.price_yuan or "0.00", f"卖方自主定价 {listing.price_yuan} 元"
