"""The operation API end to end: authorize (with the report upload), run, refuse, product,
delivery through the egress door with the operator's watermark, disclosure (OPR-6, OPR-9)."""

from __future__ import annotations

import json

from gongshu.operation import procurement


def test_flow_authorize_run_refuse_product_deliver_disclose(
    client, login, session, people, op, open_entry
):  # noqa: ANN001
    login("reviewer_prov")
    r = client.post(
        "/api/v1/operation/agreements",
        data={
            "operator_org_id": op.org_id,
            "title": "低保收入统计授权运营",
            "entries": json.dumps([{"entry_id": open_entry.id, "policy": "share-conditional"}]),
            "term_days": 365,
            "revenue_method": "成本加合理利润",
            "security_requirements": "沙箱内处理",
            "disposal": "到期删除中间结果",
        },
        files={"risk_report": ("评估报告.pdf", b"%PDF-1.4 report", "application/pdf")},
    )
    assert r.status_code == 201, r.text
    agreement = r.json()
    assert len(agreement["risk_report_sha256"]) == 64
    login("operator")
    base = f"/api/v1/operation/agreements/{agreement['id']}/runs"
    refused = client.post(base, json={"sql": f"SELECT 公民身份号码 FROM entry_{open_entry.id}"})
    assert refused.status_code == 409
    assert "结果包含未脱敏的身份证号码" in refused.json()["message"]
    sql = (
        f"SELECT 街道, count(*) AS 人数, sum(月收入) AS 总收入 FROM entry_{open_entry.id} "
        "GROUP BY 1"
    )
    run = client.post(base, json={"sql": sql})
    assert run.status_code == 201, run.text
    assert run.json()["status"] == "passed" and run.json()["smallest_group"] == 20
    product = client.post(
        f"/api/v1/operation/runs/{run.json()['id']}/product",
        json={"name": "街道低保收入统计", "summary": "按街道汇总人数与收入"},
    )
    assert product.status_code == 201, product.text
    assert product.json()["scope"] == "product"
    data = client.get(f"/api/v1/grants/{product.json()['grant_id']}/data?format=csv")
    assert data.status_code == 200 and data.headers["x-gongshu-delivery"]
    assert "八一街道" in data.text and "公民身份号码" not in data.text
    # The product is not in the public catalog or the open portal.
    assert product.json()["resource_code"] not in client.get("/api/v1/catalog").text
    # OPR-9: the authority sees the day's runs and the refusal.
    login("reviewer_prov")
    act = client.get(f"/api/v1/operation/operators/{op.org_id}/activity?days=1").json()
    assert act["days"][-1]["passed"] == 1 and act["days"][-1]["refused"] == 1
    assert act["days"][-1]["deliveries"] == 1 and act["refusals_by_rule"] == {"identifier": 1}
    page = client.get(f"/operation/operators/{op.org_id}/activity")
    assert "结果包含未脱敏的身份证号码" in page.text
    # OPR-6: the public disclosure lists the entry, the product and the delivery.
    client.cookies.clear()
    d = client.get(f"/api/v1/operation/operators/{op.org_id}/disclosure").json()
    assert d["entries"] == [{"entry": open_entry.id, "name": "低保对象收入", "runs": 1}]
    assert d["products"][0]["deliveries"] == 1
    assert d["deliveries_by_recipient_kind"] == {"授权运营机构": 1}
    html = client.get(f"/disclosure/{op.org_id}")
    assert html.status_code == 200 and "街道低保收入统计" in html.text
    pdf = client.get(f"/disclosure/{op.org_id}/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    from gongshu.documents import pdf_text

    assert "街道低保收入统计" in pdf_text(pdf.content)


def test_operator_cannot_authorize_and_clerk_cannot_run(client, login, op, open_entry):  # noqa: ANN001
    login("operator")
    r = client.post("/api/v1/operation/agreements", data={}, files={"risk_report": ("r", b"x")})
    assert r.status_code == 403
    login("clerk_prov")
    assert (
        client.post("/api/v1/operation/agreements/1/runs", json={"sql": "SELECT 1"}).status_code
        == 403
    )


def test_procurement_request_and_review(client, login, session, people):  # noqa: ANN001
    login("clerk_prov")
    r = client.post(
        "/api/v1/procurement/requests",
        json={
            "data_wanted": "城市停车场实时泊位数据",
            "purpose": "交通拥堵治理",
            "legal_basis": "《江西省数据条例》第十九条",
        },
    )
    assert r.status_code == 201 and r.json()["status"] == "submitted"
    login("reviewer_prov")
    bad = client.post(
        f"/api/v1/procurement/requests/{r.json()['id']}/review",
        json={"approve": True, "reason": " "},
    )
    assert bad.status_code == 400
    ok = client.post(
        f"/api/v1/procurement/requests/{r.json()['id']}/review",
        json={"approve": False, "reason": "可通过共享获取，无需采购"},
    )
    assert ok.json()["status"] == "refused"
    assert "可通过共享获取" in client.get("/procurement/queue").text
    assert procurement.get(session, r.json()["id"]).reviewed_by == "user:reviewer_prov"
