"""An auditor reads only the ledger entries of its own engagements; supervisors read
all of it (issue 16 item 5)."""

from __future__ import annotations

from gongshu.accounts import service as accounts
from gongshu.compliance import audits
from gongshu.ledger import record

from ..conftest import PASSWORD  # noqa: TID252


def _engagements(session, people):  # noqa: ANN001, ANN201
    ours = audits.create(
        session,
        actor=people.clerk_prov,
        subject_org_id=people.org["police"].id,
        trigger="self",
        conductor="institution",
        institution_org_id=people.org["audit"].id,
        institution_head="王所长",
        lead_name="李审计",
    )
    other_firm = accounts.add_organization(
        session, "洪都会计师事务所", kind="auditor", region_code="360000"
    )
    theirs = audits.create(
        session,
        actor=people.clerk_county,
        subject_org_id=people.org["civil"].id,
        trigger="self",
        conductor="institution",
        institution_org_id=other_firm.id,
        institution_head="赵所长",
        lead_name="钱审计",
    )
    record(session, "catalog.test_police", actor=people.clerk_prov.actor, subject="entry:901")
    record(session, "catalog.test_civil", actor=people.clerk_county.actor, subject="entry:902")
    session.flush()
    return ours, theirs


def test_auditor_reads_only_its_engagements(client, login, people, session) -> None:  # noqa: ANN001
    ours, theirs = _engagements(session, people)
    login("auditor")
    rows = client.get("/api/v1/ledger/entries", params={"limit": 1000}).json()
    subjects = {r["subject"] for r in rows}
    actions = {r["action"] for r in rows}
    assert f"audit:{ours.id}" in subjects and "catalog.test_police" in actions
    assert f"audit:{theirs.id}" not in subjects and "catalog.test_civil" not in actions
    assert {r["actor"] for r in rows} <= {"user:clerk_prov"}
    # Asking for another engagement's subject by name gives nothing either.
    asked = client.get("/api/v1/ledger/entries", params={"subject": f"audit:{theirs.id}"})
    assert asked.json() == []
    page = client.get("/ledger").text
    assert "catalog.test_police" in page and "catalog.test_civil" not in page
    # Events read with names: the action's label, not its code, and no raw JSON cell.
    assert "目录：其他操作" in page and ">catalog.test_police<" not in page


def test_supervisors_read_the_whole_ledger(client, login, people, session) -> None:  # noqa: ANN001
    ours, theirs = _engagements(session, people)
    accounts.create_user(
        session, "regulator", PASSWORD, org=people.org["prov_auth"], roles=["regulator"]
    )
    for who in ("admin", "regulator"):
        login(who)
        rows = client.get("/api/v1/ledger/entries", params={"limit": 1000}).json()
        subjects = {r["subject"] for r in rows}
        assert {f"audit:{ours.id}", f"audit:{theirs.id}", "entry:902"} <= subjects
