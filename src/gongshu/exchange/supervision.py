"""Who is late: per agency and tier in a data authority's area (GOV-2, SHR-4, QUA-3)."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts import jurisdiction
from gongshu.accounts.models import Organization, User
from gongshu.exchange.models import ErrorReport, SharingApplication
from gongshu.timeutil import as_utc, beijing_month, last_months, utcnow


@dataclass
class AgencyRow:
    org: Organization
    pending: int = 0
    overdue: int = 0
    unknown_deadline: int = 0
    answered_late: int = 0
    open_error_reports: int = 0
    overdue_items: list[SharingApplication] = field(default_factory=list)


def area_prefix(org: Organization) -> str:
    """GB/T 2260 codes nest: a province sees 36xxxx, a city 3601xx, a county itself
    (the one rule, ``accounts.jurisdiction.area_prefix``)."""
    return jurisdiction.area_prefix(org.region_code)


def agencies(
    session: Session, actor: User, now: dt.datetime | None = None
) -> dict[str, list[AgencyRow]]:
    """Per tier, per providing agency in the authority's area: pending, overdue and
    deadline-unknown applications and unanswered error reports (GOV-2)."""
    now = as_utc(now) if now else utcnow()
    if actor.org is None:
        return {}
    prefix = "" if "admin" in actor.roles else area_prefix(actor.org)
    rows: dict[int, AgencyRow] = {}

    def row(org: Organization) -> AgencyRow | None:
        if not org.region_code.startswith(prefix):
            return None
        return rows.setdefault(org.id, AgencyRow(org))

    for app in session.scalars(select(SharingApplication)):
        r = row(app.provider)
        if r is None:
            continue
        if app.status == "submitted":
            r.pending += 1
            if app.deadline is None:
                r.unknown_deadline += 1
            elif as_utc(app.deadline) < now:
                r.overdue += 1
                r.overdue_items.append(app)
        elif app.deadline is not None and app.answered_at is not None:
            r.answered_late += as_utc(app.answered_at) > as_utc(app.deadline)
    for report in session.scalars(select(ErrorReport).where(ErrorReport.status == "open")):
        org = session.get(Organization, report.provider_org_id)
        r = row(org) if org else None
        if r is not None:
            r.open_error_reports += 1
    by_tier: dict[str, list[AgencyRow]] = {}
    for r in sorted(rows.values(), key=lambda r: (-r.overdue, r.org.name)):
        by_tier.setdefault(r.org.region.tier, []).append(r)
    return by_tier


TREND_MONTHS = 12
AGENCY_SERIES = 8  # the agencies with the most late answers get a line each


def trends(
    session: Session, actor: User, now: dt.datetime | None = None, months: int = TREND_MONTHS
) -> dict:
    """Month by month in the authority's area (GOV-2, SHR-4): answers that came late or
    are still missing past the deadline (by the deadline's month), per tier and per
    agency; and the turnaround of answers given (by the answer's month): how many came
    in time or late, and the median days from receipt to answer."""
    now = as_utc(now) if now else utcnow()
    labels = last_months(now, months)
    index = {m: i for i, m in enumerate(labels)}
    late_tier: dict[str, list[int]] = {}
    late_agency: dict[str, list[int]] = {}
    in_time, late_answers = [0] * months, [0] * months
    days: list[list[float]] = [[] for _ in labels]
    if actor.org is None:
        return {"months": labels, "late_by_tier": {}, "late_by_agency": {}, "turnaround": {}}
    prefix = "" if "admin" in actor.roles else area_prefix(actor.org)
    for app in session.scalars(select(SharingApplication)):
        org = app.provider
        if not org.region_code.startswith(prefix):
            continue
        answered = app.answered_at or app.decided_at
        answered = as_utc(answered) if answered else None
        deadline = as_utc(app.deadline) if app.deadline else None
        if deadline is not None:
            missing = answered is None and app.status == "submitted" and deadline < now
            late = missing or (answered is not None and answered > deadline)
            i = index.get(beijing_month(deadline))
            if late and i is not None:
                late_tier.setdefault(org.region.tier, [0] * months)[i] += 1
                late_agency.setdefault(org.name, [0] * months)[i] += 1
        if answered is not None:
            i = index.get(beijing_month(answered))
            if i is None:
                continue
            days[i].append((answered - as_utc(app.received_at)).total_seconds() / 86400)
            if deadline is not None:
                if answered > deadline:
                    late_answers[i] += 1
                else:
                    in_time[i] += 1
    top = sorted(late_agency, key=lambda name: (-sum(late_agency[name]), name))[:AGENCY_SERIES]
    return {
        "months": labels,
        "late_by_tier": {t: late_tier[t] for t in ("province", "city", "county") if t in late_tier},
        "late_by_agency": {name: late_agency[name] for name in top},
        "turnaround": {
            "in_time": in_time,
            "late": late_answers,
            "median_days": [round(statistics.median(d), 1) if d else None for d in days],
        },
    }


# How old the newest data of an entry may be, by its declared update frequency (GOV-2).
# 实时 and 每日 allow one day; 不定期 has no due date and is never reported stale.
FREQUENCY_DAYS = {"实时": 1, "每日": 1, "每周": 7, "每月": 31, "每季度": 92, "每年": 366}


@dataclass
class StaleEntry:
    entry: object
    last_loaded: dt.datetime | None
    allowed_days: int
    days_old: int | None


def stale_entries(
    session: Session, actor: User, now: dt.datetime | None = None
) -> list[StaleEntry]:
    """Published entries in the authority's area with no data, or data older than their
    update frequency allows: the agencies to remind (GOV-2)."""
    from sqlalchemy import func

    from gongshu.catalog.models import CatalogEntry
    from gongshu.storage.models import DatasetVersion

    now = as_utc(now) if now else utcnow()
    if actor.org is None:
        return []
    prefix = "" if "admin" in actor.roles else area_prefix(actor.org)
    latest = (
        select(DatasetVersion.entry_id, func.max(DatasetVersion.created_at).label("at"))
        .group_by(DatasetVersion.entry_id)
        .subquery()
    )
    rows = session.execute(
        select(CatalogEntry, latest.c.at)
        .outerjoin(latest, latest.c.entry_id == CatalogEntry.id)
        .where(
            CatalogEntry.published_version.is_not(None),
            CatalogEntry.region_code.startswith(prefix),
            CatalogEntry.scope == "public",
        )
        .order_by(CatalogEntry.region_code, CatalogEntry.resource_code)
    ).all()
    out = []
    for entry, at in rows:
        allowed = FREQUENCY_DAYS.get(entry.update_frequency)
        if allowed is None:
            continue
        at = as_utc(at) if at else None
        age = (now - at).days if at else None
        if at is None or age > allowed:
            out.append(StaleEntry(entry, at, allowed, age))
    return out
