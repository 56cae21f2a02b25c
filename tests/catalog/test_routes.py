"""Catalog JSON API with bearer tokens: the same workflow a machine client drives."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gongshu.accounts import service as accounts


@pytest.fixture
def bearer(session, people):  # noqa: ANN001, ANN201
    def token_for(user) -> dict:  # noqa: ANN001
        plaintext, _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=1))
        session.flush()
        return {"Authorization": f"Bearer {plaintext}"}

    return token_for


BODY = {
    "resource_code": "360102-MZ-0201",
    "name": "婚姻登记信息",
    "summary": "结婚、离婚登记",
    "fields": [
        {"name": "男方公民身份号码", "kind": "resident_id", "required": True},
        {"name": "登记日期", "type": "date"},
    ],
    "update_frequency": "每日",
    "security_grade": "一般数据-3级",
    "sharing_attr": "conditional",
    "sharing_conditions": "婚姻状况核查",
    "opening_attr": "none",
    "formats": ["CSV"],
}


def test_create_submit_review_and_read_versions(client, bearer, people) -> None:
    clerk, reviewer = bearer(people.clerk_county), bearer(people.reviewer_county)
    r = client.post("/api/v1/catalog", json=BODY, headers=clerk)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["status"] == "draft" and entry["provider"] == "东湖区民政局"
    eid = entry["id"]
    r = client.patch(
        f"/api/v1/catalog/{eid}", json={"summary": "结婚、离婚、补领登记"}, headers=clerk
    )
    assert r.json()["version_no"] == 2
    assert (
        client.post(f"/api/v1/catalog/{eid}/submit", headers=clerk).json()["status"] == "submitted"
    )
    r = client.post(f"/api/v1/catalog/{eid}/return", json={}, headers=reviewer)
    assert r.status_code == 400 and "审核意见" in r.json()["message"]
    r = client.post(f"/api/v1/catalog/{eid}/approve", json={"comment": "同意"}, headers=reviewer)
    assert r.json()["status"] == "approved" and r.json()["review_region_code"] == "360100"

    versions = client.get(f"/api/v1/catalog/{eid}/versions", headers=clerk).json()
    assert [v["action"] for v in versions] == ["approved", "submitted", "edited", "created"]
    diff = client.get(
        f"/api/v1/catalog/{eid}/diff", params={"old": 1, "new": 2}, headers=clerk
    ).json()
    assert diff["changes"][0]["key"] == "summary"

    found = client.get("/api/v1/catalog", params={"q": "婚姻"}, headers=bearer(people.auditor))
    assert found.json()["total"] == 1
    assert {f["value"] for f in found.json()["facets"]["tier"]} == {"county"}


def test_drafts_of_other_agencies_are_invisible(client, bearer, people) -> None:
    eid = client.post("/api/v1/catalog", json=BODY, headers=bearer(people.clerk_county)).json()[
        "id"
    ]
    r = client.get(f"/api/v1/catalog/{eid}", headers=bearer(people.clerk_prov))
    assert r.status_code == 404 and "目录不存在" in r.json()["message"]
    r = client.patch(
        f"/api/v1/catalog/{eid}", json={"name": "x"}, headers=bearer(people.clerk_prov)
    )
    assert r.status_code == 403


def test_invalid_body_is_named_in_chinese(client, bearer, people) -> None:
    r = client.post("/api/v1/catalog", json={"name": "x"}, headers=bearer(people.clerk_county))
    assert r.status_code == 422 and "resource_code" in r.json()["message"]
    r = client.post(
        "/api/v1/catalog",
        json={**BODY, "sharing_attr": "maybe"},
        headers=bearer(people.clerk_county),
    )
    assert r.status_code == 400 and "共享属性无效" in r.json()["message"]
