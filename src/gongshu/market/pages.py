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
from gongshu.capability import reference as reference_number
from gongshu.egress.download import file_response
from gongshu.entities import ENTITY_LABELS
from gongshu.errors import Conflict, GongshuError, InvalidField, InvalidInput
from gongshu.market import admin, credit, disputes, orders, service
from gongshu.market.disputes import buyer_entity
from gongshu.market.errors import NotParty, NotSeller
from gongshu.market.models import DISPUTE_OUTCOMES, ORDER_STATUSES, USE_KINDS
from gongshu.market.tradability import check, current_fee_schedule
from gongshu.registration import service as registration
from gongshu.web.deps import SessionDep, read_first
from gongshu.web.forms import form_errors, keyed, refused
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
LABELS = {"use_kinds": USE_KINDS, "order_statuses": ORDER_STATUSES, "outcomes": DISPUTE_OUTCOMES}
# A refused post comes back on its own page (issue 17 item 6): bad input and a
# refusal of the market's rules; a missing right or record still ends on the error page.
REFUSED = (InvalidInput, Conflict)
FLASHES = {
    "listed": "已挂牌，买方现在可以在交易市场看到并下单。",
    "delisted": "已下架。买方已签订的合同继续有效。",
    "disputed": "争议已提出。下一步：对方应在期限内答复，逾期未答复的由市场管理部门处理。",
    "responded": "答复已提交。下一步：市场管理部门作出处理。",
    "breach": "违约已记录，并记入违约方的信用记录。",
    "accepted": "合同已确认。下一步：下载数据；需付费的订单由卖方确认收款。",
    "settled": "已确认收款，订单结算完成。",
    "fees": "新版收费标准已发布，新订单按新版计价。",
    "prohibited": "已列入禁止交易清单，该类型的数据产品不能再挂牌。",
    "resolved": "争议已处理，处理结果已通知双方。",
}


def _said(failed: GongshuError | None, typed: dict | None, key: str = "") -> dict:
    """What a page shows after a refused post: ``errors``/``error`` and ``data``
    (each keyed ``name-key`` when the page has one such form per card)."""
    said = keyed(form_errors(failed) if failed is not None else {"errors": {}}, key)
    data = {(f"{k}-{key}" if key else k): v for k, v in (typed or {}).items()}
    return {"status_code": failed.status if failed else 200, "data": data, **said}


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
    flash: str = "",
) -> Response:
    return _listing_page(request, session, listing_id, flash=FLASHES.get(flash))


def _listing_page(
    request: Request,
    session,  # noqa: ANN001
    listing_id: int,
    *,
    failed: GongshuError | None = None,
    typed: dict | None = None,
    flash: str | None = None,
) -> Response:
    listing = service.get_listing(session, listing_id)
    return render(
        request,
        "market_listing.html",
        listing=listing,
        seller_credit=credit.credit(session, f"org:{listing.seller_org_id}"),
        schedule=current_fee_schedule(session),
        labels=LABELS,
        flash=flash,
        **_said(failed, typed),
    )


@pages.post("/market/listings/{listing_id}/order")
def order(
    listing_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
    use_kind: FormStr = "",
    purpose: FormStr = "",
    scope: FormStr = "",
    term_days: FormStr = "",
) -> Response:
    typed = {"use_kind": use_kind, "purpose": purpose, "scope": scope, "term_days": term_days}
    try:
        try:
            term = int(term_days.strip())
        except ValueError:
            raise InvalidField("使用期限必须是整数天", field="term_days") from None
        o = orders.place_order(
            session,
            listing_id,
            actor=user,
            use_kind=use_kind,
            purpose=purpose,
            scope=scope,
            term_days=term,
        )
    except REFUSED as exc:
        refused(session, exc)
        return _listing_page(request, session, listing_id, failed=exc, typed=typed)
    return RedirectResponse(f"/market/orders/{o.id}?flash=ordered", status_code=303)


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
    flash: str = "",
) -> Response:
    return _order_page(request, session, order_id, user, flash=flash)


def _order_page(
    request: Request,
    session,  # noqa: ANN001
    order_id: int,
    user: User,
    *,
    failed: GongshuError | None = None,
    typed: dict | None = None,
    key: str = "",
    flash: str = "",
) -> Response:
    """The contract; after a refused post the same page with the message beside its
    field (``key`` names a dispute's card) and what was typed kept."""
    o, is_buyer, is_seller = _party_order(session, order_id, user)
    me = buyer_entity(o) if is_buyer else f"org:{o.seller_org_id}"
    said = (
        f"订单已生成，编号 {reference_number('JYDD', o.created_at, o.id)}。"
        "下一步：阅读下方合同条款，确认后即可下载数据。"
        if flash == "ordered"
        else FLASHES.get(flash)
    )
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
        flash=said,
        **_said(failed, typed, key),
    )


@pages.post("/market/orders/{order_id}/accept")
def accept(
    order_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
    sha256: FormStr = "",
    confirm: FormStr = "",
) -> Response:
    try:
        if confirm != "yes":
            raise InvalidField("请勾选“已阅读并同意合同全部条款”", field="confirm")
        orders.accept_contract(session, order_id, actor=user, sha256=sha256)
    except REFUSED as exc:
        refused(session, exc)
        return _order_page(request, session, order_id, user, failed=exc)
    return RedirectResponse(f"/market/orders/{order_id}?flash=accepted", status_code=303)


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
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
    claim: FormStr = "",
) -> Response:
    try:
        disputes.raise_dispute(session, order_id, actor=user, claim=claim)
    except REFUSED as exc:
        refused(session, exc)
        return _order_page(request, session, order_id, user, failed=exc, typed={"claim": claim})
    return RedirectResponse(f"/market/orders/{order_id}?flash=disputed", status_code=303)


@pages.post("/market/disputes/{dispute_id}/respond")
def respond(
    dispute_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_BUY)],
    response: FormStr = "",
) -> Response:
    try:
        d = disputes.respond(session, dispute_id, actor=user, response=response)
    except REFUSED as exc:
        refused(session, exc)
        order_id = disputes.get_dispute(session, dispute_id).order_id
        typed = {"response": response}
        key = f"d{dispute_id}"
        return _order_page(request, session, order_id, user, failed=exc, typed=typed, key=key)
    return RedirectResponse(f"/market/orders/{d.order_id}?flash=responded", status_code=303)


# ---------------------------------------------------------------- seller


@pages.get("/market/sell")
def sell(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_SELL)],
    flash: str = "",
) -> Response:
    return _sell_page(request, session, user, flash=FLASHES.get(flash))


def _sell_page(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    *,
    failed: GongshuError | None = None,
    typed: dict | None = None,
    key: str = "",
    flash: str | None = None,
) -> Response:
    """The seller's desk; a refused listing or settlement comes back on it."""
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
        flash=flash,
        **_said(failed, typed, key),
    )


@pages.post("/market/sell/{reg_id}/list")
def list_product(
    reg_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_SELL)],
) -> Response:
    try:
        listing = service.list_product(session, reg_id, actor=user)
    except REFUSED as exc:
        refused(session, exc)
        return _sell_page(request, session, user, failed=exc)
    return RedirectResponse(f"/market/listings/{listing.id}?flash=listed", status_code=303)


@pages.post("/market/listings/{listing_id}/delist")
def delist(
    listing_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_SELL)],
    reason: FormStr = "",
) -> Response:
    try:
        service.delist(session, listing_id, actor=user, reason=reason)
    except REFUSED as exc:
        refused(session, exc)
        return _listing_page(request, session, listing_id, failed=exc, typed={"reason": reason})
    return RedirectResponse(f"/market/listings/{listing_id}?flash=delisted", status_code=303)


@pages.post("/market/orders/{order_id}/settle")
def settle(
    order_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_SELL)],
    reference: FormStr = "",
) -> Response:
    try:
        orders.settle(session, order_id, actor=user, reference=reference)
    except REFUSED as exc:
        refused(session, exc)
        typed, key = {"reference": reference}, f"o{order_id}"
        return _sell_page(request, session, user, failed=exc, typed=typed, key=key)
    return RedirectResponse("/market/sell?flash=settled", status_code=303)


# ---------------------------------------------------------------- administrator


@pages.get("/market/admin")
def admin_page(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_ADMIN)],
    flash: str = "",
) -> Response:
    return _admin_page(request, session, flash=FLASHES.get(flash))


def _admin_page(
    request: Request,
    session,  # noqa: ANN001
    *,
    failed: GongshuError | None = None,
    typed: dict | None = None,
    key: str = "",
    flash: str | None = None,
) -> Response:
    """The administrator's desk; a refused post comes back on it."""
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
        flash=flash,
        **_said(failed, typed, key),
    )


def parse_fee_lines(text: str) -> dict:
    """``code,name,unit,price`` per line, as the fee schedule form takes it."""
    items = {}
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if len(parts) != 4:
            raise InvalidField(f"第 {n} 行应为“编号,名称,单位,价格”：{line}", field="lines")
        items[parts[0]] = {"name": parts[1], "unit": parts[2], "price_yuan": parts[3]}
    return items


@pages.post("/market/admin/fee-schedule")
def set_fee_schedule(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_ADMIN)],
    lines: FormStr = "",
    basis: FormStr = "",
) -> Response:
    try:
        admin.set_fee_schedule(session, parse_fee_lines(lines), basis=basis, actor=user)
    except REFUSED as exc:
        refused(session, exc)
        return _admin_page(request, session, failed=exc, typed={"lines": lines, "basis": basis})
    return RedirectResponse("/market/admin?flash=fees", status_code=303)


@pages.post("/market/admin/prohibited")
def prohibit(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_ADMIN)],
    entity_code: FormStr = "",
    reason: FormStr = "",
) -> Response:
    try:
        admin.prohibit(session, entity_code, reason=reason, actor=user)
    except REFUSED as exc:
        refused(session, exc)
        typed = {"entity_code": entity_code, "reason": reason}
        return _admin_page(request, session, failed=exc, typed=typed)
    return RedirectResponse("/market/admin?flash=prohibited", status_code=303)


@pages.post("/market/disputes/{dispute_id}/resolve")
def resolve(
    dispute_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_ADMIN)],
    outcome: FormStr = "",
    resolution: FormStr = "",
) -> Response:
    try:
        disputes.resolve(session, dispute_id, actor=user, outcome=outcome, resolution=resolution)
    except REFUSED as exc:
        refused(session, exc)
        typed = {"outcome": outcome, "resolution": resolution}
        return _admin_page(request, session, failed=exc, typed=typed, key=f"d{dispute_id}")
    return RedirectResponse("/market/admin?flash=resolved", status_code=303)


@pages.post("/market/orders/{order_id}/breaches")
def breach(
    order_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(MARKET_ADMIN)],
    party: FormStr = "",
    finding: FormStr = "",
) -> Response:
    try:
        disputes.record_breach(session, order_id, actor=user, party=party, finding=finding)
    except REFUSED as exc:
        refused(session, exc)
        typed = {"party": party, "finding": finding}
        return _order_page(request, session, order_id, user, failed=exc, typed=typed)
    return RedirectResponse(f"/market/orders/{order_id}?flash=breach", status_code=303)
