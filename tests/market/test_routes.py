"""Market API: permissions by role, OPR-7 pricing through the API, the fee schedule."""

from __future__ import annotations

from gongshu.market import service as market_service


def test_public_listing_and_fee_schedule_need_no_login(
    client, session, market, approved_product
) -> None:
    market_service.list_product(session, approved_product.id, actor=market.operator)
    session.flush()
    client.cookies.clear()
    listings = client.get("/api/v1/market/listings").json()
    assert [x["title"] for x in listings] == ["东湖区低保保障统计数据产品"]
    assert listings[0]["operation_product"] is True and listings[0]["seller_credit"] == 100
    schedule = client.get("/api/v1/market/fee-schedule").json()
    assert schedule[0]["items"]["STAT-01"]["price_yuan"] == "1200.00"


def test_only_sellers_list_and_only_admins_set_fees(
    client, login, market, approved_product
) -> None:
    login("citizen")
    r = client.post("/api/v1/market/listings", json={"registration_id": approved_product.id})
    assert r.status_code == 403 and r.json()["detail"] == {"scope": "market:sell"}
    login("buyer")
    r = client.put(
        "/api/v1/market/fee-schedule",
        json={"items": {"X": {"name": "x", "price_yuan": "1"}}, "basis": "b"},
    )
    assert r.status_code == 403
    # An enterprise may sell, but not someone else's registration (REG-4).
    r = client.post("/api/v1/market/listings", json={"registration_id": approved_product.id})
    assert r.status_code == 409 and "登记主体" in r.json()["message"]
    login("admin")
    r = client.put(
        "/api/v1/market/fee-schedule",
        json={"items": {"STAT-01": {"name": "统计", "price_yuan": "800"}}, "basis": "调价"},
    )
    assert r.status_code == 201 and r.json()["version_no"] == 2


def test_welfare_orders_through_the_api_are_free(
    client, login, session, market, approved_product, welfare_approved
) -> None:
    listing = market_service.list_product(session, approved_product.id, actor=market.operator)
    session.flush()
    login("buyer")
    order = client.post(
        "/api/v1/market/orders",
        json={
            "listing_id": listing.id,
            "use_kind": "welfare",
            "purpose": "社区救助",
            "scope": "东湖区",
            "term_days": 30,
        },
    ).json()
    assert order["amount_yuan"] == "0.00" and "有条件免费使用" in order["pricing_basis"]
    assert [o["id"] for o in client.get("/api/v1/market/orders").json()] == [order["id"]]
    r = client.get(f"/api/v1/market/orders/{order['id']}/data")
    assert r.status_code == 409 and "请先确认合同" in r.json()["message"]
    login("operator")
    assert [o["id"] for o in client.get("/api/v1/market/sales").json()] == [order["id"]]
