"""Market pages: the public venue (TRD-1) with credit scores, the seller's desk with
the tradability check's reasons, the buyer's orders and contracts, and the
administrator's fee schedule, prohibited kinds and disputes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import MARKET_ADMIN, MARKET_BUY, MARKET_SELL, PUBLIC
from gongshu.egress.download import file_response
from gongshu.entities import ENTITY_LABELS
from gongshu.errors import InvalidInput
from gongshu.market import admin, credit, disputes, orders, service
from gongshu.market.disputes import buyer_entity
from gongshu.market.errors import NotParty, NotSeller
from gongshu.market.models import DISPUTE_OUTCOMES, ORDER_STATUSES, USE_KINDS
from gongshu.market.tradability import check, current_fee_schedule
from gongshu.registration import service as registration
from gongshu.web.deps import SessionDep, read_first
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
LABELS = {"use_kinds": USE_KINDS, "order_statuses": ORDER_STATUSES, "outcomes": DISPUTE_OUTCOMES}


@pages.get("/market")
def venue(
    request: Request, session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]
) -> Response:
    listings = service.listings(session)
    scores = {x.seller_org_id: credit.credit(session, f"org:{x.seller_org_id}") for x in listings}
    return render(
        request,
        "market.html",
        listings=listings,
        scores=scores,
        schedule=current_fee_schedule(session),
    )


@pages.get("/market/listings/{listing_id}")
def listing_page(
    listing_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
) -> Response:
    listing = service.get_listing(session, listing_id)
    return render(
        request,
        "market_listing.html",
        listing=listing,
        seller_credit=credit.credit(session, f"org:{listing.seller_org_id}"),
        schedule=current_fee_schedule(session),
        labels=LABELS,
    )


@pages.post("/market/listings/{listing_id}/order")
def order(
    listing_id: int,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
    use_kind: FormStr = "",
    purpose: FormStr = "",
    scope: FormStr = "",
    term_days: FormStr = "",
) -> Response:
    try:
        term = int(term_days)
    except ValueError:
        raise InvalidInput(f"使用期限必须是整数天：{term_days}") from None
    o = orders.place_order(
        session,
        listing_id,
        actor=user,
        use_kind=use_kind,
        purpose=purpose,
        scope=scope,
        term_days=term,
    )
    return RedirectResponse(f"/market/orders/{o.id}", status_code=303)


# ---------------------------------------------------------------- orders


@pages.get("/market/orders")
def my_orders(
    request: Request, session: SessionDep, user: Annotated[User, requires(MARKET_BUY)]
) -> Response:
    return render(
        request, "market_orders.html", orders=orders.orders_of_buyer(session, user), labels=LABELS
    )


def _party_order(session, order_id: int, user: User):  # noqa: ANN001, ANN202
    o = orders.get_order(session, order_id)
    seller = user.org_id is not None and user.org_id == o.seller_org_id
    buyer = orders.is_buyer(o, user)
    if not (buyer or seller or "admin" in user.roles):
        raise NotParty("只有订单双方可以查看该订单")
    return o, buyer, seller


@pages.get("/market/orders/{order_id}")
def order_page(
    order_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
) -> Response:
    o, is_buyer, is_seller = _party_order(session, order_id, user)
    me = buyer_entity(o) if is_buyer else f"org:{o.seller_org_id}"
    return render(
        request,
        "market_order.html",
        order=o,
        is_buyer=is_buyer,
        is_seller=is_seller,
        me=me,
        settlement=orders.settlement_of(session, o.id),
        disputes=disputes.disputes_of_order(session, o.id),
        labels=LABELS,
    )


@pages.post("/market/orders/{order_id}/accept")
def accept(
    order_id: int,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
    sha256: FormStr = "",
    confirm: FormStr = "",
) -> Response:
    if confirm != "yes":
        raise InvalidInput("请勾选“已阅读并同意合同全部条款”")
    orders.accept_contract(session, order_id, actor=user, sha256=sha256)
    return RedirectResponse(f"/market/orders/{order_id}", status_code=303)


@pages.get("/market/orders/{order_id}/download")
@read_first()  # a long export must not hold SQLite's write lock
def download(
    order_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
    format: str = "csv",
) -> Response:
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


@pages.post("/market/orders/{order_id}/disputes")
def raise_dispute(
    order_id: int,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
    claim: FormStr = "",
) -> Response:
    disputes.raise_dispute(session, order_id, actor=user, claim=claim)
    return RedirectResponse(f"/market/orders/{order_id}", status_code=303)


@pages.post("/market/disputes/{dispute_id}/respond")
def respond(
    dispute_id: int,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
    response: FormStr = "",
) -> Response:
    d = disputes.respond(session, dispute_id, actor=user, response=response)
    return RedirectResponse(f"/market/orders/{d.order_id}", status_code=303)


# ---------------------------------------------------------------- seller


@pages.get("/market/sell")
def sell(
    request: Request, session: SessionDep, user: Annotated[User, requires(MARKET_SELL)]
) -> Response:
    if user.org_id is None:
        raise NotSeller("挂牌交易须以机构名义")
    products = [r for r in registration.of_org(session, user.org_id) if r.kind == "product"]
    listed = {x.registration_id: x for x in service.listings(session)}
    checks = {
        r.id: check(session, r, seller_org_id=user.org_id) for r in products if r.id not in listed
    }
    return render(
        request,
        "market_sell.html",
        products=products,
        listed=listed,
        checks=checks,
        sales=orders.orders_of_seller(session, user.org_id),
        settlements={
            o.id: orders.settlement_of(session, o.id)
            for o in orders.orders_of_seller(session, user.org_id)
        },
        labels=LABELS,
    )


@pages.post("/market/sell/{reg_id}/list")
def list_product(
    reg_id: int, session: SessionDep, user: Annotated[User, requires(MARKET_SELL)]
) -> Response:
    listing = service.list_product(session, reg_id, actor=user)
    return RedirectResponse(f"/market/listings/{listing.id}", status_code=303)


@pages.post("/market/listings/{listing_id}/delist")
def delist(
    listing_id: int,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_SELL)],
    reason: FormStr = "",
) -> Response:
    service.delist(session, listing_id, actor=user, reason=reason)
    return RedirectResponse(f"/market/listings/{listing_id}", status_code=303)


@pages.post("/market/orders/{order_id}/settle")
def settle(
    order_id: int,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_SELL)],
    reference: FormStr = "",
) -> Response:
    orders.settle(session, order_id, actor=user, reference=reference)
    return RedirectResponse("/market/sell", status_code=303)


# ---------------------------------------------------------------- administrator


@pages.get("/market/admin")
def admin_page(
    request: Request, session: SessionDep, user: Annotated[User, requires(MARKET_ADMIN)]
) -> Response:
    return render(
        request,
        "market_admin.html",
        schedules=admin.fee_schedules(session),
        prohibited=admin.prohibited_kinds(session),
        disputes=disputes.open_disputes(session),
        entity_labels=ENTITY_LABELS,
        labels=LABELS,
        names={
            e: credit.entity_name(session, e)
            for d in disputes.open_disputes(session)
            for e in (d.claimant, d.respondent)
        },
    )


def parse_fee_lines(text: str) -> dict:
    """``code,name,unit,price`` per line, as the fee schedule form takes it."""
    items = {}
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if len(parts) != 4:
            raise InvalidInput(f"第 {n} 行应为“编号,名称,单位,价格”：{line}")
        items[parts[0]] = {"name": parts[1], "unit": parts[2], "price_yuan": parts[3]}
    return items


@pages.post("/market/admin/fee-schedule")
def set_fee_schedule(
    session: SessionDep,
    user: Annotated[User, requires(MARKET_ADMIN)],
    lines: FormStr = "",
    basis: FormStr = "",
) -> Response:
    admin.set_fee_schedule(session, parse_fee_lines(lines), basis=basis, actor=user)
    return RedirectResponse("/market/admin", status_code=303)


@pages.post("/market/admin/prohibited")
def prohibit(
    session: SessionDep,
    user: Annotated[User, requires(MARKET_ADMIN)],
    entity_code: FormStr = "",
    reason: FormStr = "",
) -> Response:
    admin.prohibit(session, entity_code, reason=reason, actor=user)
    return RedirectResponse("/market/admin", status_code=303)


@pages.post("/market/disputes/{dispute_id}/resolve")
def resolve(
    dispute_id: int,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_ADMIN)],
    outcome: FormStr = "",
    resolution: FormStr = "",
) -> Response:
    disputes.resolve(session, dispute_id, actor=user, outcome=outcome, resolution=resolution)
    return RedirectResponse("/market/admin", status_code=303)


@pages.post("/market/orders/{order_id}/breaches")
def breach(
    order_id: int,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_ADMIN)],
    party: FormStr = "",
    finding: FormStr = "",
) -> Response:
    disputes.record_breach(session, order_id, actor=user, party=party, finding=finding)
    return RedirectResponse("/market/admin", status_code=303)
