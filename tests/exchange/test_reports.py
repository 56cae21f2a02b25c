"""Error reports on shared data (QUA-3) and effect reports (SHR-6)."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.errors import InvalidInput
from gongshu.exchange import reports, service
from gongshu.exchange.errors import NotApplicant, NotProvider, WrongStatus
from gongshu.ledger import entries
from gongshu.timeutil import BEIJING

from .conftest import APPLICATION

FOUND = dt.datetime(2024, 9, 27, 10, 0, tzinfo=BEIJING)  # Friday before National Day 2024


@pytest.fixture
def approved(session, people, conditional):  # noqa: ANN001, ANN201
    app = service.apply(session, conditional.id, actor=people.clerk_county, **APPLICATION)
    return service.approve(session, app.id, actor=people.clerk_prov, conditions="仅限核验")


def report(session, people, entry, now, **over):  # noqa: ANN001, ANN003, ANN201
    args = {
        "field": "公民身份号码",
        "row_description": "姓名为张伟的一行",
        "description": "身份号码校验位错误",
        "found_at": FOUND,
        "now": now,
    }
    return reports.report_error(session, entry.id, actor=people.clerk_county, **{**args, **over})


def test_report_within_five_working_days_is_on_time_and_later_is_marked_late(
    session, people, conditional, approved
) -> None:
    # 5 working days after 27 Sep 2024: 29 Sep (worked Sunday), 30 Sep, 8, 9, 10 Oct.
    on_time = report(session, people, conditional, dt.datetime(2024, 10, 10, 23, 0, tzinfo=BEIJING))
    assert on_time.report_due == dt.datetime(2024, 10, 11, 0, 0, tzinfo=BEIJING)
    assert on_time.late is False and on_time.status == "open"
    # QUA-3 puts the 5-day duty on the consumer but does not bar a late report: kept, marked.
    late = report(session, people, conditional, dt.datetime(2024, 10, 11, 9, 0, tzinfo=BEIJING))
    assert late.late is True
    assert [r.id for r in reports.errors_to_answer(session, people.clerk_prov)] == [
        on_time.id,
        late.id,
    ]
    logged = entries(session, action_prefix="sharing.error_reported", limit=5)
    assert {e.payload["late"] for e in logged} == {True, False}


def test_only_a_consumer_holding_a_grant_reports_and_fields_are_checked(
    session, people, conditional, county_conditional, approved
) -> None:
    now = dt.datetime(2024, 10, 8, tzinfo=BEIJING)
    with pytest.raises(NotApplicant, match="未通过共享获取"):
        report(session, people, county_conditional, now)
    with pytest.raises(InvalidInput, match="血型"):
        report(session, people, conditional, now, field="血型")
    with pytest.raises(InvalidInput, match="发现时间"):
        report(session, people, conditional, now, found_at=now + dt.timedelta(days=1))


def test_provider_answers_an_error_report(session, people, conditional, approved) -> None:
    r = report(session, people, conditional, dt.datetime(2024, 10, 8, tzinfo=BEIJING))
    with pytest.raises(NotProvider):
        reports.answer_error(
            session, r.id, actor=people.clerk_county, status="corrected", answer="x"
        )
    with pytest.raises(InvalidInput, match="已更正"):
        reports.answer_error(session, r.id, actor=people.clerk_prov, status="maybe", answer="x")
    reports.answer_error(
        session, r.id, actor=people.clerk_prov, status="corrected", answer="已更正校验位并重新加载"
    )
    assert r.status == "corrected" and r.answered_by == "user:clerk_prov"
    assert reports.errors_to_answer(session, people.clerk_prov) == []
    with pytest.raises(WrongStatus):
        reports.answer_error(session, r.id, actor=people.clerk_prov, status="not_error", answer="y")
    assert (
        entries(session, action_prefix="sharing.error_answered", limit=1)[0].payload["status"]
        == "corrected"
    )


def test_effect_report_on_an_approved_application(session, people, conditional, approved) -> None:
    pending = service.apply(session, conditional.id, actor=people.clerk_county, **APPLICATION)
    with pytest.raises(WrongStatus):
        reports.report_effect(session, pending.id, actor=people.clerk_county, text="尚无")
    with pytest.raises(NotApplicant):
        reports.report_effect(session, approved.id, actor=people.clerk_prov, text="x")
    with pytest.raises(InvalidInput, match="应用成效"):
        reports.report_effect(session, approved.id, actor=people.clerk_county, text=" ")
    effect = reports.report_effect(
        session,
        approved.id,
        actor=people.clerk_county,
        text="核验低保申请 1200 件，发现户籍不符 37 件",
        metrics={"核验件数": 1200, "发现问题": 37},
    )
    assert reports.effects_of(session, approved.id) == [effect]
    logged = entries(session, action_prefix="sharing.effect_reported", limit=1)[0]
    assert logged.payload["metrics"] == {"核验件数": 1200, "发现问题": 37}
