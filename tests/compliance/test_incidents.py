"""Incident clocks on fixed dates (SEC-10..SEC-12, CLK-1..CLK-4)."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.compliance import incidents
from gongshu.documents import pdf_text, render_pdf
from gongshu.ledger.models import LedgerEntry
from gongshu.timeutil import BEIJING

UTC = dt.UTC


def bj(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BEIJING)


FACTS = {
    "title": "户籍系统数据泄露",
    "system": "人口信息管理系统",
    "place": "省政务云机房",
    "kind": "数据泄露",
    "harm": "约二十万人的身份证号被非法下载",
    "measures": "封堵接口，重置凭据",
    "trend": "已受控",
    "cause": "接口越权",
    "clue_attacker": "境外 IP 203.0.113.9",
    "clue_path": "公开接口",
    "clue_vulnerability": "越权访问",
    "further_measures": "全面排查接口",
    "help_needed": "请求网信部门技术支援",
    "scene_protection": "日志已封存",
}


def record_then_move(session, people, when: dt.datetime, handled=None, **facts):  # noqa: ANN001, ANN003, ANN201
    """An incident recorded now, then moved to ``when`` (late December 2026): the service
    refuses a time in the future, and the clocks reaching 2027 need such a date."""
    inc = incidents.record_incident(
        session, actor=people.clerk_prov, found_at=dt.datetime.now(UTC), **facts
    )
    inc.found_at = inc.occurred_at = when
    inc.handled_at = handled
    incidents._refresh(session, inc)
    return inc


def due_map(incident) -> dict[str, dt.datetime | None]:  # noqa: ANN001
    return {r.code: r.due_at and r.due_at.astimezone(UTC) for r in incident.reports}


def test_every_sec11_clock_across_the_spring_festival(session, people) -> None:  # noqa: ANN001
    """SEC-11: a major cyber incident leaking 200,000 people's data with harm done, found on
    Thursday 12 February 2026, the last working week before the 15-23 February holiday
    (Saturday 14 February and 28 February are swapped working days)."""
    inc = incidents.record_incident(
        session,
        actor=people.clerk_prov,
        found_at=bj(2026, 2, 12, 10, 0),
        grade="major",
        personal_info=True,
        important_data=True,
        people_affected=200_000,
        harm_done=True,
        **FACTS,
    )
    due = due_map(inc)
    # Hour clocks run from discovery through the holiday (CLK-2).
    assert due["cyber_1h"] == bj(2026, 2, 12, 11, 0)
    assert due["leak_8h"] == bj(2026, 2, 12, 18, 0)
    assert due["cyber_24h"] == bj(2026, 2, 13, 10, 0)
    assert due["pi_72h"] == bj(2026, 2, 15, 10, 0)
    # 3 working days: Fri 13, Sat 14 (swapped working day), then Tue 24 after the holiday.
    assert due["notify_3wd"] == bj(2026, 2, 25, 0, 0)
    # Waiting for the end of handling: no date yet, and the page says why.
    assert due["leak_5wd"] is None and due["cyber_5wd"] is None
    assert "处置结束后起算" in next(r for r in inc.reports if r.code == "leak_5wd").due_warning
    incidents.mark_handled(session, inc.id, actor=people.clerk_prov, at=bj(2026, 2, 13, 18, 0))
    due = due_map(inc)
    # 5 working days after handling: 14, 24, 25, 26, 27 February, ends 24:00 of the 27th.
    assert due["leak_5wd"] == bj(2026, 2, 28, 0, 0)
    assert due["cyber_5wd"] == bj(2026, 2, 28, 0, 0)
    assert [r.code for r in inc.reports] == [
        "cyber_1h",
        "leak_8h",
        "cyber_24h",
        "pi_72h",
        "notify_3wd",
        "leak_5wd",
        "cyber_5wd",
    ]


def test_a_clock_reaching_2027_has_no_deadline_and_says_so(session, people) -> None:  # noqa: ANN001
    """CLK-4: 2027 has no holiday schedule; the 3- and 5-working-day clocks stay empty with
    a warning, while hour clocks need no schedule."""
    inc = record_then_move(
        session,
        people,
        bj(2026, 12, 30, 10, 0),
        handled=bj(2026, 12, 30, 20, 0),
        grade="large",
        personal_info=True,
        important_data=False,
        people_affected=50,
        harm_done=True,
        **FACTS,
    )
    due = due_map(inc)
    assert due["pi_72h"] == bj(2027, 1, 2, 10, 0)
    assert due["cyber_1h"] == bj(2026, 12, 30, 11, 0)
    for code in ("notify_3wd", "cyber_5wd"):
        report = next(r for r in inc.reports if r.code == code)
        assert report.due_at is None
        assert "2027 年节假日安排尚未录入" in report.due_warning
    assert "leak_8h" not in due  # 50 people, no important data: NDSMR 11(2) does not apply


@pytest.mark.parametrize(
    ("facts", "codes", "rule"),
    [
        ({"grade": "general"}, [], "nothing to report"),
        (
            {"grade": "large"},
            ["cyber_1h", "cyber_24h", "cyber_5wd"],
            "SEC-11 incident measures 4, 6, 7",
        ),
        ({"grade": "especially_major"}, ["cyber_1h", "cyber_24h", "cyber_5wd"], "SEC-11"),
        ({"grade": "general", "important_data": True}, ["leak_8h", "leak_5wd"], "SEC-11 NDSMR 11"),
        (
            {"grade": "general", "personal_info": True, "people_affected": 100_000},
            ["leak_8h", "pi_72h", "leak_5wd"],
            "SEC-11 NDSMR 11: 100,000 people",
        ),
        (
            {"grade": "general", "personal_info": True, "people_affected": 99_999},
            ["pi_72h"],
            "SEC-11 PIA-A 27",
        ),
        ({"grade": "general", "harm_done": True}, ["notify_3wd"], "SEC-11 NDSMR 11(1)"),
    ],
)
def test_obligations_follow_the_facts(facts, codes, rule) -> None:  # noqa: ANN001
    base = {
        "personal_info": False,
        "important_data": False,
        "people_affected": 0,
        "harm_done": False,
    }
    assert [r.code for r in incidents.obligations(**(base | facts))] == codes, rule


def test_report_pdf_carries_sec12_fields_and_submission_is_in_the_ledger(session, people) -> None:  # noqa: ANN001
    inc = incidents.record_incident(
        session,
        actor=people.clerk_prov,
        found_at=dt.datetime.now(UTC) - dt.timedelta(minutes=30),
        grade="major",
        personal_info=True,
        people_affected=10,
        ransom_amount="5 BTC",
        ransom_method="比特币",
        **FACTS,
    )
    nxt = incidents.next_due(inc)
    assert nxt.code == "cyber_1h"
    assert incidents.countdown(nxt).startswith("剩余 0 小时 2")
    report = incidents.submit_report(session, inc.id, "cyber_1h", actor=people.clerk_prov)
    assert report.sha256 and incidents.on_time(report) is True
    assert incidents.next_due(inc).code == "cyber_24h"
    text = pdf_text(render_pdf(incidents_report_doc(inc, report)))
    for needle in (
        "人口信息管理系统",
        "省政务云机房",
        "5 BTC",
        "接口越权",
        "日志已封存",
        "请求网信部门技术支援",
    ):
        assert needle in text
    entry = session.query(LedgerEntry).filter_by(action="incident.reported").one()
    assert entry.payload["code"] == "cyber_1h" and entry.payload["on_time"] is True


def incidents_report_doc(inc, report):  # noqa: ANN001, ANN201
    from gongshu.compliance import reports

    return reports.incident_report(inc, report)


def test_notifying_people_meets_the_three_day_report(session, people) -> None:  # noqa: ANN001
    inc = incidents.record_incident(
        session,
        actor=people.clerk_prov,
        found_at=bj(2026, 3, 2, 9, 0),
        grade="general",
        harm_done=True,
        **FACTS,
    )
    incidents.notify(
        session,
        inc.id,
        actor=people.clerk_prov,
        channel="短信",
        recipients=1200,
        text="您的信息可能泄露，请警惕诈骗。",
        at=bj(2026, 3, 4, 12, 0),
    )
    report = inc.reports[0]
    assert report.code == "notify_3wd" and report.submitted_at is not None
    assert incidents.on_time(report) is True
    assert inc.notifications[0].recipients == 1200


def test_another_organization_cannot_handle_the_incident(session, people) -> None:  # noqa: ANN001
    from gongshu.compliance.errors import NotYourOrganization

    inc = incidents.record_incident(
        session, actor=people.clerk_prov, found_at=bj(2026, 3, 2, 9, 0), grade="large", **FACTS
    )
    with pytest.raises(NotYourOrganization):
        incidents.submit_report(session, inc.id, "cyber_1h", actor=people.clerk_county)


def test_entering_the_2027_schedule_fills_the_deadline(session, people) -> None:  # noqa: ANN001
    """CLK-4: once an administrator enters 2027, the empty deadlines are computed."""
    from gongshu.compliance import audits
    from gongshu.workdays import enter_year
    from tests.workdays.test_schedule import DAYS_2027, SOURCE_2027

    inc = record_then_move(
        session, people, bj(2026, 12, 30, 10, 0), grade="general", harm_done=True, **FACTS
    )
    audit = audits.create(
        session,
        actor=people.clerk_prov,
        subject_org_id=people.org["police"].id,
        trigger="ordered",
        conductor="institution",
        institution_org_id=people.org["audit"].id,
        institution_head="王所长",
        lead_name="李审计",
        notified_at=bj(2026, 9, 1, 9, 0),
    )
    assert inc.reports[0].due_at is None and audit.due_at is None
    enter_year(session, 2027, DAYS_2027, source=SOURCE_2027, actor="user:admin")
    assert incidents.refresh_deadlines(session) == 2
    # 31 December 2026, then 4 and 5 January 2027 (1 January is a holiday).
    assert inc.reports[0].due_at == bj(2027, 1, 6, 0, 0)
    assert inc.reports[0].due_warning is None and audit.due_at is not None
