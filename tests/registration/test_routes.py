"""Registration API: apply, review, the public look-up and certificate (REG-1..REG-4)."""

from __future__ import annotations

from gongshu.documents import pdf_text

from .conftest import product_data  # noqa: TID252


def test_apply_review_and_public_lookup(client, login, session, market) -> None:
    login("operator")
    r = client.post("/api/v1/registrations", json=product_data(market))
    assert r.status_code == 201, r.text
    reg_id = r.json()["id"]
    assert r.json()["status"] == "submitted" and r.json()["code"] is None
    r = client.post("/api/v1/registrations", json=product_data(market, acting_for="某委托方"))
    assert r.status_code == 400 and "请勿勾选权利" in r.json()["message"]
    # the operator is a provincial company: a city's or county's reviewer neither sees
    # its registration in the queue nor may decide it (REG-3, jurisdiction)
    for lower in ("reviewer_city", "reviewer_county"):
        login(lower)
        assert client.get("/api/v1/registration-review").json() == []
        r = client.post(f"/api/v1/registration-review/{reg_id}/approve", json={"comment": "同意"})
        assert r.status_code == 403
    login("reviewer_prov")
    gaps = client.get("/api/v1/registration-gaps").json()
    assert {g["kind"] for g in gaps} == {"operated_data", "derived_product"}
    assert [q["id"] for q in client.get("/api/v1/registration-review").json()] == [reg_id]
    r = client.post(f"/api/v1/registration-review/{reg_id}/approve", json={"comment": "同意"})
    assert r.status_code == 200
    code = r.json()["code"]
    client.cookies.clear()
    public = client.get(f"/api/v1/registry/{code}")
    assert public.status_code == 200
    assert public.json()["registrant"] == "江西省公共数据运营有限公司"
    assert public.json()["rights"] == ["processing", "operation"]
    pdf = client.get(f"/api/v1/registry/{code}/certificate.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert code in pdf_text(pdf.content)
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    r = client.get(f"/api/v1/registry/{wrong}")
    assert r.status_code == 400 and "校验位" in r.json()["message"]


def test_changes_are_versioned_and_only_the_registrant_sees_them(
    client, login, approved_product
) -> None:
    login("operator")
    r = client.patch(
        f"/api/v1/registrations/{approved_product.id}", json={"description": "按季度更新"}
    )
    assert r.status_code == 200 and r.json()["status"] == "submitted"
    versions = client.get(f"/api/v1/registrations/{approved_product.id}/versions").json()
    assert versions[0]["action"] == "changed"
    assert {c["field"] for c in versions[0]["changes"]} == {"description", "status"}
    login("buyer")
    r = client.get(f"/api/v1/registrations/{approved_product.id}")
    assert r.status_code == 403
