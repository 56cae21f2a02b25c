"""OPN-5: use outside the open-use agreement is decided by a data authority in
jurisdiction, ordered corrected within working days, and fined only within the legal
range; the breaching party sees the decision."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.accounts.errors import OutsideJurisdiction
from gongshu.errors import InvalidInput
from gongshu.ledger import entries
from gongshu.opendata import agreements, breaches, service
from gongshu.opendata.breaches import BreachClosed, NotBreachAuthority
from gongshu.timeutil import BEIJING

# Friday 27 Sep 2024, Beijing: 10 working days later runs across the National Day week.
DECIDED = dt.datetime(2024, 9, 27, 15, tzinfo=BEIJING)


@pytest.fixture
def signed(session, people, open_data):  # noqa: ANN001, ANN201
    app = service.apply(
        session,
        open_data.cond.id,
        actor=open_data.enterprise,
        use="客流分析",
        scenario="线路规划",
        security_measures="专人管理",
        fields=["线路"],
        term_days=30,
    )
    service.answer(session, app.id, actor=people.clerk_county, approve=True)
    agreement = agreements.agreement_for(session, app.id)
    return agreements.sign(session, agreement.id, actor=open_data.enterprise)


def decide(session, agreement, actor, **kw):  # noqa: ANN001, ANN003, ANN201
    data = {
        "finding": "将数据提供给第三方用于商业营销",
        "correction_order": "收回并删除已提供的数据，书面报告整改情况",
        "correction_workdays": 10,
        "at": DECIDED,
        **kw,
    }
    return breaches.decide(session, agreement.id, actor=actor, **data)


def test_only_a_data_authority_in_jurisdiction_decides(session, people, open_data, signed):
    # the provider records nothing: the regulation gives the decision to the authority
    with pytest.raises(NotBreachAuthority):
        decide(session, signed, people.clerk_county)
    with pytest.raises(NotBreachAuthority):
        decide(session, signed, open_data.enterprise)
    # another county's authority, or one below the entry's region, is refused
    with pytest.raises(OutsideJurisdiction):
        decide(session, signed, _other_county_reviewer(session, people))
    # the county's own, the city over it, the province over both decide
    for reviewer in (people.reviewer_county, people.reviewer_city, people.reviewer_prov):
        assert decide(session, signed, reviewer).authority_org_id == reviewer.org_id


def _other_county_reviewer(session, people):  # noqa: ANN001, ANN202
    from gongshu.accounts import service as accounts

    accounts.add_region(session, "360103", "西湖区", parent="360100")
    org = accounts.add_organization(
        session, "西湖区数据局", kind="data_authority", region_code="360103"
    )
    return accounts.create_user(
        session, "reviewer_xihu", "correct-horse-9", org=org, roles=["reviewer"]
    )


def test_the_decision_states_the_deadline_in_working_days_and_the_fine_range(
    session, people, open_data, signed, client, login
) -> None:
    with pytest.raises(InvalidInput, match="1 至 60 个工作日"):
        decide(session, signed, people.reviewer_county, correction_workdays=0)
    breach = decide(session, signed, people.reviewer_county)
    # 10 working days after Sep 27 2024 (Oct 1-7 holidays, Sep 29 a working Sunday)
    assert breach.deadline == dt.datetime(2024, 10, 17, 0, 0, tzinfo=BEIJING)
    assert "一万元以上十万元以下" in breach.penalty_clause
    (logged,) = [e for e in entries(session) if e.action == "open.breach_recorded"]
    assert logged.payload["correction_workdays"] == 10 and logged.payload["deadline"]
    # the breaching party sees it on its agreement's page
    assert breaches.of_user(session, open_data.enterprise.id) == [breach]
    session.flush()
    login("acme")
    page = client.get(f"/open/agreements/{signed.id}").text
    assert "违约处理决定" in page and "10 个工作日" in page and "2024-10-17" in page
    assert "一万元以上十万元以下" in page and "收回并删除" in page


def test_fines_only_within_the_legal_range_and_only_when_due(session, people, signed) -> None:
    breach = decide(session, signed, people.reviewer_county)
    before = dt.datetime(2024, 10, 16, 12, tzinfo=BEIJING)
    after = dt.datetime(2024, 10, 17, 9, tzinfo=BEIJING)
    kw = {"actor": people.reviewer_county, "reason": "overdue", "note": "逾期未删除"}
    with pytest.raises(InvalidInput, match="尚未届满"):
        breaches.impose_fine(session, breach.id, amount_yuan=20_000, now=before, **kw)
    for amount in (9_999, 100_001, 0, 5_000_000):
        with pytest.raises(InvalidInput, match="一万元以上十万元以下"):
            breaches.impose_fine(session, breach.id, amount_yuan=amount, now=after, **kw)
    with pytest.raises(InvalidInput, match="整数元"):
        breaches.impose_fine(session, breach.id, amount_yuan="20000", now=after, **kw)  # type: ignore[arg-type]
    with pytest.raises(NotBreachAuthority):
        breaches.impose_fine(
            session,
            breach.id,
            amount_yuan=20_000,
            now=after,
            **{**kw, "actor": people.clerk_county},
        )
    breaches.impose_fine(session, breach.id, amount_yuan=20_000, now=after, **kw)
    assert breach.fine_yuan == 20_000 and breach.fine_reason.startswith("逾期未改正")
    with pytest.raises(BreachClosed):
        breaches.impose_fine(session, breach.id, amount_yuan=10_000, now=after, **kw)
    assert "open.breach_fined" in [e.action for e in entries(session)]


def test_a_correction_in_time_stops_the_clock_and_the_overdue_fine(session, people, signed):
    breach = decide(session, signed, people.reviewer_county)
    breaches.confirm_correction(
        session,
        breach.id,
        actor=people.reviewer_county,
        note="已删除并提交整改报告",
        at=dt.datetime(2024, 10, 10, tzinfo=BEIJING),
    )
    with pytest.raises(BreachClosed, match="已在期限内确认改正"):
        breaches.impose_fine(
            session,
            breach.id,
            actor=people.reviewer_county,
            amount_yuan=10_000,
            reason="overdue",
            note="x",
            now=dt.datetime(2024, 10, 18, tzinfo=BEIJING),
        )
    # serious consequences may still be fined, within the range
    breaches.impose_fine(
        session,
        breach.id,
        actor=people.reviewer_county,
        amount_yuan=100_000,
        reason="serious",
        note="数据被用于电信诈骗",
        now=dt.datetime(2024, 10, 18, tzinfo=BEIJING),
    )
    assert breach.fine_yuan == 100_000
