"""The open-data JSON API: search, declare, apply, answer, sign."""

from __future__ import annotations


def test_public_search_api(client, open_data) -> None:
    r = client.get("/api/v1/open/entries", params={"opening_attr": "conditional"})
    body = r.json()
    assert r.status_code == 200 and body["total"] == 1
    assert body["entries"][0]["resource_code"] == "360102-JT-0002"
    assert ["交通", "交通", 1] in body["facets"]["theme"]


def test_the_whole_conditional_flow_over_the_api(client, open_data, people, api_token) -> None:
    user = {"Authorization": f"Bearer {api_token(open_data.enterprise)}"}
    provider = {"Authorization": f"Bearer {api_token(people.clerk_county)}"}
    r = client.post(
        f"/api/v1/open/entries/{open_data.cond.id}/applications",
        json={"use": "u", "scenario": "s", "security_measures": "m", "term_days": 10},
        headers=user,
    )
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = client.post(
        f"/api/v1/open/applications/{app_id}/answer", json={"approve": True}, headers=user
    )
    assert r.status_code == 403  # an enterprise cannot answer
    r = client.post(
        f"/api/v1/open/applications/{app_id}/answer", json={"approve": True}, headers=provider
    )
    agreement_id = r.json()["agreement_id"]
    r = client.post(f"/api/v1/open/agreements/{agreement_id}/sign", headers=user)
    assert r.status_code == 200 and r.json()["grant_id"]
    data = client.get(f"/api/v1/grants/{r.json()['grant_id']}/data?limit=3", headers=user)
    assert data.status_code == 200 and len(data.json()["rows"]) == 3
    r = client.post(
        f"/api/v1/open/entries/{open_data.free.id}/declarations",
        json={"use": "u", "scenario": "s"},
        headers=user,
    )
    assert r.status_code == 201 and r.json()["grant_id"]


def test_referral_decision_and_breach_over_pages_and_api(
    client, login, session, open_data, people, api_token
) -> None:
    user = {"Authorization": f"Bearer {api_token(open_data.enterprise)}"}
    provider = {"Authorization": f"Bearer {api_token(people.clerk_county)}"}
    authority = {"Authorization": f"Bearer {api_token(people.reviewer_county)}"}
    r = client.post(
        f"/api/v1/open/entries/{open_data.cond.id}/applications",
        json={"use": "u", "scenario": "s", "security_measures": "m", "term_days": 10},
        headers=user,
    )
    app_id = r.json()["id"]
    assert r.json()["deadline"] and r.json()["status"] == "pending"
    # OPN-3 as SHR-4: the provider refers from its inbox; the authority decides
    login("clerk_county")
    assert "答复期限" in client.get("/open/inbox").text
    r = client.post(
        f"/open/applications/{app_id}/refer",
        data={"note": "不确定能否开放"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    login("reviewer_county")
    page = client.get("/open/referred").text
    assert "不确定能否开放" in page and f"/open/applications/{app_id}/decide" in page
    r = client.post(
        f"/open/applications/{app_id}/decide", data={"decision": "approve"}, follow_redirects=False
    )
    assert r.status_code == 303
    client.cookies.clear()
    r = client.get(f"/api/v1/open/agreements/{_agreement_id(session, app_id)}", headers=user)
    agreement_id = r.json()["id"]
    client.post(f"/api/v1/open/agreements/{agreement_id}/sign", headers=user)
    # OPN-5: only the data authority decides; the party sees the decision
    breach = {"finding": "超范围使用", "correction_order": "停止使用", "correction_workdays": 5}
    r = client.post(
        f"/api/v1/open/agreements/{agreement_id}/breaches", json=breach, headers=provider
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/open/agreements/{agreement_id}/breaches", json=breach, headers=authority
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/open/breaches/{r.json()['id']}/fine",
        json={"amount_yuan": 200_000, "reason": "serious", "note": "后果严重"},
        headers=authority,
    )
    assert r.status_code == 400 and "一万元以上十万元以下" in r.json()["message"]
    seen = client.get(f"/api/v1/open/agreements/{agreement_id}", headers=user).json()
    (b,) = seen["breaches"]
    assert b["correction_workdays"] == 5 and b["deadline"] and "十万元" in b["penalty_clause"]


def _agreement_id(session, app_id: int) -> int:  # noqa: ANN001
    from gongshu.opendata import agreements

    return agreements.agreement_for(session, app_id).id
