"""GOV-2: the data authority sees who is late, per agency and tier, within its area."""

from __future__ import annotations

import datetime as dt

from gongshu.exchange import reports, service, supervision
from gongshu.timeutil import BEIJING

from .conftest import APPLICATION

AFTER = dt.datetime(2024, 10, 17, 0, 1, tzinfo=BEIJING)


def test_counts_per_agency_and_tier_within_the_authoritys_area(
    session, people, conditional, county_conditional
) -> None:
    def apply(entry, actor, received):  # noqa: ANN001, ANN202
        return service.apply(session, entry.id, actor=actor, received_at=received, **APPLICATION)

    late = apply(conditional, people.clerk_county, dt.datetime(2024, 9, 27, 10, tzinfo=BEIJING))
    apply(conditional, people.clerk_county, dt.datetime(2024, 10, 15, 9, tzinfo=BEIJING))
    unknown = apply(conditional, people.clerk_county, dt.datetime(2026, 12, 28, tzinfo=BEIJING))
    county_late = apply(
        county_conditional, people.clerk_prov, dt.datetime(2024, 9, 20, tzinfo=BEIJING)
    )
    answered_late = apply(conditional, people.clerk_county, dt.datetime(2024, 9, 2, tzinfo=BEIJING))
    service.approve(session, answered_late.id, actor=people.clerk_prov, conditions="同意")
    # An unanswered error report on the police data counts against the police.
    reports.report_error(
        session,
        conditional.id,
        actor=people.clerk_county,
        field=None,
        row_description="第 1 行",
        description="地址缺失",
        found_at=dt.datetime(2024, 10, 8, tzinfo=BEIJING),
        now=dt.datetime(2024, 10, 9, tzinfo=BEIJING),
    )

    tiers = supervision.agencies(session, people.reviewer_prov, AFTER)
    (police,) = tiers["province"]
    assert police.org.name == "江西省公安厅"
    assert (police.pending, police.overdue, police.unknown_deadline) == (3, 1, 1)
    assert police.overdue_items == [late] and unknown not in police.overdue_items
    assert police.answered_late == 1 and police.open_error_reports == 1
    (civil,) = tiers["county"]
    assert civil.org.name == "东湖区民政局" and civil.overdue_items == [county_late]

    # The county authority sees only its own county's agencies.
    county_view = supervision.agencies(session, people.reviewer_county, AFTER)
    assert list(county_view) == ["county"] and county_view["county"][0].overdue == 1
    assert service.overdue(session, AFTER) == [county_late, late]


def test_trends_count_late_answers_by_month_tier_and_agency_and_turnaround(
    session, people, conditional, county_conditional
) -> None:
    """Issue 17 item 8: the dashboard's charts, from applications with a history."""

    def apply(entry, actor, received):  # noqa: ANN001, ANN202
        return service.apply(session, entry.id, actor=actor, received_at=received, **APPLICATION)

    at = dt.datetime
    apply(conditional, people.clerk_county, at(2024, 9, 27, 10, tzinfo=BEIJING))  # never answered
    late = apply(conditional, people.clerk_county, at(2024, 9, 2, tzinfo=BEIJING))
    service.approve(
        session,
        late.id,
        actor=people.clerk_prov,
        conditions="同意",
        now=at(2024, 10, 8, 10, tzinfo=BEIJING),
    )
    quick = apply(conditional, people.clerk_county, at(2024, 10, 15, 9, tzinfo=BEIJING))
    service.refuse(
        session,
        quick.id,
        actor=people.clerk_prov,
        reasons="超出职责范围",
        legal_basis="《数据安全法》第三十八条",
        now=at(2024, 10, 17, 9, tzinfo=BEIJING),
    )
    apply(county_conditional, people.clerk_prov, at(2024, 9, 20, tzinfo=BEIJING))  # never answered
    now = at(2024, 11, 20, tzinfo=BEIJING)

    t = supervision.trends(session, people.reviewer_prov, now)
    assert t["months"][0] == "2023-12" and t["months"][-1] == "2024-11"
    sep, oct_ = t["months"].index("2024-09"), t["months"].index("2024-10")
    assert sum(t["late_by_tier"]["province"]) == 2 and t["late_by_tier"]["province"][sep] == 1
    assert t["late_by_tier"]["province"][oct_] == 1 and sum(t["late_by_tier"]["county"]) == 1
    assert sum(t["late_by_agency"]["江西省公安厅"]) == 2
    assert sum(t["late_by_agency"]["东湖区民政局"]) == 1
    turn = t["turnaround"]
    assert (turn["in_time"][oct_], turn["late"][oct_]) == (1, 1)
    assert (
        turn["median_days"][oct_] == 19.2
    )  # (36.4 + 2.0) / 2 and turn["median_days"][sep] is None
    county = supervision.trends(session, people.reviewer_county, now)
    assert set(county["late_by_agency"]) == {"东湖区民政局"}
