"""Compliance audits: framework, clocks, AUD-5 limit, points, rectification, signed report."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from gongshu.compliance import audits, framework, rectification, signing
from gongshu.compliance.errors import AuditSigned, InstitutionLimit
from gongshu.documents import pdf_text, render_pdf
from gongshu.errors import InvalidInput
from gongshu.timeutil import BEIJING


def bj(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BEIJING)


def KEYS():  # noqa: ANN201, N802
    """The test key store (tests/conftest.py unlocks it for any directory)."""
    from pathlib import Path

    from gongshu import storage

    return storage.keystore(Path("unused"))


def assess_all(session, audit, actor, result: str = "compliant", skip=()) -> None:  # noqa: ANN001
    for p in framework.assessable():
        if p not in skip:
            reason = "本单位不涉及" if result == "not_applicable" else ""
            audits.assess(session, audit.id, p, actor=actor, result=result, findings=reason)


def signers(session, people):  # noqa: ANN001, ANN201
    """The institution's audit lead and head, as accounts of the institution."""
    from gongshu.accounts import service as accounts
    from tests.conftest import PASSWORD

    org = people.org["audit"]
    lead = accounts.create_user(session, "li", PASSWORD, org=org, roles=["auditor"],
                                display_name="李审计")  # fmt: skip
    head = accounts.create_user(session, "wang", PASSWORD, org=org, roles=["auditor"],
                                display_name="王所长")  # fmt: skip
    return lead, head


def test_framework_holds_the_31_points_of_the_seed(shared_dir) -> None:  # noqa: ANN001
    """AUD-6: every point's text is the seed's article, with a URN and typical evidence."""
    seed = (shared_dir / "seeds" / "001_bd8dcd8d327f1baa.txt").read_text(encoding="utf-8")
    nodes = framework.nodes()
    assert len(nodes) == 31
    assert nodes[17]["urn"] == "urn:gongshu:risk:req_node:pia-a:18"
    for node in nodes:
        assert node["description"] in seed
        assert node["typical_evidence"]
    assert nodes[26]["description"].startswith("第二十七条")
    assert "72小时" in nodes[26]["description"]
    assert framework.assessable() == list(range(2, 32))


def ordered(session, people, notified):  # noqa: ANN001, ANN201
    return audits.create(
        session,
        actor=people.clerk_prov,
        subject_org_id=people.org["police"].id,
        trigger="ordered",
        conductor="institution",
        institution_org_id=people.org["audit"].id,
        institution_head="王所长",
        lead_name="李审计",
        notified_at=notified,
    )


def test_ordered_audit_has_90_working_days_across_the_spring_festival(session, people) -> None:  # noqa: ANN001
    """AUD-2: notice on Monday 5 January 2026; 90 working days (the Spring Festival, the
    swapped Saturdays 14 and 28 February, Qingming and Labour Day counted by the schedule)
    end at 24:00 on Wednesday 20 May 2026."""
    audit = ordered(session, people, bj(2026, 1, 5, 9, 0))
    assert audit.due_at.astimezone(BEIJING) == bj(2026, 5, 21, 0, 0)
    assert audit.due_warning is None


def test_ordered_audit_reaching_2027_has_no_deadline(session, people) -> None:  # noqa: ANN001
    """AUD-2 + CLK-4: from 1 September 2026 the 90th working day lies in 2027."""
    audit = ordered(session, people, bj(2026, 9, 1, 9, 0))
    assert audit.due_at is None
    assert "2027 年节假日安排尚未录入" in audit.due_warning


def test_ordered_audits_need_an_institution(session, people) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput, match="专业机构"):
        audits.create(
            session,
            actor=people.clerk_prov,
            subject_org_id=people.org["police"].id,
            trigger="ordered",
            conductor="internal",
            lead_name="李审计",
            notified_at=bj(2026, 1, 5, 9, 0),
        )


def test_fourth_audit_in_a_row_by_one_institution_is_refused(session, people) -> None:  # noqa: ANN001
    """AUD-5: at most three times in a row; only a signed internal audit that assessed
    something in between ends the run (an empty one opened to reset it does not)."""
    for year in (2023, 2024, 2025):
        audits.create(
            session,
            actor=people.clerk_prov,
            subject_org_id=people.org["police"].id,
            trigger="self",
            conductor="institution",
            institution_org_id=people.org["audit"].id,
            institution_head="王所长",
            lead_name="李审计",
            started_at=bj(year, 3, 1, 9, 0),
        )
    with pytest.raises(InstitutionLimit, match="不得超过三次") as exc:
        ordered(session, people, bj(2026, 1, 5, 9, 0))
    assert exc.value.detail["in_a_row"] == 3
    internal = audits.create(
        session,
        actor=people.clerk_prov,
        subject_org_id=people.org["police"].id,
        trigger="self",
        conductor="internal",
        lead_name="clerk_prov",
        started_at=bj(2026, 1, 2, 9, 0),
    )
    with pytest.raises(InstitutionLimit):  # opened, empty: the run goes on
        ordered(session, people, bj(2026, 1, 5, 9, 0))
    assess_all(session, internal, people.clerk_prov)
    signing.sign_report(session, internal.id, actor=people.clerk_prov, role="lead", keys=KEYS())
    assert internal.signed_at is not None
    assert ordered(session, people, bj(2026, 1, 5, 9, 0)).id


def test_points_evidence_rectification_and_signed_report(session, people) -> None:  # noqa: ANN001
    audit = ordered(session, people, bj(2026, 1, 5, 9, 0))
    auditor = people.auditor
    audits.add_evidence(
        session,
        audit.id,
        3,
        actor=auditor,
        filename="隐私政策.pdf",
        media_type="application/pdf",
        content=b"%PDF-1.4 policy",
    )
    row = audits.assess(session, audit.id, 25, actor=auditor, result="compliant")
    # The provider agencies of the test people hold an assessment (tests/conftest.py).
    assert row.live["sources"][0]["status"] == "compliant"
    with pytest.raises(InvalidInput, match="发现的问题"):
        audits.assess(session, audit.id, 18, actor=auditor, result="non_compliant")
    audits.assess(
        session, audit.id, 18, actor=auditor, result="partially_compliant", findings="答复超期"
    )
    fix = rectification.add_rectification(
        session,
        audit.id,
        18,
        actor=auditor,
        text="建立权利请求台账",
        owner="张科长",
        due_on=dt.date(2026, 6, 30),
    )
    with pytest.raises(InvalidInput, match="尚未报告整改完成"):
        rectification.review_rectification(session, fix.id, actor=auditor, ok=True)
    rectification.complete_rectification(
        session, fix.id, actor=people.clerk_prov, note="台账已上线"
    )
    rectification.review_rectification(session, fix.id, actor=auditor, ok=True, note="复核通过")
    lead, head = signers(session, people)
    with pytest.raises(InvalidInput, match="未评价"):
        signing.sign_report(session, audit.id, actor=lead, role="lead", keys=KEYS())
    assess_all(session, audit, auditor, "not_applicable", skip=(18, 25))
    from gongshu.compliance.errors import NotYourOrganization

    with pytest.raises(NotYourOrganization, match="王所长"):
        signing.sign_report(session, audit.id, actor=lead, role="head", keys=KEYS())
    signing.sign_report(session, audit.id, actor=lead, role="lead", keys=KEYS())
    with pytest.raises(AuditSigned):  # the first signature fixes the content
        audits.assess(session, audit.id, 25, actor=auditor, result="non_compliant", findings="x")
    signing.sign_report(session, audit.id, actor=head, role="head", keys=KEYS())
    with pytest.raises(AuditSigned):
        audits.assess(session, audit.id, 25, actor=auditor, result="non_compliant", findings="x")
    from gongshu.compliance import reports

    text = pdf_text(render_pdf(reports.audit_report(session, audit)))
    assert "合规审计负责人：李审计" in text and "专业机构负责人：王所长" in text
    assert "答复超期" in text and "建立权利请求台账" in text and "已复核通过" in text
    assert re.search(r"部分符合\s*1\s*条", text)


def test_next_audit_due_by_aud1(session, people) -> None:  # noqa: ANN001
    org = people.org["police"].id
    due, rule = audits.next_due(session, org, 2_000_000)
    assert due is None and "尚无已签署" in rule
    audit = audits.create(
        session,
        actor=people.clerk_prov,
        subject_org_id=org,
        trigger="self",
        conductor="internal",
        lead_name="内审处",
    )
    audit.signed_at = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
    session.flush()
    assert audits.next_due(session, org, 2_000_000)[0] == dt.date(2027, 3, 10)  # yearly
    assert audits.next_due(session, org, 1_000_000)[0] == dt.date(2028, 3, 10)  # two years
