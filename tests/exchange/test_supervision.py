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
