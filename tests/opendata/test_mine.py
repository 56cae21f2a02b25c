"""The person's own pages (issue 17 item 7): what they filed on the portal, with its
status, reference number and working days left; only their own items."""

from __future__ import annotations

import datetime as dt

from gongshu.accounts import service as accounts
from gongshu.app.me import clock
from gongshu.capability import MyItem
from gongshu.opendata import complaints, service
from gongshu.workdays import Calendar
from tests.conftest import PASSWORD

BJ = dt.timezone(dt.timedelta(hours=8))


def test_the_citizen_sees_their_application_complaint_and_declaration(
    client, login, session, people, open_data
) -> None:
    citizen = people.citizen
    application = service.apply(
        session,
        open_data.cond.id,
        actor=citizen,
        use="客流分析",
        scenario="线路规划",
        security_measures="专网",
        fields=None,
        term_days=90,
    )
    service.declare_use(session, open_data.free.id, actor=citizen, use="研究", scenario="公交")
    complaint = complaints.submit(
        session,
        open_data.free.id,
        kind="wrong",
        description="站点数不对",
        contact="",
        actor=citizen,
    )
    session.flush()
    login("citizen")
    page = client.get("/me")
    assert page.status_code == 200
    ref = f"KFSQ-{application.created_at:%Y}-{application.id:06d}"
    assert ref in page.text and "待答复" in page.text and "剩余" in page.text
    assert f"KFTS-{complaint.created_at:%Y}-{complaint.id:06d}" in page.text
    assert "已声明，可获取数据" in page.text
    only = client.get("/me", params={"kind": "complaints"}).text
    assert "站点数不对" not in only and ref not in only and "KFTS-" in only
    detail = client.get(f"/me/applications/{application.id}")
    assert detail.status_code == 200
    assert ref in detail.text and "客流分析" in detail.text and "办理经过" in detail.text
    assert "等待答复" in detail.text  # the next step

    # Answered: the status and history follow.
    service.answer(session, application.id, actor=people.clerk_county, approve=True)
    session.flush()
    detail = client.get(f"/me/applications/{application.id}").text
    assert "已同意" in detail and "请阅读并签署开放利用协议" in detail
    assert "待签署" in client.get("/me", params={"kind": "agreements"}).text

    # Another citizen sees none of it, and cannot open it by its number.
    accounts.create_user(session, "citizen2", PASSWORD, roles=["public"])
    session.flush()
    login("citizen2")
    assert ref not in client.get("/me").text
    assert client.get(f"/me/applications/{application.id}").status_code == 404
    assert client.get(f"/me/complaints/{complaint.id}").status_code == 404
    assert client.get("/me").status_code == 200
    client.cookies.clear()
    assert client.get("/me", follow_redirects=False).status_code in (303, 401)


def _item(deadline: dt.datetime | None, *, closed: bool = False) -> MyItem:
    return MyItem(
        kind="applications",
        key=1,
        reference="KFSQ-2026-000001",
        title="x",
        status="待答复",
        filed_at=dt.datetime(2026, 9, 28, tzinfo=dt.UTC),
        closed=closed,
        deadline=deadline,
    )


def test_working_days_left_skip_the_national_day_holiday() -> None:
    calendar = Calendar()
    # Received Mon 2026-09-28: 10 working days end on 24:00 of the 10th working day.
    deadline = calendar.deadline(dt.datetime(2026, 9, 28, 9, tzinfo=BJ), 10)
    last = calendar.add_workdays(dt.date(2026, 9, 28), 10)
    assert clock(_item(deadline), calendar, last).text.endswith("剩余 1 个工作日")
    # On the holiday nothing is used up: as many left as on the first working day after.
    on_holiday = clock(_item(deadline), calendar, dt.date(2026, 10, 3)).text
    after = clock(_item(deadline), calendar, calendar.next_workday(dt.date(2026, 10, 3))).text
    assert on_holiday == after
    late = clock(_item(deadline), calendar, calendar.add_workdays(last, 2))
    assert late.late and "2 个工作日" in late.text
    assert "剩余" not in clock(_item(deadline, closed=True), calendar, last).text
    assert clock(_item(None), calendar, last) is None


def test_forms_on_the_entry_page_keep_what_was_typed_and_say_what_happened(
    client, login, session, people, open_data
) -> None:
    login("citizen")
    cond = open_data.cond.id
    typed = {"use": "客流分析", "scenario": "", "security_measures": "专网", "term_days": "abc"}
    r = client.post(f"/open/{cond}/apply", data=typed)
    # Every problem at once: in the summary, linked, and beside its field.
    assert r.status_code == 400 and "error-summary" in r.text
    assert 'id="scenario-error">请填写应用场景' in r.text and 'href="#scenario"' in r.text
    assert 'id="term_days-error">使用期限须在' in r.text and 'href="#term_days"' in r.text
    assert 'value="客流分析"' in r.text and ">专网</textarea>" in r.text
    r = client.post(
        f"/open/{cond}/apply",
        data={
            "use": "客流分析",
            "scenario": "规划",
            "security_measures": "专网",
            "term_days": "abc",
        },
    )
    assert r.status_code == 400 and 'id="term_days-error">使用期限须在' in r.text
    r = client.post(
        f"/open/{cond}/apply",
        data={
            "use": "客流分析",
            "scenario": "规划",
            "security_measures": "专网",
            "term_days": "90",
            "fields": ["线路"],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/me/applications/")
    done = client.get(r.headers["location"]).text
    assert "已提交，受理编号 KFSQ-" in done and "下一步：等待答复" in done

    r = client.post(f"/open/{open_data.free.id}/declare", data={"use": "研究", "scenario": " "})
    assert r.status_code == 400 and 'id="scenario-error"' in r.text and 'value="研究"' in r.text
    r = client.post(
        f"/open/{open_data.free.id}/declare",
        data={"use": "研究", "scenario": "公交"},
        follow_redirects=False,
    )
    page = client.get(r.headers["location"]).text
    assert "已声明用途，受理编号 KFSM-" in page and "下载 CSV" in page

    client.cookies.clear()
    r = client.post(
        f"/open/{open_data.free.id}/complaints",
        data={"kind": "missing", "description": "缺少 2025 年数据", "contact": ""},
    )
    assert r.status_code == 400 and 'id="contact-error">请留下联系方式' in r.text
    assert ">缺少 2025 年数据</textarea>" in r.text and 'value="missing" selected' in r.text
    r = client.post(
        f"/open/{open_data.free.id}/complaints",
        data={"kind": "missing", "description": "缺少 2025 年数据", "contact": "13800000000"},
    )
    assert r.status_code == 200 and "投诉已提交，受理编号 KFTS-" in r.text


def test_a_refusal_needs_its_reason_and_basis_typed_beside_the_application(
    client, login, session, people, open_data
) -> None:
    application = service.apply(
        session,
        open_data.cond.id,
        actor=people.citizen,
        use="客流分析",
        scenario="线路规划",
        security_measures="专网",
    )
    session.flush()
    login("clerk_county")
    a = application.id
    inbox = client.get("/open/inbox").text
    assert f'<label for="reason-{a}">理由（不予开放时必填）</label>' in inbox
    r = client.post(
        f"/open/applications/{a}/answer",
        data={"decision": "refuse", "reason": "涉及个人轨迹", "legal_basis": ""},
    )
    assert r.status_code == 400 and "error-summary" in r.text
    assert f'id="legal_basis-{a}-error">不予开放须说明法律依据' in r.text
    assert f'href="#legal_basis-{a}"' in r.text and 'value="涉及个人轨迹"' in r.text
    assert f'id="reason-{a}-error"' not in r.text
    assert session.get(type(application), a).status == "pending"
    r = client.post(f"/open/applications/{a}/refer", data={"note": " "})
    assert r.status_code == 400 and f'id="note-{a}-error">请填写不能确定能否开放的原因' in r.text
    r = client.post(
        f"/open/applications/{a}/answer",
        data={"decision": "refuse", "reason": "涉及个人轨迹", "legal_basis": "《个人信息保护法》"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    login("citizen")
    detail = client.get(f"/me/applications/{a}").text
    assert "不予开放" in detail and "涉及个人轨迹" in detail and "《个人信息保护法》" in detail
