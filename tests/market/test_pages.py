"""Market pages: the venue with credit scores, the seller's reasons, the contract page,
the administrator's fee schedule."""

from __future__ import annotations

from sqlalchemy import select

from gongshu.market import orders
from gongshu.market import service as market_service
from gongshu.market.models import Order

from .conftest import legacy_raw_registration  # noqa: TID252


def test_venue_listing_order_and_contract_pages(
    client, login, session, market, approved_product, welfare_approved
) -> None:
    listing = market_service.list_product(session, approved_product.id, actor=market.operator)
    session.flush()
    client.cookies.clear()
    venue = client.get("/market").text
    assert "东湖区低保保障统计数据产品" in venue and approved_product.code in venue
    assert "产业 1200.00 元/次" in venue
    page = client.get(f"/market/listings/{listing.id}").text
    assert 'id="seller-credit">100<' in page and "登录</a>后可下单" in page
    login("buyer")
    r = client.post(
        f"/market/listings/{listing.id}/order",
        data={
            "use_kind": "welfare",
            "purpose": "救助政策评估",
            "scope": "东湖区",
            "term_days": "90",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    order = session.scalar(select(Order).where(Order.buyer_user_id == market.buyer.id))
    contract = client.get(r.headers["location"]).text
    assert (
        "不得转售" in contract
        and "卖方不参与买方对所交付产品的再开发" in contract
        and "0.00 元" in contract
    )
    r = client.post(f"/market/orders/{order.id}/accept", data={"sha256": order.sha256})
    assert r.status_code == 400 and "请勾选“已阅读并同意合同全部条款”" in r.text
    r = client.post(
        f"/market/orders/{order.id}/accept",
        data={"sha256": order.sha256, "confirm": "yes"},
        follow_redirects=True,
    )
    assert "已于" in r.text and "下载数据" in r.text and "结算：0.00 元，免费" in r.text
    assert "我的订单" in client.get("/market/orders").text
    login("operator")
    sales = client.get("/market/sell").text
    assert f"#{order.id}" in sales and "已挂牌" in sales
    r = client.post(
        f"/market/listings/{listing.id}/delist", data={"reason": "数据更新"}, follow_redirects=True
    )
    assert "已下架" in r.text
    client.cookies.clear()
    assert "暂无挂牌产品" in client.get("/market").text


def test_the_seller_page_shows_the_reasons_in_chinese(
    client, login, session, people, market
) -> None:
    reg = legacy_raw_registration(session, people, market, name="明细包")
    session.flush()
    login("operator")
    page = client.get("/market/sell").text
    assert "不可挂牌" in page and "公民身份号码" in page and "权利人出具的授权交易记录" in page
    assert "原始数据不得挂牌交易" in page
    r = client.post(f"/market/sell/{reg.id}/list")
    assert r.status_code == 409 and "原始数据不得挂牌交易" in r.text


def test_the_administrator_publishes_a_new_fee_schedule(client, login, market) -> None:
    login("admin")
    r = client.post(
        "/market/admin/fee-schedule",
        data={
            "lines": "STAT-01,统计分析类数据产品,次,900\nAPI-01,接口调用,千次,30",
            "basis": "调价通知",
        },
        follow_redirects=True,
    )
    assert "第 2 版（现行）" in r.text and "900.00 元/次" in r.text and "第 1 版" in r.text
    r = client.post("/market/admin/fee-schedule", data={"lines": "坏行", "basis": "x"})
    assert r.status_code == 400 and "第 1 行" in r.text
    r = client.post(
        "/market/admin/prohibited",
        data={"entity_code": "BIOMETRIC", "reason": "生物识别信息禁止交易"},
        follow_redirects=True,
    )
    assert "生物识别信息禁止交易" in r.text


def test_a_dispute_through_the_pages_lowers_the_credit_on_the_listing(
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
    orders.accept_contract(session, order.id, actor=market.buyer, sha256=order.sha256)
    session.flush()
    login("buyer")
    page = client.post(
        f"/market/orders/{order.id}/disputes", data={"claim": "字段缺失"}, follow_redirects=True
    ).text
    assert "字段缺失" in page and "答复期限" in page
    login("operator")
    page = client.get(f"/market/orders/{order.id}").text
    assert 'action="/market/disputes/' in page  # the respondent sees the answer form
    dispute_id = int(page.split('action="/market/disputes/')[1].split("/")[0])
    client.post(f"/market/disputes/{dispute_id}/respond", data={"response": "已补交"})
    login("admin")
    assert "字段缺失" in client.get("/market/admin").text
    client.post(
        f"/market/disputes/{dispute_id}/resolve",
        data={"outcome": "upheld", "resolution": "补交不完整"},
    )
    client.cookies.clear()
    page = client.get(f"/market/listings/{listing.id}").text
    assert 'id="seller-credit">90<' in page and "补交不完整" in page
