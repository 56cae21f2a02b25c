"""OPN-3: a conditional-open application is answered as SHR-4 says: within 10 working
days of receipt, or referred by the provider to the data authority of its tier, which
then decides."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.ledger import entries
from gongshu.opendata import agreements, service
from gongshu.opendata.clocks import CLOCKS, OPEN_ANSWER
from gongshu.opendata.errors import AlreadyAnswered, NotProvider
from gongshu.timeutil import BEIJING
from gongshu.workdays import lifecycle


def apply(session, open_data, received_at=None):  # noqa: ANN001, ANN201
    return service.apply(
        session,
        open_data.cond.id,
        actor=open_data.enterprise,
        use="客流分析",
        scenario="线路规划",
        security_measures="专网存储，专人管理",
        fields=["线路"],
        term_days=30,
        received_at=received_at,
    )


def test_the_answer_is_due_in_10_working_days_across_national_day(
    session, people, open_data
) -> None:
    # Received Friday 27 Sep 2024: Oct 1-7 are holidays, Sep 29 and Oct 12 swapped
    # working days; the 10th working day after the day of receipt is Oct 16.
    app = apply(session, open_data, dt.datetime(2024, 9, 27, 15, tzinfo=BEIJING))
    assert app.deadline == dt.datetime(2024, 10, 17, 0, 0, tzinfo=BEIJING)
    assert app.deadline_warning is None
    (logged,) = [e for e in entries(session) if e.action == "open.applied"]
    assert logged.payload["deadline"] is not None
    # the supervision lists it when late (GOV-2), by the provider's area
    late = lifecycle.overdue(session, OPEN_ANSWER, dt.datetime(2024, 10, 18, tzinfo=BEIJING))
    assert late == [app]
    assert lifecycle.overdue(session, OPEN_ANSWER, area="3601") == [app]  # 360102 is in it
    assert lifecycle.overdue(session, OPEN_ANSWER, area="3602") == []
    assert OPEN_ANSWER in CLOCKS


def test_a_year_without_a_schedule_is_never_guessed(session, people, open_data) -> None:
    app = apply(session, open_data, dt.datetime(2031, 12, 26, 10, tzinfo=BEIJING))
    assert app.deadline is None and "2031 年节假日安排尚未录入" in app.deadline_warning


def test_referral_hands_the_decision_to_the_authority_of_the_providers_tier(
    session, people, open_data
) -> None:
    app = apply(session, open_data, dt.datetime(2024, 9, 27, 15, tzinfo=BEIJING))
    with pytest.raises(NotProvider):
        service.refer(session, app.id, actor=people.clerk_prov, note="不确定")
    with pytest.raises(Exception, match="不能确定能否开放的原因"):
        service.refer(session, app.id, actor=people.clerk_county, note=" ")
    service.refer(
        session, app.id, actor=people.clerk_county, note="涉及未成年人信息，能否开放不确定"
    )
    assert app.status == "referred" and app.referred_region_code == "360102"
    # the provider's clock stopped with the referral: not listed as late afterwards
    assert lifecycle.overdue(session, OPEN_ANSWER, dt.datetime(2024, 10, 18, tzinfo=BEIJING)) == []
    # the provider can no longer answer; neither can another tier's authority
    with pytest.raises(NotProvider):
        service.answer(session, app.id, actor=people.clerk_county, approve=True)
    with pytest.raises(NotProvider):
        service.answer(session, app.id, actor=people.reviewer_city, approve=True)
    assert app in service.inbox(session, people.reviewer_county)
    assert app not in service.inbox(session, people.reviewer_city)
    service.answer(
        session, app.id, actor=people.reviewer_county, approve=True, conditions="仅限线路数据"
    )
    assert app.status == "approved" and app.decided_by == "user:reviewer_county"
    assert agreements.agreement_for(session, app.id) is not None
    with pytest.raises(AlreadyAnswered):
        service.refer(session, app.id, actor=people.clerk_county, note="再报")
    (logged,) = [e for e in entries(session) if e.action == "open.approved"]
    assert logged.payload["by"] == "authority"


def test_a_late_answer_is_recorded_as_late(session, people, open_data) -> None:
    app = apply(session, open_data, dt.datetime(2024, 9, 2, 9, tzinfo=BEIJING))
    service.answer(session, app.id, actor=people.clerk_county, approve=True)
    (logged,) = [e for e in entries(session) if e.action == "open.approved"]
    assert logged.payload["late"] is True and logged.payload["by"] == "provider"
