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
