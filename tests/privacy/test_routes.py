"""The JSON API: organizations' systems record and query consent; the end-to-end
deletion (issue 7's check): a person files, the provider executes, the rows leave no
later delivery (old grants included), others' rows remain, the request closes on time
and the audit evidence shows it."""

from __future__ import annotations

import datetime as dt
import re
from datetime import timedelta

import pytest

from gongshu.accounts import service as accounts
from gongshu.accounts.notify import outbox
from gongshu.documents import pdf_text
from gongshu.egress import service as egress
from gongshu.privacy import evidence
from gongshu.storage import versions_of
from gongshu.timeutil import BEIJING


@pytest.fixture
def bearer(session):  # noqa: ANN001, ANN201
    def token(user) -> dict:  # noqa: ANN001
        plaintext, _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=1))
        session.flush()
        return {"Authorization": f"Bearer {plaintext}"}

    return token


def rows_of(client, grant_id: int, headers: dict) -> list[dict]:  # noqa: ANN001
    r = client.get(f"/api/v1/grants/{grant_id}/data?format=json&limit=1000", headers=headers)
    assert r.status_code == 200, r.text
    doc = r.json()
    return [dict(zip(doc["columns"], row, strict=True)) for row in doc["rows"]]


def test_an_organizations_system_records_and_queries_its_own_consents(
    client, people, bearer, pi
) -> None:
    civil, police = bearer(people.clerk_county), bearer(people.clerk_prov)
    body = {
        "id_number": pi.me,
        "purpose": "办理最低生活保障",
        "method": "收集、存储",
        "data_kinds": ["PERSON_NAME", "ADDRESS"],
        "on": "2026-03-02",
    }
    r = client.post("/api/v1/consents", json=body, headers=civil)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json()["retain_until"] == "2031-03-02" and "id_number" not in r.json()
    sep = client.post(
        "/api/v1/consents", json={**body, "data_kinds": ["ADDRESS", "MEDICAL"]}, headers=civil
    )
    assert sep.status_code == 400 and "单独同意" in sep.json()["message"]

    ask = {k: body[k] for k in ("id_number", "purpose", "method", "data_kinds")} | {
        "on": "2026-03-03"
    }
    assert client.post("/api/v1/consents/check", json=ask, headers=civil).json()["valid"] is True
    other = client.post("/api/v1/consents/check", json=ask, headers=police).json()
    assert other["valid"] is False and "无同意记录" in other["reasons"][0]
    changed = client.post(
        "/api/v1/consents/check", json={**ask, "purpose": "人口统计"}, headers=civil
    ).json()
    assert changed["valid"] is False and "重新取得同意" in changed["reasons"][0]

    assert (
        client.post(
            f"/api/v1/consents/{cid}/withdraw", json={"on": "2026-03-05"}, headers=police
        ).status_code
        == 404
    )
    w = client.post(f"/api/v1/consents/{cid}/withdraw", json={"on": "2026-03-05"}, headers=civil)
    assert w.status_code == 201 and w.json()["deletion_due"] == "2026-03-20"
    assert [c["action"] for c in client.get("/api/v1/consents", headers=civil).json()] == [
        "withdraw",
        "grant",
    ]
    assert client.get("/api/v1/consents", headers=police).json() == []
    found = client.post("/api/v1/consents/lookup", json={"id_number": pi.me}, headers=civil).json()
    assert len(found) == 2


def test_end_to_end_deletion_through_the_api(
    client, session, people, citizen, entries, bearer, pi
) -> None:
    county, police = entries
    police_org = people.org["police"].id
    v1 = versions_of(session, county.id)[0]
    pinned = egress.create_grant(
        session,
        county,
        recipient_org_id=police_org,
        purpose="核查",
        source="sharing",
        actor=people.admin,
        dataset_version_id=v1.id,
    )
    latest = egress.create_grant(
        session,
        county,
        recipient_org_id=police_org,
        purpose="核查",
        source="sharing",
        actor=people.admin,
    )
    session.flush()
    reader = bearer(people.clerk_prov)
    assert pi.me in {r["公民身份号码"] for r in rows_of(client, pinned.id, reader)}

    me = bearer(citizen)
    # The code goes to the mobile the register holds, shown only masked.
    r = client.post("/api/v1/privacy/requests/code", json={"id_number": pi.me}, headers=me)
    assert r.status_code == 201, r.text
    assert r.json() == {"sent_to": pi.my_mobile[:3] + "****" + pi.my_mobile[-4:]}
    sms = outbox(session, limit=1)[0]
    assert sms.recipient == pi.my_mobile
    code = re.search(r"\d{6}", sms.text).group(0)
    r = client.post(
        "/api/v1/privacy/requests",
        json={"kind": "delete", "id_number": pi.me, "code": code},
        headers=me,
    )
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["deadline"] is not None and req["status"] == "open"
    by_entry = {m["entry_id"]: m for m in req["matches"]}
    assert set(by_entry) == {county.id, police.id}
    # Another person cannot see it; the provider sees only its own inbox.
    assert (
        client.get(
            f"/api/v1/privacy/requests/{req['id']}", headers=bearer(people.auditor)
        ).status_code
        == 404
    )
    inbox = client.get("/api/v1/privacy/inbox", headers=bearer(people.clerk_county)).json()
    assert [m["entry_id"] for m in inbox] == [county.id]

    civil = bearer(people.clerk_county)
    done = client.post(
        f"/api/v1/privacy/matches/{by_entry[county.id]['id']}/handle",
        json={"action": "delete"},
        headers=civil,
    )
    assert done.status_code == 200, done.text
    assert done.json()["new_version_id"] and done.json()["outcome"] == "deleted"
    done = client.post(
        f"/api/v1/privacy/matches/{by_entry[police.id]['id']}/handle",
        json={"action": "delete"},
        headers=reader,
    )
    assert done.status_code == 200, done.text

    for grant in (pinned, latest):
        rows = rows_of(client, grant.id, reader)
        ids = {r["公民身份号码"] for r in rows}
        assert pi.me not in ids and ids == set(pi.ids) - {pi.me}, grant.id
    # The police's own entry lost the row too, seen through a fresh grant.
    fresh = egress.create_grant(
        session,
        police,
        recipient_org_id=people.org["civil"].id,
        purpose="核查",
        source="sharing",
        actor=people.admin,
    )
    session.flush()
    assert pi.me not in {r["公民身份号码"] for r in rows_of(client, fresh.id, civil)}
    assert len(rows_of(client, fresh.id, civil)) == 9

    final = client.get(f"/api/v1/privacy/requests/{req['id']}", headers=me).json()
    assert final["status"] == "answered"
    assert dt.datetime.fromisoformat(final["answered_at"]) <= dt.datetime.fromisoformat(
        final["deadline"]
    )
    letter = client.get(f"/api/v1/privacy/requests/{req['id']}/letter.pdf", headers=me)
    assert letter.headers["content-type"] == "application/pdf"
    text = pdf_text(letter.content)
    assert "答复函" in text and "已删除" in text and "低保对象名单" in text

    today = dt.datetime.now(BEIJING).date()
    audit = evidence.rights_requests(session, org_id=None, start=today, end=today)
    assert audit["status"] == "compliant" and audit["facts"]["answered_in_time"] == 1
    assert audit["records"][0]["id"] == f"rights:{req['id']}" and audit["records"][0]["ok"]

    # Issue 7's check, last step: the civil bureau's compliance audit shows the request
    # on the rights-request point (PIA-A 18) as live evidence from the platform's records.
    from gongshu.compliance import audits

    engagement = audits.create(
        session,
        actor=people.clerk_county,
        subject_org_id=people.org["civil"].id,
        trigger="self",
        conductor="internal",
        lead_name="内审负责人",
    )
    (point18,) = audits.live_evidence(session, engagement, 18)
    assert point18["available"] and point18["status"] == "compliant"
    assert [r["id"] for r in point18["records"]] == [f"rights:{req['id']}"]
    assert point18["records"][0]["ok"]


def test_a_request_needs_the_verified_id_number(
    client, people, citizen, entries, bearer, pi
) -> None:
    r = client.post(
        "/api/v1/privacy/requests",
        json={"kind": "access", "id_number": pi.ids[0], "code": "000000"},
        headers=bearer(citizen),
    )
    assert r.status_code == 403 and "不一致" in r.json()["message"]
    r = client.post(
        "/api/v1/privacy/requests",
        json={"kind": "sell", "id_number": pi.me, "code": "000000"},
        headers=bearer(citizen),
    )
    assert r.status_code == 400 and "请求类型" in r.json()["message"]
