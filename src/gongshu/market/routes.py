"""Market JSON API under /api/v1/market: browsing and credit (PUBLIC), selling
(MARKET_SELL), buying (MARKET_BUY), administration (MARKET_ADMIN)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import MARKET_ADMIN, MARKET_BUY, MARKET_SELL, PUBLIC
from gongshu.egress.download import file_response
from gongshu.market import admin, credit, disputes, orders, service
from gongshu.market.errors import NotSeller
from gongshu.market.models import Dispute, Listing, Order
from gongshu.web.bounds import MAX_ITEMS, Code, Days, Id, Name, Text
from gongshu.web.deps import SessionDep, read_first
from gongshu.web.downloads import DATA_MEDIA, media

router = APIRouter(prefix="/api/v1/market", tags=["market"])


class ListingCreate(BaseModel):
    registration_id: Id


class DelistingCreate(BaseModel):
    reason: Text = ""


class OrderCreate(BaseModel):
    listing_id: Id
    use_kind: Code
    purpose: Name
    scope: Code
    term_days: Days


class AcceptanceCreate(BaseModel):
    contract_sha256: Text


class SettlementCreate(BaseModel):
    reference: Name


class DisputeCreate(BaseModel):
    claim: Text


class DisputeResponseCreate(BaseModel):
    response: Text


class DisputeResolutionCreate(BaseModel):
    outcome: Code
    resolution: Text


class BreachCreate(BaseModel):
    party: Name
    finding: Text


class FeeScheduleUpdate(BaseModel):
    items: Annotated[dict[Code, dict], Field(max_length=MAX_ITEMS)]
    basis: Text


class ProhibitedKindCreate(BaseModel):
    entity_code: Code
    reason: Text


def listing_json(session, listing: Listing) -> dict:  # noqa: ANN001
    seller = credit.credit(session, f"org:{listing.seller_org_id}")
    return {
        "id": listing.id,
        "title": listing.title,
        "registration_code": listing.registration.code,
        "registration_id": listing.registration_id,
        "seller": listing.seller.name,
        "seller_credit": seller.score,
        "operation_product": listing.operation_product,
        "price_mode": listing.price_mode,
        "price_yuan": listing.price_yuan,
        "price_unit": listing.price_unit,
        "fee_item": listing.fee_item,
        "status": listing.status,
        "check": listing.check,
        "listed_at": listing.listed_at,
    }


def order_json(order: Order) -> dict:
    return {
        "id": order.id,
        "listing_id": order.listing_id,
        "status": order.status,
        "use_kind": order.use_kind,
        "purpose": order.purpose,
        "scope": order.scope,
        "term_days": order.term_days,
        "amount_yuan": order.amount_yuan,
        "pricing_basis": order.pricing_basis,
        "contract": order.terms,
        "contract_sha256": order.sha256,
        "grant_id": order.grant_id,
        "accepted_at": order.accepted_at,
    }


def dispute_json(d: Dispute) -> dict:
    return {
        "id": d.id,
        "order_id": d.order_id,
        "status": d.status,
        "claimant": d.claimant,
        "respondent": d.respondent,
        "claim": d.claim,
        "respond_due": d.respond_due,
        "response": d.response,
        "resolve_due": d.resolve_due,
        "deadline_warning": d.deadline_warning,
        "outcome": d.outcome,
        "resolution": d.resolution,
        "loser": d.loser,
    }


@router.get("/listings")
def listings(session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]) -> list[dict]:
    """Listed products with the seller's credit score (TRD-1, TRD-7)."""
    return [listing_json(session, x) for x in service.listings(session)]


@router.get("/listings/{listing_id}")
def listing(
    listing_id: Id, session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]
) -> dict:
    return listing_json(session, service.get_listing(session, listing_id))


@router.post("/checks/{registration_id}")
def check(
    registration_id: Id, session: SessionDep, user: Annotated[User, requires(MARKET_SELL)]
) -> dict:
    """The tradability check for your organization, with every reason in Chinese (TRD-3)."""
    return service.check_registration(session, registration_id, actor=user)


@router.post("/listings", status_code=201)
def create_listing(
    body: ListingCreate, session: SessionDep, user: Annotated[User, requires(MARKET_SELL)]
) -> dict:
    """List an approved product; refused (409) with the reasons if not tradable."""
    return listing_json(session, service.list_product(session, body.registration_id, actor=user))


@router.post("/listings/{listing_id}/delist")
def delist(
    listing_id: Id,
    body: DelistingCreate,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_SELL)],
) -> dict:
    return listing_json(
        session, service.delist(session, listing_id, actor=user, reason=body.reason)
    )


@router.get("/sales")
def sales(session: SessionDep, user: Annotated[User, requires(MARKET_SELL)]) -> list[dict]:
    if user.org_id is None:
        raise NotSeller("挂牌交易须以机构名义")
    return [order_json(o) for o in orders.orders_of_seller(session, user.org_id)]


@router.post("/orders/{order_id}/settle")
def settle(
    order_id: Id,
    body: SettlementCreate,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_SELL)],
) -> dict:
    s = orders.settle(session, order_id, actor=user, reference=body.reference)
    return {"order_id": order_id, "status": s.status, "amount_yuan": s.amount_yuan}


@router.post("/disputes/{dispute_id}/respond")
def respond(
    dispute_id: Id,
    body: DisputeResponseCreate,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
) -> dict:
    """The other party to the order answers (every seller role also holds MARKET_BUY)."""
    return dispute_json(disputes.respond(session, dispute_id, actor=user, response=body.response))


@router.post("/orders", status_code=201)
def order(
    body: OrderCreate, session: SessionDep, user: Annotated[User, requires(MARKET_BUY)]
) -> dict:
    """Order a listed product; the contract comes back for you to accept (OPR-7, OPR-8)."""
    data = body.model_dump()
    return order_json(orders.place_order(session, data.pop("listing_id"), actor=user, **data))


@router.get("/orders")
def my_orders(session: SessionDep, user: Annotated[User, requires(MARKET_BUY)]) -> list[dict]:
    return [order_json(o) for o in orders.orders_of_buyer(session, user)]


@router.post("/orders/{order_id}/accept")
def accept(
    order_id: Id,
    body: AcceptanceCreate,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
) -> dict:
    """Accept the contract by its hash; the data is then yours through the egress door."""
    return order_json(
        orders.accept_contract(session, order_id, actor=user, sha256=body.contract_sha256)
    )


@router.get("/orders/{order_id}/data", responses=media(*DATA_MEDIA))
@read_first()  # a long export must not hold SQLite's write lock
def order_data(
    order_id: Id,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
    format: Annotated[str, Query(pattern="^(csv|json|parquet)$", max_length=7)] = "csv",
) -> StreamingResponse:
    """The product's data, watermarked for you, recorded in the ledger."""
    settings = request.app.state.settings
    out = orders.deliver(
        session,
        order_id,
        actor=user,
        fmt=format,
        datasets_dir=settings.datasets_dir,
        work_dir=settings.data_dir / "egress",
        secret=settings.secret_key,
    )
    session.commit()  # the delivery and its ledger entry are durable before the first byte
    return file_response(out)


@router.post("/orders/{order_id}/disputes", status_code=201)
def raise_dispute(
    order_id: Id,
    body: DisputeCreate,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
) -> dict:
    return dispute_json(disputes.raise_dispute(session, order_id, actor=user, claim=body.claim))


@router.get("/disputes")
def open_disputes(session: SessionDep, user: Annotated[User, requires(MARKET_ADMIN)]) -> list[dict]:
    return [dispute_json(d) for d in disputes.open_disputes(session)]


@router.post("/disputes/{dispute_id}/resolve")
def resolve(
    dispute_id: Id,
    body: DisputeResolutionCreate,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_ADMIN)],
) -> dict:
    return dispute_json(
        disputes.resolve(
            session, dispute_id, actor=user, outcome=body.outcome, resolution=body.resolution
        )
    )


@router.post("/orders/{order_id}/breaches", status_code=201)
def breach(
    order_id: Id,
    body: BreachCreate,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_ADMIN)],
) -> dict:
    b = disputes.record_breach(
        session, order_id, actor=user, party=body.party, finding=body.finding
    )
    return {"id": b.id, "entity": b.entity, "finding": b.finding}


@router.get("/credit/{entity}")
def credit_record(
    entity: Text, session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]
) -> dict:
    """A market entity's credit record (``org:ID`` or ``user:ID``), line by line (TRD-7)."""
    r = credit.credit(session, entity)
    return {
        "entity": r.entity,
        "name": r.name,
        "score": r.score,
        "items": [i.__dict__ for i in r.items],
    }


@router.get("/fee-schedule")
def fee_schedule(session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]) -> list[dict]:
    """Every version of the government-guided fee schedule, newest first (OPR-7)."""
    return [
        {"version_no": s.version_no, "items": s.items, "basis": s.basis, "created_at": s.created_at}
        for s in admin.fee_schedules(session)
    ]


@router.put("/fee-schedule", status_code=201)
def set_fee_schedule(
    body: FeeScheduleUpdate, session: SessionDep, user: Annotated[User, requires(MARKET_ADMIN)]
) -> dict:
    s = admin.set_fee_schedule(session, body.items, basis=body.basis, actor=user)
    return {"version_no": s.version_no, "items": s.items, "basis": s.basis}


@router.post("/prohibited-kinds", status_code=201)
def prohibit(
    body: ProhibitedKindCreate, session: SessionDep, user: Annotated[User, requires(MARKET_ADMIN)]
) -> dict:
    k = admin.prohibit(session, body.entity_code, reason=body.reason, actor=user)
    return {"entity_code": k.entity_code, "reason": k.reason, "active": k.active}
