"""Sharing pages: apply form, 我的申请, 待答复 with working days left, 转报决定, supervision."""

from __future__ import annotations

import datetime as dt

from gongshu.exchange import reports, service
from gongshu.timeutil import BEIJING

from .conftest import APPLICATION


def test_apply_answer_and_report_through_the_pages(login, session, people, conditional) -> None:
    client = login("clerk_county")
    form = client.get(f"/sharing/apply/{conditional.id}")
    assert form.status_code == 200 and "申请共享：户籍人口信息" in form.text
    assert 'value="公民身份号码"' in form.text
    # A form without a scenario comes back with the error and the typed values kept.
    r = client.post(
        f"/sharing/apply/{conditional.id}",
        data={**APPLICATION, "scenario": "", "term_days": "180"},
    )
    assert r.status_code == 400 and "具体应用场景" in r.text and APPLICATION["reason"] in r.text
    r = client.post(
        f"/sharing/apply/{conditional.id}",
        data={**APPLICATION, "term_days": "180"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "申请已提交，受理编号 GXSQ-" in page.text and "待答复" in page.text
    mine = client.get("/sharing/mine")
    assert "户籍人口信息" in mine.text and "江西省公安厅" in mine.text
    (app,) = service.mine(session, people.clerk_county)

    client = login("clerk_prov")
    queue = client.get("/sharing/queue")
    assert "东湖区民政局" in queue.text
    if app.deadline is not None:
        assert "剩余 10 个工作日" in queue.text
    r = client.post(f"/sharing/applications/{app.id}/approve", data={"conditions": "仅限低保核验"})
    assert r.status_code == 200 and "已同意共享" in r.text and "仅限低保核验" in r.text

    client = login("clerk_county")
    page = client.get(f"/sharing/applications/{app.id}")
    assert 'id="error-form"' in page.text and "报告应用成效" in page.text
    r = client.post(f"/sharing/applications/{app.id}/effects", data={"text": "核验 50 件"})
    assert "应用成效已报告" in r.text and "核验 50 件" in r.text
    found = (dt.datetime.now(BEIJING) - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(
        f"/sharing/applications/{app.id}/errors",
        data={
            "field": "姓名",
            "row_description": "第 2 行",
            "description": "姓名错字",
            "found_at": found,
        },
    )
    assert "数据错误已反馈" in r.text

    client = login("clerk_prov")
    (report,) = reports.errors_to_answer(session, people.clerk_prov)
    assert "姓名错字" in client.get("/sharing/queue").text
    r = client.post(
        f"/sharing/errors/{report.id}/answer", data={"status": "corrected", "answer": "已更正"}
    )
    assert "已答复数据错误反馈" in r.text and "暂无待核实的反馈" in r.text


def test_no_share_and_unconditional_pages_explain(login, no_share, unconditional) -> None:
    client = login("clerk_county")
    page = client.get(f"/sharing/apply/{no_share.id}")
    assert "不予共享，不能申请" in page.text and "人民警察法" in page.text
    assert 'id="apply-form"' not in page.text
    page = client.get(f"/sharing/apply/{unconditional.id}")
    assert "无需申请" in page.text and f"/catalog/{unconditional.id}" in page.text


def test_missing_schedule_warning_is_shown(login, session, people, conditional) -> None:
    app = service.apply(
        session,
        conditional.id,
        actor=people.clerk_county,
        received_at=dt.datetime(2026, 12, 28, 9, tzinfo=BEIJING),
        **APPLICATION,
    )
    client = login("clerk_prov")
    for url in (f"/sharing/applications/{app.id}", "/sharing/queue"):
        page = client.get(url)
        assert (
            "2027 年节假日安排尚未录入，无法计算答复期限" in page.text and "期限未知" in page.text
        )


def test_referral_queue_and_supervision_pages(login, session, people, conditional) -> None:
    late = service.apply(
        session,
        conditional.id,
        actor=people.clerk_county,
        received_at=dt.datetime(2024, 9, 27, 10, tzinfo=BEIJING),
        **APPLICATION,
    )
    other = service.apply(session, conditional.id, actor=people.clerk_county, **APPLICATION)
    service.refer(session, other.id, actor=people.clerk_prov, note="涉及敏感字段")

    client = login("reviewer_prov")
    page = client.get("/sharing/referred")
    assert "涉及敏感字段" in page.text and f"/sharing/applications/{other.id}" in page.text
    r = client.post(
        f"/sharing/applications/{other.id}/decide",
        data={"decision": "approve", "conditions": "经研究同意，限期 180 天"},
    )
    session.refresh(other)
    assert "已同意共享" in r.text and other.decided_by == "user:reviewer_prov"
    sup = client.get("/sharing/supervision")
    assert "省级" in sup.text and 'data-agency="江西省公安厅"' in sup.text
    assert f"/sharing/applications/{late.id}" in sup.text  # the overdue one is listed
    # The charts' containers, their numbers and the tables beside them (issue 17 item 8).
    for part in ('id="late-tier-chart"', 'id="late-agency-chart"', 'id="turnaround-chart"'):
        assert part in sup.text
    assert '<script type="application/json" id="trend-chart-data">{"late_by_agency"' in sup.text
    assert "答复用时数据表" in sup.text

    # An agency clerk cannot see the supervision page; the provider cannot decide a referral.
    client = login("clerk_prov")
    assert client.get("/sharing/supervision").status_code == 403
    r = client.post(f"/sharing/applications/{late.id}/decide", data={"decision": "approve"})
    assert r.status_code == 403


def test_a_refusal_without_its_basis_comes_back_beside_the_field(
    login, session, people, conditional
) -> None:
    app = service.apply(session, conditional.id, actor=people.clerk_county, **APPLICATION)
    session.flush()
    client = login("clerk_prov")
    r = client.post(
        f"/sharing/applications/{app.id}/refuse",
        data={"reasons": "超出履职范围", "legal_basis": ""},
    )
    assert r.status_code == 400 and "error-summary" in r.text
    assert 'id="legal_basis-error">不予共享须说明法律依据' in r.text
    assert 'href="#legal_basis"' in r.text and 'value="超出履职范围"' in r.text
    assert 'id="reasons-error"' not in r.text
    r = client.post(f"/sharing/applications/{app.id}/refer", data={"note": ""})
    assert r.status_code == 400 and 'id="note-error">报数据管理部门时须说明' in r.text
    assert session.get(type(app), app.id).status == "submitted"
    r = client.post(
        f"/sharing/applications/{app.id}/refuse",
        data={"reasons": "超出履职范围", "legal_basis": "《数据安全法》"},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_an_application_comes_back_with_each_problem_beside_its_field(
    login, session, people, conditional
) -> None:
    from gongshu.exchange.models import SharingApplication
    from gongshu.ledger.models import LedgerEntry

    client = login("clerk_county")
    written = session.query(LedgerEntry).count()
    r = client.post(
        f"/sharing/apply/{conditional.id}",
        data={**APPLICATION, "legal_basis": "", "requested_fields": [], "term_days": "9999"},
    )
    assert r.status_code == 400 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert 'id="legal_basis-error">有条件共享申请必须填写<' in r.text
    assert 'id="requested_fields-error">请至少选择一个申请的字段' in r.text
    assert 'id="term_days-error">使用期限须在 1 至 3650 天之间' in r.text
    assert 'href="#legal_basis"' in r.text and 'href="#term_days"' in r.text
    assert 'aria-describedby="term_days-hint term_days-error"' in r.text
    assert 'id="reason-error"' not in r.text
    # What was typed is kept.
    assert f">{APPLICATION['reason']}</textarea>" in r.text and 'value="9999"' in r.text
    assert session.query(SharingApplication).count() == 0
    assert session.query(LedgerEntry).count() == written
