"""Disputes on the working-day clock and credit records built from violations (TRD-5, TRD-7)."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.market import credit, disputes, orders
from gongshu.market import service as market_service
from gongshu.market.errors import NotParty, WrongMarketStatus
from gongshu.opendata import agreements, breaches
from gongshu.opendata import service as opendata
from gongshu.timeutil import BEIJING, utcnow

from .conftest import publish  # noqa: TID252

# Monday 2026-09-21, 10:00 Beijing: five working days skip the Mid-Autumn holiday
# (25-27 Sep) and end at 24:00 on 29 Sep (CLK-1). Ten working days from 28 Sep cross
# the National Day holiday (1-7 Oct) and count the swapped working Saturday 10 Oct.
RAISED = dt.datetime(2026, 9, 21, 10, 0, tzinfo=BEIJING)
RESPONDED = dt.datetime(2026, 9, 28, 9, 0, tzinfo=BEIJING)


@pytest.fixture
def order(session, market, approved_product):  # noqa: ANN001, ANN201
    listing = market_service.list_product(session, approved_product.id, actor=market.operator)
    order = orders.place_order(
        session,
        listing.id,
        actor=market.buyer,
        use_kind="industry",
        purpose="普惠金融产品设计",
        scope="南昌市",
        term_days=180,
    )
    return orders.accept_contract(session, order.id, actor=market.buyer, sha256=order.sha256)


def test_a_lost_dispute_lowers_the_sellers_credit(session, people, market, order) -> None:
    seller = f"org:{market.op_org.id}"
    assert credit.credit(session, seller).score == 100
    d = disputes.raise_dispute(
        session, order.id, actor=market.buyer, claim="交付数据缺少 12 月份", at=RAISED
    )
    assert d.claimant == f"org:{market.ent_org.id}" and d.respondent == seller
    assert d.respond_due == dt.datetime(2026, 9, 30, 0, 0, tzinfo=BEIJING)
    with pytest.raises(NotParty):
        disputes.respond(session, d.id, actor=market.buyer, response="x", at=RESPONDED)
    with pytest.raises(WrongMarketStatus, match="答复期限"):
        disputes.resolve(
            session,
            d.id,
            actor=people.admin,
            outcome="upheld",
            resolution="x",
            at=RAISED + dt.timedelta(days=1),
        )
    disputes.respond(
        session, d.id, actor=market.operator, response="12 月数据尚未生成", at=RESPONDED
    )
    # 29, 30 Sep, 8, 9, 10 (a swapped working Saturday), 12-16 Oct.
    assert d.resolve_due == dt.datetime(2026, 10, 17, 0, 0, tzinfo=BEIJING)
    disputes.resolve(
        session,
        d.id,
        actor=people.admin,
        outcome="upheld",
        resolution="合同约定含全年数据，卖方应补交",
        at=RESPONDED + dt.timedelta(days=3),
    )
    assert d.loser == seller and d.status == "resolved"
    record = credit.credit(session, seller)
    assert record.score == 100 - credit.DISPUTE_LOST
    assert record.items[0].kind == "dispute_lost" and "补交" in record.items[0].description
    assert credit.credit(session, d.claimant).score == 100


def test_no_response_in_time_lets_the_administrator_decide(session, people, market, order) -> None:
    d = disputes.raise_dispute(
        session, order.id, actor=market.operator, claim="买方逾期未付款", at=RAISED
    )
    assert d.respondent == f"org:{market.ent_org.id}"
    disputes.resolve(
        session,
        d.id,
        actor=people.admin,
        outcome="rejected",
        resolution="已付款，证据不足",
        at=RAISED + dt.timedelta(days=10),
    )
    assert d.loser == f"org:{market.op_org.id}"


def test_a_year_without_a_schedule_leaves_the_deadline_empty_with_a_warning(
    session, market, order
) -> None:
    d = disputes.raise_dispute(
        session,
        order.id,
        actor=market.buyer,
        claim="数据质量问题",
        at=dt.datetime(2026, 12, 28, 10, 0, tzinfo=BEIJING),
    )
    assert (
        d.respond_due is None
        and "2027" in d.deadline_warning
        and "节假日安排尚未录入" in d.deadline_warning
    )


def test_breaches_and_open_data_breaches_enter_credit(session, people, market, order) -> None:
    disputes.record_breach(
        session, order.id, actor=people.admin, party="buyer", finding="向第三方转售原始数据"
    )
    # OPN-5: the buyer's staff used conditional-open data outside the agreement.
    entry = publish(
        session, people, "360102-MZ-0503", "救助站名录", [{"name": "站名"}], opening="conditional"
    )
    market.buyer.identity_verified_at = utcnow()
    app = opendata.apply(
        session,
        entry.id,
        actor=market.buyer,
        use="研究",
        scenario="选址",
        security_measures="专人管理",
        term_days=30,
    )
    opendata.answer(session, app.id, actor=people.clerk_county, approve=True)
    agreement = agreements.agreement_for(session, app.id)
    agreements.sign(session, agreement.id, actor=market.buyer)
    breaches.decide(
        session,
        agreement.id,
        actor=people.reviewer_county,
        finding="超出协议用途使用开放数据",
        correction_order="限期改正",
        correction_workdays=10,
    )
    record = credit.credit(session, f"org:{market.ent_org.id}")
    assert record.score == 100 - credit.CONTRACT_BREACH - credit.OPEN_BREACH
    assert {i.kind for i in record.items} == {"contract_breach", "open_breach"}
    assert record.name == "南昌洪城数智科技有限公司"
