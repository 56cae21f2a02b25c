"""Orders (TRD-4..TRD-6, OPR-7, OPR-8): the buyer states the use, purpose, scope and
term; the platform drafts the contract with its usage terms; accepting it (recorded
with the contract's hash) creates a grant with source "market", so the data leaves
only through the egress door, watermarked for the buyer; a settlement follows."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.egress import service as egress
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record
from gongshu.market import authorizations, provenance
from gongshu.market.errors import NotBuyer, OrderNotFound, WrongMarketStatus
from gongshu.market.models import ORDER_STATUSES, USE_KINDS, Listing, Order, Settlement
from gongshu.market.service import entity_of, get_listing, price_for, require_seller
from gongshu.timeutil import utcnow

MAX_TERM_DAYS = 3650


def _contract(listing: Listing, order: Order, buyer: User, data_name: str) -> dict:
    reg = listing.registration
    return {
        "parties": {
            "seller": listing.seller.name,
            "buyer": buyer.org.name if buyer.org else buyer.display_name,
        },
        "product": {
            "name": listing.title,
            "registration_code": reg.code,
            "registration_version": listing.registration_version_no,
            "data": data_name,
        },
        "use_kind": USE_KINDS[order.use_kind],
        "purpose": order.purpose,
        "scope": order.scope,
        "term_days": order.term_days,
        "price_yuan": order.amount_yuan,
        "pricing_basis": order.pricing_basis,
        "clauses": [
            "买方仅可在本合同约定的用途、范围和期限内使用数据产品。",
            "买方不得转售、转让、出租或以其他方式向第三方提供所交付的原始数据及其副本。",
            "卖方不参与买方对所交付产品的再开发，不得利用所交付数据排除、限制竞争。",
            "交付数据经平台出口统一交付并嵌入买方专属水印，数据泄露可追溯至买方。",
            "期限届满，买方应删除所交付数据并停止使用。",
            "违反合同约定的，记入市场主体信用记录；争议通过平台争议处理程序解决。",
            "本合同为非独占许可，卖方不与买方约定独家供应。",
        ]
        + (
            [
                "本订单按公共治理、公益事业用途免费使用：数据仅可用于所述公益目的，"
                "不得用于经营性活动；违反的，按产业用途政府指导价补缴费用并记入信用记录。"
            ]
            if order.amount_yuan == "0.00" and order.use_kind == "welfare"
            else []
        ),
    }


def place_order(
    session: Session,
    listing_id: int,
    *,
    actor: User,
    use_kind: str,
    purpose: str,
    scope: str,
    term_days: int,
) -> Order:
    """Order a listed product; the contract is drafted for the buyer to accept."""
    listing = get_listing(session, listing_id)
    if listing.status != "listed":
        raise WrongMarketStatus("该产品已下架，不能下单")
    if actor.org_id is not None and actor.org_id == listing.seller_org_id:
        raise NotBuyer("挂牌方不能购买本方产品，也不参与所交付产品的再开发")
    if not (purpose or "").strip():
        raise InvalidField("请说明使用目的", field="purpose")
    if not (scope or "").strip():
        raise InvalidField("请说明使用范围", field="scope")
    if isinstance(term_days, bool) or not isinstance(term_days, int):
        raise InvalidField("使用期限必须是整数天", field="term_days")
    if not 1 <= term_days <= MAX_TERM_DAYS:
        raise InvalidField(
            f"使用期限须在 1 至 {MAX_TERM_DAYS} 天之间，收到 {term_days}", field="term_days"
        )
    amount, basis = price_for(session, listing, use_kind)
    if use_kind == "welfare":
        authorizations.require_welfare_approval(session, listing, actor)  # OPR-7
    order = Order(
        listing_id=listing.id,
        seller_org_id=listing.seller_org_id,
        buyer_user_id=actor.id,
        buyer_org_id=actor.org_id,
        use_kind=use_kind,
        purpose=purpose.strip(),
        scope=scope.strip(),
        term_days=term_days,
        amount_yuan=amount,
        pricing_basis=basis,
        terms={},
        sha256="",
    )
    data = catalog.get(session, listing.data_entry_id)
    order.terms = _contract(listing, order, actor, f"{data.name}（{data.resource_code}）")
    order.sha256 = hashlib.sha256(
        json.dumps(order.terms, ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()
    session.add(order)
    session.flush()
    record(
        session,
        "market.ordered",
        actor=actor.actor,
        subject=f"order:{order.id}",
        payload={
            "listing": listing.id,
            "buyer": entity_of(actor),
            "use_kind": use_kind,
            "amount_yuan": amount,
            "contract_sha256": order.sha256,
        },
    )
    return order


def get_order(session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(f"订单不存在：{order_id}")
    return order


def orders_of_buyer(session: Session, user: User) -> list[Order]:
    cond = Order.buyer_user_id == user.id
    if user.org_id is not None:
        cond = cond | (Order.buyer_org_id == user.org_id)
    return list(session.scalars(select(Order).where(cond).order_by(Order.created_at.desc())))


def orders_of_seller(session: Session, org_id: int) -> list[Order]:
    return list(
        session.scalars(
            select(Order).where(Order.seller_org_id == org_id).order_by(Order.created_at.desc())
        )
    )


def is_buyer(order: Order, actor: User) -> bool:
    return order.buyer_user_id == actor.id or (
        actor.org_id is not None and order.buyer_org_id == actor.org_id
    )


def require_buyer(order: Order, actor: User) -> None:
    if not is_buyer(order, actor):
        raise NotBuyer("该订单不属于当前用户或单位")


def accept_contract(session: Session, order_id: int, *, actor: User, sha256: str) -> Order:
    """The buyer accepts the contract it read (its hash); the grant and settlement follow."""
    order = get_order(session, order_id)
    require_buyer(order, actor)
    if order.status != "offered":
        raise WrongMarketStatus(
            f"合同{ORDER_STATUSES.get(order.status, order.status)}，不能再次确认"
        )
    if sha256 != order.sha256:
        raise InvalidInput("确认的合同与平台记录的合同不一致，请重新阅读后确认")
    listing = order.listing
    if listing.status != "listed":
        raise WrongMarketStatus("该产品已下架，不能签约")
    entry = catalog.get(session, listing.data_entry_id)
    provenance.require(session, entry)  # a listing from before the check fails closed (OPR-4)
    grant = egress.create_grant(
        session,
        entry,
        recipient_user=actor,
        purpose=f"数据产品交易（订单 {order.id}）：{order.purpose}；范围：{order.scope}",
        source="market",
        source_ref=f"order:{order.id}",
        actor=actor,
        days=order.term_days,
    )
    order.status, order.accepted_at, order.grant_id = "accepted", utcnow(), grant.id
    free = Decimal(order.amount_yuan) == 0
    session.add(
        Settlement(
            order_id=order.id, amount_yuan=order.amount_yuan, status="free" if free else "due"
        )
    )
    session.flush()
    record(
        session,
        "market.contract_accepted",
        actor=actor.actor,
        subject=f"order:{order.id}",
        payload={"contract_sha256": order.sha256, "grant": grant.id, "terms": order.terms},
    )
    return order


def deliver(
    session: Session,
    order_id: int,
    *,
    actor: User,
    fmt: str,
    datasets_dir: Path,
    work_dir: Path,
    secret: str,
) -> egress.DeliveryFile:
    """The product's data, through the egress door, with the buyer's watermark."""
    order = get_order(session, order_id)
    require_buyer(order, actor)
    if order.status != "accepted" or order.grant_id is None:
        raise WrongMarketStatus("请先确认合同")
    return egress.deliver(
        session,
        order.grant_id,
        actor=actor,
        fmt=fmt,
        datasets_dir=datasets_dir,
        work_dir=work_dir,
        secret=secret,
    )


def settlement_of(session: Session, order_id: int) -> Settlement | None:
    return session.scalar(select(Settlement).where(Settlement.order_id == order_id))


def settle(session: Session, order_id: int, *, actor: User, reference: str) -> Settlement:
    """The seller records that the amount was received (TRD-5)."""
    order = get_order(session, order_id)
    require_seller(actor, order.seller_org_id)
    settlement = settlement_of(session, order_id)
    if settlement is None or settlement.status != "due":
        raise WrongMarketStatus("该订单没有待结算的款项")
    if not (reference or "").strip():
        raise InvalidField("请填写收款凭证号", field="reference")
    settlement.status, settlement.reference = "settled", reference.strip()
    settlement.settled_by, settlement.settled_at = actor.actor, utcnow()
    session.flush()
    record(
        session,
        "market.settled",
        actor=actor.actor,
        subject=f"order:{order.id}",
        payload={"amount_yuan": settlement.amount_yuan, "reference": settlement.reference},
    )
    return settlement
