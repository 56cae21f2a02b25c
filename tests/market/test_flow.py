"""The whole loop through HTTP, as the issue checks it: a product is registered and
approved, gets its certificate, passes the tradability check and is listed; a product
made from raw rows is refused; a buyer orders, accepts the contract and
receives the data watermarked; tracing the received file names the buyer; a dispute
runs its workflow and lowers the seller's credit when lost."""

from __future__ import annotations

import csv
import io

from gongshu.documents import pdf_text
from gongshu.egress.tracing import trace_leak

from .conftest import product_data  # noqa: TID252


def test_register_list_buy_deliver_trace_dispute(
    client, login, session, settings, market, tmp_path
) -> None:
    # 1. The operator registers; the data authority approves; the certificate names the code.
    login("operator")
    reg_id = client.post("/api/v1/registrations", json=product_data(market)).json()["id"]
    raw = client.post(
        "/api/v1/registrations",
        json=product_data(market, name="低保对象明细数据包", data_entry_id=market.raw.id),
    )
    assert raw.status_code == 400 and "原始数据不得登记" in raw.json()["message"]
    r = client.post("/api/v1/market/listings", json={"registration_id": reg_id})
    assert r.status_code == 409 and "未登记的产品不得挂牌" in r.json()["message"]
    login("reviewer_prov")
    code = client.post(f"/api/v1/registration-review/{reg_id}/approve", json={}).json()["code"]
    client.cookies.clear()
    assert code in pdf_text(client.get(f"/api/v1/registry/{code}/certificate.pdf").content)

    # 2. The check passes and the product is listed; the page shows where it came from.
    login("operator")
    assert client.post(f"/api/v1/market/checks/{reg_id}").json()["passed"] is True
    listing = client.post("/api/v1/market/listings", json={"registration_id": reg_id}).json()
    assert listing["registration_code"] == code and listing["seller_credit"] == 100
    client.cookies.clear()
    assert "东湖区低保保障统计数据产品" in client.get("/market").text
    page = client.get(f"/market/listings/{listing['id']}").text
    assert "沙箱" in page and market.stats.resource_code in page

    # 3. The buyer orders for industry use at the guided fee, accepts, receives the data.
    login("buyer")
    order = client.post(
        "/api/v1/market/orders",
        json={
            "listing_id": listing["id"],
            "use_kind": "industry",
            "purpose": "普惠金融风险评估",
            "scope": "南昌市",
            "term_days": 180,
        },
    ).json()
    assert order["amount_yuan"] == "1200.00"
    assert any("不得转售" in c for c in order["contract"]["clauses"])
    r = client.post(
        f"/api/v1/market/orders/{order['id']}/accept",
        json={"contract_sha256": order["contract_sha256"]},
    )
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    data = client.get(f"/market/orders/{order['id']}/download?format=csv")
    assert data.status_code == 200 and data.headers["x-gongshu-delivery"]
    rows = list(csv.reader(io.StringIO(data.content.decode("utf-8-sig"))))
    assert rows[0] == ["街道", "月份", "保障人数", "发放金额"] and len(rows) == 241

    # 4. A copy of half the file turns up elsewhere; tracing names the buyer.
    leaked = tmp_path / "网上流出的文件.csv"
    leaked.write_text("\n".join(",".join(r) for r in rows[:121]) + "\n", encoding="utf-8")
    verdict = trace_leak(session, leaked, secret=settings.secret_key)
    assert verdict["attributed"] and verdict["recipient_name"] == "郭婷"
    assert f"订单 {order['id']}" in verdict["delivery"]["purpose"]

    # 5. A dispute: raised by the buyer, answered by the seller, upheld: the seller's
    #    credit drops, on the listing too.
    d = client.post(
        f"/api/v1/market/orders/{order['id']}/disputes", json={"claim": "缺少 12 月数据"}
    ).json()
    assert d["status"] == "raised"
    login("operator")
    r = client.post(f"/api/v1/market/disputes/{d['id']}/respond", json={"response": "尚未生成"})
    assert r.json()["status"] == "responded"
    login("admin")
    r = client.post(
        f"/api/v1/market/disputes/{d['id']}/resolve",
        json={"outcome": "upheld", "resolution": "合同约定含全年数据，卖方败诉"},
    )
    assert r.json()["loser"] == f"org:{market.op_org.id}"
    client.cookies.clear()
    assert client.get(f"/api/v1/market/listings/{listing['id']}").json()["seller_credit"] == 90
    record = client.get(f"/api/v1/market/credit/org:{market.op_org.id}").json()
    assert record["score"] == 90 and "卖方败诉" in record["items"][0]["description"]
