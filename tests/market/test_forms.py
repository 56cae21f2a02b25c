"""Market forms in the GOV.UK pattern (issue 17 item 6): a refused post comes back on
its own page with status 400, the message beside its field, what was typed kept, and
nothing written."""

from __future__ import annotations

from sqlalchemy import func, select

from gongshu.ledger.models import LedgerEntry
from gongshu.market import orders
from gongshu.market import service as market_service
from gongshu.market.models import Dispute, FeeSchedule, Order, ProhibitedKind


def _entries(session) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(LedgerEntry))


def test_an_order_without_its_purpose_comes_back_beside_the_field(
    client, login, session, market, approved_product
) -> None:
    listing = market_service.list_product(session, approved_product.id, actor=market.operator)
    session.commit()
    login("buyer")
    before = _entries(session)
    r = client.post(
        f"/market/listings/{listing.id}/order",
        data={"use_kind": "industry", "purpose": " ", "scope": "东湖区", "term_days": "90"},
    )
    assert r.status_code == 400 and 'id="order-form"' in r.text and "error-summary" in r.text
    assert 'id="purpose-error">请说明使用目的' in r.text and 'href="#purpose"' in r.text
    assert 'value="东湖区"' in r.text and 'value="90"' in r.text
    assert '<option value="industry" selected>' in r.text
    r = client.post(
        f"/market/listings/{listing.id}/order",
        data={
            "use_kind": "industry",
            "purpose": "风险评估",
            "scope": "东湖区",
            "term_days": "九十",
        },
    )
    assert r.status_code == 400 and 'id="term_days-error">使用期限必须是整数天' in r.text
    assert "风险评估</textarea>" in r.text
    assert session.scalar(select(func.count()).select_from(Order)) == 0
    assert _entries(session) == before
    r = client.post(
        f"/market/listings/{listing.id}/order",
        data={"use_kind": "industry", "purpose": "风险评估", "scope": "东湖区", "term_days": "90"},
        follow_redirects=True,
    )
    assert "订单已生成，编号 JYDD-" in r.text and "下一步" in r.text


def test_contract_dispute_and_settlement_forms_keep_what_was_typed(
    client, login, session, market, approved_product
) -> None:
    listing = market_service.list_product(session, approved_product.id, actor=market.operator)
    order = orders.place_order(
        session,
        listing.id,
        actor=market.buyer,
        use_kind="industry",
        purpose="风险评估",
        scope="南昌市",
        term_days=30,
    )
    session.commit()
    login("buyer")
    before = _entries(session)
    r = client.post(f"/market/orders/{order.id}/accept", data={"sha256": order.sha256})
    assert r.status_code == 400 and 'id="confirm-error">请勾选' in r.text
    assert 'href="#confirm"' in r.text and "数据产品交易合同" in r.text
    assert session.get(Order, order.id).status == "offered" and _entries(session) == before
    client.post(
        f"/market/orders/{order.id}/accept", data={"sha256": order.sha256, "confirm": "yes"}
    )
    before = _entries(session)
    r = client.post(f"/market/orders/{order.id}/disputes", data={"claim": ""})
    assert r.status_code == 400 and 'id="claim-error">请说明争议事项和请求' in r.text
    assert session.scalar(select(func.count()).select_from(Dispute)) == 0
    assert _entries(session) == before
    login("operator")
    before = _entries(session)
    r = client.post(f"/market/orders/{order.id}/settle", data={"reference": "  "})
    assert r.status_code == 400 and f'id="reference-o{order.id}-error">请填写收款凭证号' in r.text
    assert "挂牌管理" in r.text and _entries(session) == before
    r = client.post(f"/market/listings/{listing.id}/delist", data={"reason": ""})
    assert r.status_code == 400 and 'id="reason-error">请说明下架原因' in r.text
    assert session.get(type(listing), listing.id).status == "listed"
    assert _entries(session) == before


def test_the_administrator_s_forms_come_back_beside_the_field(
    client, login, session, market
) -> None:
    login("admin")
    before = _entries(session)
    versions = session.scalar(select(func.count()).select_from(FeeSchedule))
    r = client.post("/market/admin/fee-schedule", data={"lines": "坏行", "basis": "调价通知"})
    assert r.status_code == 400 and 'id="lines-error">第 1 行应为' in r.text
    assert 'value="调价通知"' in r.text and "坏行</textarea>" in r.text
    r = client.post("/market/admin/prohibited", data={"entity_code": "BIOMETRIC", "reason": ""})
    assert r.status_code == 400 and 'id="reason-error">请说明禁止交易的法律依据' in r.text
    assert '<option value="BIOMETRIC" selected>' in r.text
    assert session.scalar(select(func.count()).select_from(FeeSchedule)) == versions
    assert session.scalar(select(func.count()).select_from(ProhibitedKind)) == 0
    assert _entries(session) == before
