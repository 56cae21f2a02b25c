"""Demo data for sharing: a year of applications between the demo's agencies, answered in
time, answered late, refused, or still waiting past their deadline, all through the real
services, so the supervision dashboard's queues and charts have something to show
(GOV-2, SHR-4; issue 17 item 8)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.catalog.models import CatalogEntry
from gongshu.demo.model import DemoContext
from gongshu.errors import GongshuError
from gongshu.exchange import reports, service
from gongshu.exchange.models import SharingApplication
from gongshu.timeutil import utcnow

ENTRIES = 10  # conditional-share entries applied for
PER_ENTRY = 4  # applications per entry
# What happens to an application: (outcome, days from receipt to the answer).
OUTCOMES = (
    ("approve", 4),  # in time: 10 working days are about 14 calendar days
    ("approve", 24),  # late
    ("refuse", 6),  # refused with reasons and a legal basis
    ("wait", 0),  # never answered: overdue once its deadline passes
    ("approve", 9),
    ("refuse", 27),  # refused, and late
    ("approve", 2),
)
TEXT = {
    "reason": "履行法定职责需要核验相关信息",
    "legal_basis": "《江西省公共数据管理办法》第二十二条",
    "use": "业务办理中的信息核验",
    "scenario": "政务服务事项办理时的材料免提交",
    "term_days": 365,
}
REFUSAL = {
    "reasons": "申请的字段超出所述业务办理的必要范围",
    "legal_basis": "《中华人民共和国个人信息保护法》第六条",
}


def _clerk(session: Session, org_id: int) -> User | None:
    for user in session.scalars(select(User).where(User.org_id == org_id).order_by(User.id)):
        if "clerk" in user.roles:
            return user
    return None


def seed(session: Session, demo: DemoContext) -> None:
    """Applications received over the past year (the registry's demo seed)."""
    now = utcnow()
    entries = list(
        session.scalars(
            select(CatalogEntry)
            .where(
                CatalogEntry.sharing_attr == "conditional",
                CatalogEntry.published_version.is_not(None),
                CatalogEntry.scope == "public",
            )
            .order_by(CatalogEntry.resource_code)
        ).unique()
    )[:ENTRIES]
    applicants = [
        u
        for u in session.scalars(select(User).order_by(User.id))
        if "clerk" in u.roles and u.org is not None and u.org.kind == "agency"
    ]
    if not entries or len(applicants) < 2:
        return
    n, reported = 0, False
    for entry in entries:
        provider = _clerk(session, entry.provider_org_id)
        if provider is None:
            continue
        for _ in range(PER_ENTRY):
            applicant = applicants[n % len(applicants)]
            if applicant.org_id == entry.provider_org_id:
                applicant = applicants[(n + 1) % len(applicants)]
            outcome, delay = OUTCOMES[n % len(OUTCOMES)]
            # Spread over the past year; every seventh is recent and still in time.
            ago = 3 if n % 7 == 6 else 12 + (n * 37) % 340
            received = now - dt.timedelta(days=ago, hours=n % 8)
            n += 1
            answered = received + dt.timedelta(days=delay, hours=3)
            if answered >= now or ago == 3:  # the recent ones wait, in time, or are referred
                outcome = "refer" if ago == 3 and n % 2 == 1 else "wait"
            app = _one(session, entry, applicant, provider, outcome, received, answered)
            if app is not None and outcome == "approve" and not reported:
                # The consumer finds an error in what it received: unanswered, it counts
                # against the provider on the dashboard (QUA-3).
                found = min(answered + dt.timedelta(days=2), now)
                try:
                    with session.begin_nested():
                        reports.report_error(
                            session,
                            entry.id,
                            actor=applicant,
                            field=fields_of(entry)[0],
                            row_description="第 3 行",
                            description="该条记录的登记日期晚于注销日期",
                            found_at=found,
                            now=found,
                        )
                    reported = True
                except GongshuError:
                    pass


def _one(
    session: Session,
    entry: CatalogEntry,
    applicant: User,
    provider: User,
    outcome: str,
    received: dt.datetime,
    answered: dt.datetime,
) -> SharingApplication | None:
    fields = fields_of(entry)
    try:
        with session.begin_nested():
            app = service.apply(
                session,
                entry.id,
                actor=applicant,
                requested_fields=fields,
                received_at=received,
                **TEXT,
            )
            if outcome == "approve":
                service.approve(
                    session,
                    app.id,
                    actor=provider,
                    conditions="仅用于所述业务，不得向第三方提供",
                    now=answered,
                )
            elif outcome == "refuse":
                service.refuse(session, app.id, actor=provider, now=answered, **REFUSAL)
            elif outcome == "refer":
                service.refer(
                    session, app.id, actor=provider, note="申请涉及敏感个人信息，请数据管理部门决定"
                )
    except GongshuError:  # an entry the demo cannot grant yet: its application is left out
        return None
    return app


def fields_of(entry: CatalogEntry) -> list[str]:
    return [f["name"] for f in entry.fields[:3]]
