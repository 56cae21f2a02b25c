"""核验 offered to agencies: an organization granted the resident register asks
whether a person's name, ID number and mobile match, and learns match or no match."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from gongshu.accounts import service as accounts
from gongshu.egress import service as egress
from gongshu.ledger import entries
from tests.accounts.test_registration import OTHER, REAL, STRANGER, load_register


@pytest.fixture
def register(session, people, tmp_path):  # noqa: ANN001, ANN201
    return load_register(session, people, tmp_path, [STRANGER, REAL])


def bearer(session, user) -> dict:  # noqa: ANN001
    plaintext, _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=1))
    session.flush()
    return {"Authorization": f"Bearer {plaintext}"}


def ask(client, headers, person, **change):  # noqa: ANN001, ANN003, ANN201
    name, number, mobile = person
    body = {"name": name, "id_number": number, "mobile": mobile} | change
    return client.post("/api/v1/identity/verify", json=body, headers=headers)


def test_a_granted_agency_gets_match_or_no_match_only(client, session, people, register) -> None:
    grant = egress.create_grant(
        session,
        register,
        recipient_org_id=people.org["civil"].id,
        purpose="低保申请人身份核验",
        source="sharing",
        actor=people.admin,
    )
    session.flush()
    civil = bearer(session, people.clerk_county)
    r = ask(client, civil, REAL)
    assert r.status_code == 200 and r.json() == {"match": True}
    assert ask(client, civil, REAL, mobile=OTHER[2]).json() == {"match": False}
    assert ask(client, civil, OTHER).json() == {"match": False}  # not in the register
    checks = entries(session, action_prefix="identity.checked")
    assert [c.payload["result"] for c in checks] == ["no_match", "no_match", "match"]
    assert {c.actor for c in checks} == {people.clerk_county.actor}
    assert REAL[1] not in json.dumps([c.payload for c in checks], ensure_ascii=False)

    egress.revoke_grant(session, grant.id, actor=people.admin, reason="用途结束")
    session.flush()
    r = ask(client, civil, REAL)
    assert r.status_code == 403 and "没有「户籍人口基本信息」的有效共享授权" in r.json()["message"]


def test_without_a_grant_or_the_scope_there_is_no_check(client, session, people, register) -> None:
    r = ask(client, bearer(session, people.clerk_county), REAL)
    assert r.status_code == 403 and "有效共享授权" in r.json()["message"]
    for user in (people.citizen, people.auditor, people.reviewer_prov):
        assert ask(client, bearer(session, user), REAL).status_code == 403
    assert entries(session, action_prefix="identity.checked") == []
