"""The sharing clock (SHR-4): the provider answers within 10 working days of receipt.

Declared once for the lifecycle in ``gongshu.workdays.lifecycle``, which starts,
refreshes and lists it (CLK-1, CLK-4, GOV-2).
"""

from __future__ import annotations

from sqlalchemy import select

from gongshu.accounts.models import Organization
from gongshu.exchange.models import SharingApplication
from gongshu.workdays import ClockSpec, Period

ANSWER_WORKDAYS = 10  # SHR-4


def _provider_in(area: str):  # noqa: ANN202
    return SharingApplication.provider_org_id.in_(
        select(Organization.id).where(Organization.region_code.startswith(area))
    )


SHARING_ANSWER = ClockSpec(
    name="application",
    model=SharingApplication,
    start="received_at",
    deadline="deadline",
    warning="deadline_warning",
    period=Period(workdays=ANSWER_WORKDAYS),
    basis=f"收到申请后 {ANSWER_WORKDAYS} 个工作日",
    what="答复期限",
    note="申请已受理",
    status="status",
    open_statuses=("submitted",),
    terminal=("approved", "refused", "referred"),
    region=_provider_in,
    action="sharing.deadline_computed",
)

CLOCKS = (SHARING_ANSWER,)
