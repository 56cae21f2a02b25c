"""Compliance pages as a user sees them."""

from __future__ import annotations

import datetime as dt

from gongshu.compliance import audits, incidents
from gongshu.documents import pdf_text
from gongshu.timeutil import BEIJING, utcnow


def test_incident_form_shows_reports_with_countdown_and_pdf(client, login, people, session) -> None:  # noqa: ANN001
    login("clerk_prov")
    found = (utcnow() - dt.timedelta(minutes=10)).astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")
    r = client.post(
        "/compliance/incidents/new",
        data={
            "title": "门户网站被篡改",
            "system": "政务服务门户",
            "found_at": found,
            "occurred_at": found,
            "kind": "网页篡改",
            "grade": "large",
            "personal_info": "1",
            "people_affected": "30",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"])
    assert "网络安全事件报告（1小时内）" in page.text
    assert "个人信息安全事件通知（72小时内）" in page.text
    assert "剩余 0 小时 4" in page.text or "剩余 0 小时 5" in page.text  # about 50 minutes left
    inc_id = int(r.headers["location"].split("/")[3].split("?")[0])
    pdf = client.get(f"/compliance/incidents/{inc_id}/reports/cyber_1h.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "政务服务门户" in pdf_text(pdf.content)
    r = client.post(f"/compliance/incidents/{inc_id}/reports/cyber_1h", follow_redirects=True)
    assert "已报送" in r.text
    overview = client.get("/compliance")
    assert "门户网站被篡改" in overview.text and "网络安全事件补报（24小时内）" in overview.text


def test_missing_fields_keep_the_form(client, login, people) -> None:  # noqa: ANN001
    login("clerk_prov")
    r = client.post(
        "/compliance/incidents/new",
        data={"title": "x", "system": "", "found_at": "2026-03-01T10:00", "kind": ""},
    )
    assert r.status_code == 400 and "请填写事件发生时间" in r.text and 'value="x"' in r.text


def test_incident_forms_say_each_problem_beside_its_field(client, login, people, session) -> None:  # noqa: ANN001
    from gongshu.compliance.models import Incident
    from gongshu.ledger.models import LedgerEntry

    login("clerk_prov")
    written = session.query(LedgerEntry).count()
    r = client.post(
        "/compliance/incidents/new",
        data={
            "title": "门户网站被篡改",
            "system": "",
            "found_at": "2026-03-01T10:00",
            "occurred_at": "2026-03-01T10:00",
            "kind": "",
            "people_affected": "三十",
        },
    )
    assert r.status_code == 400 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert 'id="people_affected-error">请填写不小于 0 的整数；收到“三十”' in r.text
    assert 'aria-describedby="people_affected-error"' in r.text
    assert 'href="#people_affected"' in r.text and 'value="门户网站被篡改"' in r.text
    assert 'value="三十"' in r.text
    r = client.post(
        "/compliance/incidents/new",
        data={
            "title": "门户网站被篡改",
            "system": "",
            "found_at": "2026-03-01T10:00",
            "occurred_at": "2026-03-01T11:00",
            "kind": "",
        },
    )
    assert r.status_code == 400
    assert 'id="system-error">请填写受影响的设施、系统或平台' in r.text
    assert 'id="kind-error">请填写事件类型' in r.text
    assert 'id="occurred_at-error">事件发生时间不能晚于发现时间' in r.text
    assert 'aria-describedby="kind-hint kind-error"' in r.text
    assert session.query(Incident).count() == 0
    assert session.query(LedgerEntry).count() == written

    # The forms on the incident's page: the page again, the message beside the field.
    found = (utcnow() - dt.timedelta(hours=2)).astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")
    r = client.post(
        "/compliance/incidents/new",
        data={
            "title": "门户网站被篡改",
            "system": "门户",
            "found_at": found,
            "occurred_at": found,
            "kind": "网页篡改",
        },
        follow_redirects=False,
    )
    url = r.headers["location"].split("?")[0]
    written = session.query(LedgerEntry).count()
    r = client.post(f"{url}/handled", data={"handled_at": "2020-01-01T08:00"})
    assert r.status_code == 400 and "无法完成请求" not in r.text
    assert 'id="handled_at-error">处置结束时间不能早于发现时间' in r.text
    assert 'value="2020-01-01T08:00"' in r.text
    r = client.post(f"{url}/notifications", data={"channel": "短信", "recipients": "x", "text": ""})
    assert r.status_code == 400 and 'id="recipients-error">请填写不小于 0 的整数' in r.text
    assert 'value="短信"' in r.text
    r = client.post(f"{url}/notifications", data={"channel": "短信", "recipients": "3", "text": ""})
    assert r.status_code == 400 and 'id="text-error">请填写通知内容' in r.text
    r = client.post(f"{url}/facts", data={"grade": "huge", "people_affected": "5"})
    assert r.status_code == 400 and 'id="grade-error">请选择网络安全事件级别' in r.text
    assert session.query(LedgerEntry).count() == written


def test_other_agency_cannot_see_the_incident(client, login, people, session) -> None:  # noqa: ANN001
    inc = incidents.record_incident(
        session,
        actor=people.clerk_prov,
        title="t",
        system="s",
        kind="k",
        found_at=utcnow(),
        grade="general",
    )
    login("clerk_county")
    assert client.get(f"/compliance/incidents/{inc.id}").status_code == 403
    login("reviewer_prov")  # the data authority supervises (compliance:supervise)
    assert client.get(f"/compliance/incidents/{inc.id}").status_code == 200
    assert "t" in client.get("/compliance/supervision").text


def test_audit_page_shows_live_evidence_and_missing_sources(client, login, people, session) -> None:  # noqa: ANN001
    audit = audits.create(
        session,
        actor=people.clerk_prov,
        subject_org_id=people.org["police"].id,
        trigger="self",
        conductor="institution",
        institution_org_id=people.org["audit"].id,
        institution_head="王所长",
        lead_name="李审计",
    )
    login("auditor")
    page = client.get(f"/compliance/audits/{audit.id}")
    assert page.status_code == 200
    assert "urn:gongshu:risk:req_node:pia-a:31" in page.text
    assert "影响评估 1 份" in page.text  # point 25, from the platform's own records
    # Point 18 comes from gongshu.privacy.evidence: live evidence, or the note while absent.
    assert "个人权利请求按期答复" in page.text
    r = client.post(
        f"/compliance/audits/{audit.id}/points/25",
        data={"result": "compliant", "findings": ""},
        follow_redirects=True,
    )
    assert "审计结论已保存" in r.text
    r = client.post(
        f"/compliance/audits/{audit.id}/points/3/evidence",
        files={"file": ("隐私政策.txt", "处理规则".encode(), "text/plain")},
        follow_redirects=True,
    )
    assert "隐私政策.txt" in r.text
    pdf = client.get(f"/compliance/audits/{audit.id}/report.pdf")
    assert "个人信息保护合规审计报告" in pdf_text(pdf.content)


def test_crossborder_and_obligations_pages(client, login, people) -> None:  # noqa: ANN001
    login("clerk_prov")
    r = client.post("/compliance/crossborder", data={"people_abroad": "120000"})
    assert "申报数据出境安全评估" in r.text and "10万人以上" in r.text
    r = client.post(
        "/compliance/obligations",
        data={"people": "2000000", "important_data": "1", "important_identified_on": "2026-02-10"},
        follow_redirects=True,
    )
    assert (
        "识别重要数据后十五个工作日内向设区的市级网信部门备案" in r.text and "2026-03-09" in r.text
    )
    assert "处理一百万人以上个人信息，同时遵守重要数据处理者的规定" in r.text
    assert "SEC-2" not in r.text.replace('data-code="SEC-2"', "")
    for kind in ("security", "export", "responsibility"):
        pdf = client.get(f"/compliance/reports/{kind}/2025.pdf")
        assert pdf.status_code == 200 and "2025年度" in pdf_text(pdf.content)


def test_api_route_and_incident(client, login, people) -> None:  # noqa: ANN001
    login("clerk_prov")
    r = client.post("/api/v1/compliance/crossborder/route", json={"important_data": True})
    assert r.json()["route"] == "security_assessment"
    r = client.post(
        "/api/v1/compliance/incidents",
        json={
            "title": "泄露",
            "system": "库",
            "kind": "泄露",
            "found_at": "2026-02-12T10:00:00+08:00",
            "occurred_at": "2026-02-12T10:00:00+08:00",
            "important_data": True,
        },
    )
    assert r.status_code == 201
    assert [x["code"] for x in r.json()["reports"]] == ["leak_8h", "leak_5wd"]
    assert r.json()["reports"][0]["due_at"].startswith("2026-02-12T10:00:00")


def test_fourth_audit_by_one_institution_is_refused_on_the_form(
    client, login, people, session
) -> None:  # noqa: ANN001
    """AUD-5: the form says why."""
    for _ in range(3):
        audits.create(
            session,
            actor=people.clerk_prov,
            subject_org_id=people.org["police"].id,
            trigger="self",
            conductor="institution",
            institution_org_id=people.org["audit"].id,
            institution_head="王所长",
            lead_name="李审计",
        )
    login("clerk_prov")
    r = client.post(
        "/compliance/audits/new",
        data={
            "trigger": "self",
            "conductor": "institution",
            "institution_org_id": str(people.org["audit"].id),
            "institution_head": "王所长",
            "lead_name": "李审计",
        },
    )
    assert r.status_code == 409 and "不得超过三次" in r.text and "赣江会计师事务所" in r.text


def test_admin_marks_a_foreign_recipient(client, login, people) -> None:  # noqa: ANN001
    login("admin")
    r = client.post(
        "/compliance/foreign-recipients",
        data={"org_id": str(people.org["audit"].id), "country": "新加坡"},
        follow_redirects=True,
    )
    assert "新加坡" in r.text


def test_overview_shows_when_the_next_audit_is_due(client, login, people) -> None:  # noqa: ANN001
    login("clerk_prov")
    client.post("/compliance/obligations", data={"people": "1500000"})
    page = client.get("/compliance")
    assert (
        "每年至少开展一次合规审计（办法第四条）" in page.text
        and "尚无已签署的审计报告" in page.text
    )


def test_api_assessment_and_audit(client, login, people, session) -> None:  # noqa: ANN001
    login("clerk_prov")
    r = client.post(
        "/api/v1/compliance/assessments",
        json={
            "activity": "向民政部门提供户籍信息",
            "covers": ["provision"],
            "answers": {"purpose": "p", "impact": "i", "measures": "m", "recipients": "r"},
            "conclusion": "可控",
            "assessed_on": "2026-01-05",
        },
    )
    assert r.status_code == 201 and r.json()["keep_until"] == "2029-01-05"
    r = client.post(
        "/api/v1/compliance/assessments",
        json={
            "activity": "x",
            "covers": ["nope"],
            "answers": {},
            "conclusion": "c",
            "assessed_on": "2026-01-05",
        },
    )
    assert r.status_code == 400 and "请选择评估覆盖的处理情形" in r.json()["message"]
    audit = audits.create(
        session,
        actor=people.clerk_prov,
        subject_org_id=people.org["police"].id,
        trigger="self",
        conductor="institution",
        institution_org_id=people.org["audit"].id,
        institution_head="王所长",
        lead_name="李审计",
    )
    login("auditor")
    r = client.post(f"/api/v1/compliance/audits/{audit.id}/points/27", json={"result": "compliant"})
    assert r.status_code == 200 and r.json()["live"]["sources"][0]["status"] == "not_applicable"
    r = client.get(f"/api/v1/compliance/audits/{audit.id}")
    assert [p["point"] for p in r.json()["points"]] == [27]
    login("clerk_county")
    assert client.get(f"/api/v1/compliance/audits/{audit.id}").status_code == 403


def test_audit_workspace_goes_point_by_point(client, login, people, session) -> None:  # noqa: ANN001
    """已评 n/30, no preselected verdict, a missing verdict named beside its field, and the
    evidence of each point beside its form (issue 17 item 8)."""
    audit = audits.create(
        session,
        actor=people.clerk_prov,
        subject_org_id=people.org["police"].id,
        trigger="self",
        conductor="institution",
        institution_org_id=people.org["audit"].id,
        institution_head="王所长",
        lead_name="李审计",
    )
    login("auditor")
    page = client.get(f"/compliance/audits/{audit.id}").text
    assert "已评 0/30" in page and 'href="#p2">下一条待评：第 2 条' in page
    assert " checked" not in page  # no verdict chosen for anyone
    assert '<label for="result-5-compliant">' in page and '<label for="evidence-5">' in page
    assert '<label for="fix-owner-5">' in page
    assert 'aria-label="第 25 条的证据"' in page and "尚未上传证据文件" in page
    r = client.post(f"/compliance/audits/{audit.id}/points/5", data={"findings": "留着"})
    assert r.status_code == 400
    assert 'role="alert" id="error-5">请选择第 5 条的审计结论' in r.text
    assert "留着</textarea>" in r.text and audits.results(session, audit.id) == {}
    r = client.post(
        f"/compliance/audits/{audit.id}/points/5",
        data={"result": "compliant", "findings": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("#p6")
    page = client.get(f"/compliance/audits/{audit.id}").text
    assert "已评 1/30" in page
    assert 'id="result-5-compliant" name="result" value="compliant" checked' in page
    assert 'href="#p2">下一条待评：第 2 条' in page
    r = client.post(f"/compliance/audits/{audit.id}/points/6", data={"result": "non_compliant"})
    assert r.status_code == 400 and 'aria-invalid="true" aria-describedby="error-6"' in r.text
    assert 'id="result-6-non_compliant" name="result" value="non_compliant" checked' in r.text


def _counts(session) -> tuple:  # noqa: ANN001
    from gongshu.compliance.models import ComplianceProfile, ForeignRecipient, ImpactAssessment
    from gongshu.ledger.models import LedgerEntry

    return tuple(
        session.query(m).count()
        for m in (ImpactAssessment, ForeignRecipient, ComplianceProfile, LedgerEntry)
    )


def test_register_forms_say_each_problem_beside_its_field(client, login, people, session) -> None:  # noqa: ANN001
    login("clerk_prov")
    before = _counts(session)
    # Impact assessment: every missing answer at once, beside its field.
    r = client.post(
        "/compliance/assessments/new",
        data={"activity": "向民政部门提供低保数据", "purpose": "履职需要", "assessed_on": "昨天"},
    )
    assert r.status_code == 400 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert 'id="assessed_on-error">日期格式应为 年-月-日' in r.text
    assert 'value="昨天"' in r.text and 'value="向民政部门提供低保数据"' in r.text
    r = client.post(
        "/compliance/assessments/new",
        data={"activity": "向民政部门提供低保数据", "purpose": "履职需要"},
    )
    assert r.status_code == 400
    assert 'id="covers-error">请选择评估覆盖的处理情形' in r.text and 'href="#covers"' in r.text
    assert 'id="impact-error">影响评估必须回答' in r.text
    assert 'id="conclusion-error">请填写评估结论' in r.text
    assert 'aria-describedby="conclusion-error"' in r.text and ">履职需要</textarea>" in r.text
    assert 'id="purpose-error"' not in r.text
    # Cross-border route: the sensitive count beside its field.
    r = client.post(
        "/compliance/crossborder", data={"people_abroad": "10", "sensitive_abroad": "20"}
    )
    assert r.status_code == 400
    assert 'id="sensitive_abroad-error">出境敏感个人信息人数不能多于出境个人信息人数' in r.text
    assert 'value="20"' in r.text
    r = client.post("/compliance/crossborder", data={"total_people": "很多"})
    assert r.status_code == 400 and 'id="total_people-error">请填写不小于 0 的整数' in r.text
    # Obligations profile: what was typed kept, not what was saved.
    r = client.post(
        "/compliance/obligations",
        data={"people": "两百万", "users": "5", "service_started_on": "2026-13-01"},
    )
    assert r.status_code == 400 and 'id="people-error">请填写不小于 0 的整数' in r.text
    assert 'id="service_started_on-error">日期格式应为 年-月-日' in r.text
    assert 'value="两百万"' in r.text and 'value="5"' in r.text
    assert _counts(session) == before
    # Foreign recipients: the country beside its field.
    login("admin")
    before = _counts(session)
    r = client.post(
        "/compliance/foreign-recipients",
        data={"org_id": str(people.org["audit"].id), "country": " ", "contact": "新加坡办事处"},
    )
    assert r.status_code == 400 and 'id="country-error">请填写接收方所在国家或地区' in r.text
    assert 'value="新加坡办事处"' in r.text and "无法完成请求" not in r.text
    assert _counts(session) == before


def test_a_rectification_without_owner_or_date_comes_back_beside_its_fields(
    client, login, people, session
) -> None:  # noqa: ANN001
    from gongshu.compliance.models import Rectification
    from gongshu.ledger.models import LedgerEntry

    audit = audits.create(
        session,
        actor=people.clerk_prov,
        subject_org_id=people.org["police"].id,
        trigger="self",
        conductor="institution",
        institution_org_id=people.org["audit"].id,
        institution_head="王所长",
        lead_name="李审计",
    )
    session.flush()
    login("auditor")
    written = session.query(LedgerEntry).count()
    r = client.post(
        f"/compliance/audits/{audit.id}/points/3/rectifications",
        data={"text": "补充隐私政策", "owner": "", "due_on": "下月"},
    )
    assert r.status_code == 400 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert 'id="fix-owner-3-error">整改事项须写明责任人' in r.text
    assert 'id="fix-due-3-error">日期格式应为 年-月-日' in r.text
    assert 'href="#fix-owner-3"' in r.text and 'aria-describedby="fix-owner-3-error"' in r.text
    assert 'value="补充隐私政策"' in r.text and 'value="下月"' in r.text
    assert session.query(Rectification).count() == 0
    assert session.query(LedgerEntry).count() == written
    # An empty evidence file: beside that point's file field.
    r = client.post(
        f"/compliance/audits/{audit.id}/points/3/evidence",
        files={"file": ("空.txt", b"", "text/plain")},
    )
    assert r.status_code == 400 and 'id="evidence-3-error">证据文件为空' in r.text
    assert 'aria-describedby="evidence-3-error"' in r.text and "无法完成请求" not in r.text
    assert session.query(LedgerEntry).count() == written
