"""The open-data clocks, declared for the lifecycle in ``gongshu.workdays.lifecycle``.

- OPN-3 answers a conditional-open application as SHR-4 does: within 10 working days
  of receipt; a referral to the data authority of the provider's tier stops the
  provider's clock and hands the decision over (``service.refer``).
- OPN-5 orders a breach corrected within the working days the data authority sets;
  the clock stops when the correction is confirmed or the fine is imposed.
"""

from __future__ import annotations

from sqlalchemy import select

from gongshu.accounts.models import Organization
from gongshu.catalog.models import CatalogEntry
from gongshu.opendata.models import OpenApplication, OpenBreach
from gongshu.workdays import ClockSpec, Period

ANSWER_WORKDAYS = 10  # OPN-3 as SHR-4


def _orgs_in(area: str):  # noqa: ANN202
    return select(Organization.id).where(Organization.region_code.startswith(area))


def _provider_in(area: str):  # noqa: ANN202
    return OpenApplication.entry_id.in_(
        select(CatalogEntry.id).where(CatalogEntry.provider_org_id.in_(_orgs_in(area)))
    )


OPEN_ANSWER = ClockSpec(
    name="open_application",
    model=OpenApplication,
    start="created_at",
    deadline="deadline",
    warning="deadline_warning",
    period=Period(workdays=ANSWER_WORKDAYS),
    basis=f"有条件开放申请，收到申请后 {ANSWER_WORKDAYS} 个工作日内答复",
    what="答复期限",
    note="申请已受理",
    status="status",
    open_statuses=("pending",),
    terminal=("approved", "refused", "referred"),
    region=_provider_in,
    action="open.deadline_computed",
    subject=lambda row: f"open-application:{row.id}",
)


def _correction_period(session, row: OpenBreach) -> Period | None:  # noqa: ANN001
    return Period(workdays=row.correction_workdays) if row.correction_workdays else None


OPEN_CORRECTION = ClockSpec(
    name="open_breach",
    model=OpenBreach,
    start="created_at",
    deadline="deadline",
    warning="deadline_warning",
    period=_correction_period,
    basis="责令限期改正",
    what="改正期限",
    note="违约认定已作出",
    open_when=lambda: OpenBreach.corrected_at.is_(None) & OpenBreach.fined_at.is_(None),
    fill_when=lambda: OpenBreach.correction_workdays.is_not(None),
    region=lambda area: OpenBreach.authority_org_id.in_(_orgs_in(area)),
    action="open.correction_deadline_computed",
    subject=lambda row: f"open-agreement:{row.agreement_id}",
)

CLOCKS = (OPEN_ANSWER, OPEN_CORRECTION)
