"""Live evidence for the compliance audit: rights requests on time, sensitive grants' basis."""

from __future__ import annotations

import datetime as dt

from gongshu.egress import service as egress
from gongshu.privacy import consent, evidence, service
from gongshu.timeutil import BEIJING
from tests.privacy.conftest import code_for

MARCH = {"start": dt.date(2026, 3, 1), "end": dt.date(2026, 3, 31)}


def at(y, m, d, h=10):  # noqa: ANN001, ANN201
    return dt.datetime(y, m, d, h, tzinfo=BEIJING)


def keys_ok(out: dict) -> None:
    assert set(out) == {"status", "summary", "facts", "records"}
    assert all(set(r) == {"id", "label", "ok", "detail"} for r in out["records"])


def test_no_requests_is_not_applicable(session, people) -> None:
    out = evidence.rights_requests(session, org_id=None, **MARCH)
    keys_ok(out)
    assert out["status"] == "not_applicable" and out["facts"]["received"] == 0


def test_in_time_late_and_per_organization(session, people, citizen, entries, pi) -> None:
    county, police = entries
    kw = {"user": citizen, "id_number": pi.me, "secret": pi.secret, "datasets_dir": pi.datasets_dir}
    a = service.file_request(
        session, kind="copy", now=at(2026, 3, 2), code=code_for(session, citizen), **kw
    )
    m_county, m_police = service.matches(session, a)
    hkw = {"secret": pi.secret, "datasets_dir": pi.datasets_dir}
    service.handle(
        session, m_county.id, actor=people.clerk_county, action="export", now=at(2026, 3, 4), **hkw
    )
    # The police answers on 2026-03-24, a day after the last working day (23 March).
    service.handle(
        session, m_police.id, actor=people.clerk_prov, action="export", now=at(2026, 3, 24), **hkw
    )
    b = service.file_request(
        session, kind="access", now=at(2026, 3, 9), code=code_for(session, citizen), **kw
    )
    for m in service.matches(session, b):
        actor = people.clerk_county if m.entry_id == county.id else people.clerk_prov
        service.handle(session, m.id, actor=actor, action="export", now=at(2026, 3, 10), **hkw)

    whole = evidence.rights_requests(session, org_id=None, **MARCH)
    keys_ok(whole)
    assert whole["status"] == "partially_compliant"
    assert whole["facts"] | {} == whole["facts"] and whole["facts"]["late"] == 1
    assert [r["ok"] for r in whole["records"]] == [False, True]
    assert "超期" in whole["records"][0]["detail"] and "15 个工作日" in whole["summary"]

    mine = evidence.rights_requests(session, org_id=people.org["civil"].id, **MARCH)
    assert mine["status"] == "compliant" and mine["facts"]["answered_in_time"] == 2
    theirs = evidence.rights_requests(session, org_id=people.org["police"].id, **MARCH)
    assert theirs["status"] == "partially_compliant"
    april = evidence.rights_requests(
        session, org_id=None, start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 30)
    )
    assert april["status"] == "not_applicable"


def test_sensitive_grants_need_consent_or_a_basis(session, people, citizen, entries, pi) -> None:
    county, _ = entries
    today = dt.datetime.now(BEIJING).date()
    period = {"start": today, "end": today}
    bare = egress.create_grant(
        session,
        county,
        recipient_org_id=people.org["police"].id,
        purpose="人口核查",
        source="sharing",
        actor=people.admin,
    )
    masked = egress.create_grant(
        session,
        county,
        recipient_user=citizen,
        purpose="开放",
        source="open",
        policy="open",
        actor=people.admin,
        columns=["街道"],
    )
    out = evidence.sensitive_consents(session, org_id=people.org["civil"].id, **period)
    keys_ok(out)
    assert out["status"] == "non_compliant"
    assert [r["id"] for r in out["records"]] == [
        f"grant:{bare.id}"
    ]  # the street alone is not sensitive
    assert "居民身份证号" in out["records"][0]["label"] and masked.id
    consent.give(
        session,
        org=people.org["civil"],
        id_number=pi.me,
        purpose="人口核查",
        method="提供",
        data_kinds=["CN_RESIDENT_ID"],
        on=today,
        secret=pi.secret,
        actor="user:clerk_county",
    )
    out = evidence.sensitive_consents(session, org_id=None, **period)
    assert out["status"] == "compliant" and "单独同意" in out["records"][0]["detail"]
    assert (
        evidence.sensitive_consents(session, org_id=people.org["audit"].id, **period)["status"]
        == "not_applicable"
    )


def test_an_approved_sharing_application_is_a_lawful_basis(session, people, entries) -> None:
    from gongshu.exchange import service as exchange

    county, _ = entries
    app = exchange.apply(
        session,
        county.id,
        actor=people.clerk_prov,
        reason="核查户籍",
        legal_basis="《社会救助暂行办法》第十一条",
        use="低保资格审核",
        scenario="低保申请人户籍核验",
        requested_fields=["姓名", "公民身份号码"],
        term_days=30,
    )
    exchange.approve(session, app.id, actor=people.clerk_county, conditions="仅用于核验")
    today = dt.datetime.now(BEIJING).date()
    out = evidence.sensitive_consents(
        session, org_id=people.org["police"].id, start=today, end=today
    )
    assert out["status"] == "compliant" and out["facts"]["with_basis"] == 1
    assert "社会救助暂行办法" in out["records"][0]["detail"]
