"""Audits to the letter: "not applicable" needs a reason, an empty audit is neither
signed nor counted, the report is signed with each signer's SM2 key over its SM3 and
its submission recorded, and a regulator orders audits in the platform (AUD-2..AUD-6,
SEC-9)."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import update

from gongshu.accounts import service as accounts
from gongshu.accounts.errors import OutsideJurisdiction
from gongshu.compliance import audits, signing
from gongshu.compliance.errors import NotYourOrganization
from gongshu.compliance.models import AuditPointResult
from gongshu.errors import InvalidInput
from gongshu.ledger.models import LedgerEntry
from gongshu.protect import sm2
from tests.compliance.test_audits import KEYS, assess_all, signers
from tests.conftest import PASSWORD


def _engagement(session, people):  # noqa: ANN001, ANN202
    return audits.create(
        session,
        actor=people.clerk_prov,
        subject_org_id=people.org["police"].id,
        trigger="self",
        conductor="institution",
        institution_org_id=people.org["audit"].id,
        institution_head="王所长",
        lead_name="李审计",
    )


def _regulator(session, people, region: str = "360000"):  # noqa: ANN001, ANN202
    org = accounts.add_organization(
        session, f"网信办{region}", kind="regulator", region_code=region
    )
    return accounts.create_user(
        session, f"reg{region}", PASSWORD, org=org, roles=["regulator"], display_name="监管员"
    )


def test_not_applicable_needs_a_reason(session, people) -> None:  # noqa: ANN001
    audit = _engagement(session, people)
    with pytest.raises(InvalidInput, match="第 5 条结论为“不适用”时，须在“发现的问题”一栏写明"):
        audits.assess(session, audit.id, 5, actor=people.auditor, result="not_applicable")
    row = audits.assess(
        session, audit.id, 5, actor=people.auditor, result="not_applicable", findings="不委托处理"
    )
    assert row.findings == "不委托处理"


def test_not_applicable_without_reason_api_422_and_form_error(
    client, login, people, session
) -> None:  # noqa: ANN001, E501
    audit = _engagement(session, people)
    login("auditor")
    r = client.post(
        f"/api/v1/compliance/audits/{audit.id}/points/5", json={"result": "not_applicable"}
    )
    assert r.status_code == 422 and "不适用的理由" in r.json()["message"]
    r = client.post(
        f"/compliance/audits/{audit.id}/points/5", data={"result": "not_applicable", "findings": ""}
    )
    assert r.status_code == 400
    assert 'id="error-5"' in r.text and "写明不适用的理由" in r.text
    assert 'aria-describedby="error-5"' in r.text


def test_exploit_an_audit_with_every_point_not_applicable_cannot_be_signed(session, people) -> None:  # noqa: ANN001, E501
    """The audit's exploit: a report was signed with every point "not applicable"."""
    audit = _engagement(session, people)
    lead, _head = signers(session, people)
    assess_all(session, audit, people.auditor, "not_applicable")
    with pytest.raises(InvalidInput, match="全部参考要点均为“不适用”"):
        signing.sign_report(session, audit.id, actor=lead, role="lead", keys=KEYS())
    assert audit.signed_at is None and audit.report_sm3 is None
    # ... and so it does not end another institution's run of audits (AUD-5).
    assert not audits.substantive(session, audit)


def test_report_signed_by_each_signer_verified_and_submitted(session, people) -> None:  # noqa: ANN001
    audit = _engagement(session, people)
    lead, head = signers(session, people)
    assess_all(session, audit, people.auditor)
    with pytest.raises(NotYourOrganization, match="李审计"):  # an auditor not named lead
        signing.sign_report(session, audit.id, actor=people.auditor, role="lead", keys=KEYS())
    first = signing.sign_report(session, audit.id, actor=lead, role="lead", keys=KEYS())
    digest = signing.report_digest(session, audit)
    assert first.report_sm3 == audit.report_sm3 == digest.hex()
    key = signing.signer_key(session, lead, KEYS())
    assert sm2.verify(bytes.fromhex(key.public_key), digest, base64.b64decode(first.signature))
    assert "sealed_private" not in key.public_key and len(base64.b64decode(key.sealed_private)) > 32
    with pytest.raises(InvalidInput, match="尚未签署完毕"):
        signing.submit(session, audit.id, actor=people.clerk_prov)
    signing.sign_report(session, audit.id, actor=head, role="head", keys=KEYS())
    assert audit.signed_at is not None and (audit.signed_lead, audit.signed_head) == (
        "李审计",
        "王所长",
    )
    assert [ok for _r, ok, _w in signing.verify(session, audit.id)] == [True, True]
    signing.submit(session, audit.id, actor=people.clerk_prov)
    entry = session.query(LedgerEntry).filter_by(action="audit.submitted").one()
    assert entry.payload["report_sm3"] == digest.hex()
    assert [s["role"] for s in entry.payload["signatures"]] == ["lead", "head"]
    signed = session.query(LedgerEntry).filter_by(action="audit.report_signed").count()
    assert signed == 2


def test_a_changed_finding_after_signing_fails_verification(session, people) -> None:  # noqa: ANN001
    audit = _engagement(session, people)
    lead, head = signers(session, people)
    assess_all(session, audit, people.auditor)
    signing.sign_report(session, audit.id, actor=lead, role="lead", keys=KEYS())
    signing.sign_report(session, audit.id, actor=head, role="head", keys=KEYS())
    session.execute(
        update(AuditPointResult)
        .where(AuditPointResult.audit_id == audit.id, AuditPointResult.point == 7)
        .values(result="non_compliant", findings="改写")
    )
    session.expire_all()
    checks = signing.verify(session, audit.id)
    assert not any(ok for _r, ok, _w in checks)
    assert "签署后报告内容已被改动" in checks[0][2]
    with pytest.raises(InvalidInput, match="签名校验未通过"):
        signing.submit(session, audit.id, actor=people.clerk_prov)


def test_signing_and_submitting_on_the_pages(client, login, people, session) -> None:  # noqa: ANN001
    audit = _engagement(session, people)
    signers(session, people)
    assess_all(session, audit, people.auditor)
    login("li")
    page = client.get(f"/compliance/audits/{audit.id}")
    assert "以合规审计负责人身份签署报告" in page.text and "以专业机构负责人身份" not in page.text
    r = client.post(
        f"/compliance/audits/{audit.id}/sign", data={"role": "lead"}, follow_redirects=True
    )
    assert "已用您的 SM2 密钥签署审计报告" in r.text and "有效" in r.text
    login("wang")
    client.post(f"/compliance/audits/{audit.id}/sign", data={"role": "head"})
    login("clerk_prov")
    r = client.post(f"/compliance/audits/{audit.id}/submit", follow_redirects=True)
    assert "审计报告已报送" in r.text
    r = client.get(f"/api/v1/compliance/audits/{audit.id}/signatures")
    assert [c["ok"] for c in r.json()] == [True, True]


def test_a_regulator_orders_an_audit_in_its_area(client, login, people, session) -> None:  # noqa: ANN001
    reg = _regulator(session, people)
    login(reg.username)
    form = client.get("/compliance/audits/order")
    assert form.status_code == 200 and "江西省公安厅" in form.text
    r = client.post(
        "/compliance/audits/order",
        data={
            "subject_org_id": str(people.org["police"].id),
            "institution_org_id": str(people.org["audit"].id),
            "institution_head": "王所长",
            "lead_name": "李审计",
            "scope": "个人信息共享",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    audit_id = int(r.headers["location"].split("/")[3].split("?")[0])
    audit = audits.get(session, audit_id)
    assert audit.trigger == "ordered" and audit.ordered_by_org_id == reg.org_id
    assert audit.due_at is not None or audit.due_warning  # 90 working days from the order
    entry = session.query(LedgerEntry).filter_by(action="audit.opened").one()
    assert entry.payload["ordered_by"] == reg.org_id
    # The operator sees it with its deadline.
    login("clerk_prov")
    overview = client.get("/compliance")
    assert f"/compliance/audits/{audit_id}" in overview.text
    page = client.get(f"/compliance/audits/{audit_id}")
    assert "网信办360000责令" in page.text


def test_ordering_outside_the_area_is_refused(client, login, people, session) -> None:  # noqa: ANN001
    reg = _regulator(session, people, "360100")  # a city regulator
    with pytest.raises(OutsideJurisdiction):
        audits.order(
            session,
            actor=reg,
            subject_org_id=people.org["police"].id,  # a provincial agency
            institution_org_id=people.org["audit"].id,
            institution_head="王所长",
            lead_name="李审计",
        )
    assert people.org["police"] not in audits.orderable_subjects(session, reg)
    assert people.org["civil"] in audits.orderable_subjects(session, reg)
    login(reg.username)
    r = client.post(
        "/api/v1/compliance/audits/order",
        json={
            "subject_org_id": people.org["civil"].id,
            "institution_org_id": people.org["audit"].id,
            "institution_head": "王所长",
            "lead_name": "李审计",
        },
    )
    assert r.status_code == 201 and r.json()["trigger"] == "ordered"
    with pytest.raises(NotYourOrganization, match="只有监管部门"):
        audits.order(
            session,
            actor=people.clerk_prov,
            subject_org_id=people.org["civil"].id,
            institution_org_id=people.org["audit"].id,
            institution_head="王所长",
            lead_name="李审计",
        )


def test_audit_forms_say_each_problem_beside_its_field(client, login, people, session) -> None:  # noqa: ANN001
    from gongshu.compliance.models import AuditEngagement

    login("clerk_prov")
    written, opened = session.query(LedgerEntry).count(), session.query(AuditEngagement).count()
    r = client.post(
        "/compliance/audits/new",
        data={
            "trigger": "ordered",
            "conductor": "internal",
            "institution_org_id": "0",
            "lead_name": "",
            "scope": "共享交换",
        },
    )
    assert r.status_code == 400 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert 'id="conductor-error">按监管部门要求开展的合规审计应委托专业机构实施' in r.text
    assert 'id="lead_name-error">请填写合规审计负责人' in r.text
    assert 'id="notified_at-error">请填写收到监管部门通知的时间' in r.text
    assert 'href="#lead_name"' in r.text and 'aria-describedby="conductor-error"' in r.text
    assert ">共享交换</textarea>" in r.text and '<option value="ordered" selected>' in r.text
    assert session.query(AuditEngagement).count() == opened
    assert session.query(LedgerEntry).count() == written
    reg = _regulator(session, people)
    login(reg.username)
    written = session.query(LedgerEntry).count()
    r = client.post(
        "/compliance/audits/order",
        data={"subject_org_id": "0", "institution_org_id": "0", "lead_name": "李审计"},
    )
    assert r.status_code == 400 and 'id="subject_org_id-error">请选择被审计单位' in r.text
    assert 'value="李审计"' in r.text
    r = client.post(
        "/compliance/audits/order",
        data={"subject_org_id": str(people.org["police"].id), "institution_org_id": "0"},
    )
    assert r.status_code == 400 and 'id="institution_org_id-error">请选择专业审计机构' in r.text
    assert 'id="institution_head-error">请填写专业机构负责人' in r.text
    assert session.query(LedgerEntry).count() == written
    assert session.query(AuditEngagement).count() == opened


def test_a_refused_signature_or_submission_is_said_on_the_audit_page(  # noqa: ANN001
    client, login, people, session
) -> None:
    """Issue 17 item 6: signing an audit whose points are all "not applicable", or
    submitting before it is signed, comes back on the audit page with the reason in
    the summary at the top, not on the error page, and nothing is recorded."""
    audit = _engagement(session, people)
    signers(session, people)
    assess_all(session, audit, people.auditor, "not_applicable")

    def recorded() -> list[str]:
        return [
            a for (a,) in session.query(LedgerEntry.action) if not a.startswith(("user.", "auth"))
        ]

    before = recorded()
    login("clerk_prov")
    r = client.post(f"/compliance/audits/{audit.id}/submit")
    assert r.status_code == 400
    assert 'id="error-summary"' in r.text and "审计报告尚未签署完毕，不能报送" in r.text
    assert "无法完成请求" not in r.text
    login("li")
    r = client.post(f"/compliance/audits/{audit.id}/sign", data={"role": "lead"})
    assert r.status_code == 400 and "全部参考要点均为“不适用”" in r.text
    assert 'id="error-summary"' in r.text and "以合规审计负责人身份签署报告" in r.text
    session.expire_all()
    assert audits.get(session, audit.id).signed_at is None
    assert recorded() == before
