"""Live evidence: reference points answered from the platform's own records (AUD-6).

Each capability names its evidence sources per PIA-A point in its ``Capability``
(``evidence``); the registry hands them to ``live`` at run time, so a source another
capability provides (``gongshu.privacy.evidence``) needs no import here. Every
source returns ``{"status", "summary", "facts", "records": [{"id", "label", "ok",
"detail"}]}`` with status compliant / partially_compliant / non_compliant /
not_applicable.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.capability import installed
from gongshu.compliance.models import ImpactAssessment, Incident
from gongshu.timeutil import as_utc


def live(
    session: Session, point: int, *, org_id: int, start: dt.datetime, end: dt.datetime
) -> list[dict]:
    """The live evidence of ``point`` for the organization over [start, end), from every
    capability's declared sources (``Capability.evidence``)."""
    out = []
    for ref, fn, label in installed().evidence().get(point, []):
        result = fn(session, org_id=org_id, start=start, end=end)
        out.append({"source": ref, "label": label, "available": True, **result})
    return out


def _status(records: list[dict]) -> str:
    if not records:
        return "not_applicable"
    ok = sum(1 for r in records if r["ok"])
    if ok == len(records):
        return "compliant"
    return "partially_compliant" if ok else "non_compliant"


def _between(value: dt.datetime, start: dt.datetime, end: dt.datetime) -> bool:
    return as_utc(start) <= as_utc(value) < as_utc(end)


def incident_clocks(session: Session, *, org_id: int, start: dt.datetime, end: dt.datetime) -> dict:
    """Every SEC-11 report of the organization's incidents found in the period, met in time?"""
    from gongshu.compliance.incidents import RULES, on_time

    incidents = session.scalars(select(Incident).where(Incident.org_id == org_id)).all()
    records = []
    for inc in incidents:
        if not _between(inc.found_at, start, end):
            continue
        for rep in inc.reports:
            met = on_time(rep)
            done = rep.submitted_at is not None
            records.append(
                {
                    "id": f"incident:{inc.id}:{rep.code}",
                    "label": f"{inc.title}：{RULES[rep.code].title}",
                    "ok": met is not False,
                    "detail": ("已报送" if done else "未报送")
                    + ("，按期" if met else "，逾期" if met is False else "，期限未定"),
                }
            )
    late = sum(1 for r in records if not r["ok"])
    return {
        "status": _status(records),
        "summary": f"期间发生安全事件 {len({r['id'].split(':')[1] for r in records})} 起，"
        f"报告义务 {len(records)} 项，逾期 {late} 项。",
        "facts": {"obligations": len(records), "late": late},
        "records": records,
    }


def assessments_kept(
    session: Session, *, org_id: int, start: dt.datetime, end: dt.datetime
) -> dict:
    """Impact assessments on record, each kept at least three years (PIP-8)."""
    from gongshu.ledger.models import LedgerEntry

    items = session.scalars(select(ImpactAssessment).where(ImpactAssessment.org_id == org_id)).all()
    records = [
        {
            "id": f"assessment:{a.id}",
            "label": a.activity,
            "ok": True,
            "detail": f"{a.assessed_on:%Y-%m-%d} 评估，保存至 {a.keep_until:%Y-%m-%d}",
        }
        for a in items
    ]
    deleted = session.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "assessment.deleted")
    ).all()
    for entry in deleted:
        keep = (entry.payload or {}).get("keep_until")
        early = keep is not None and as_utc(entry.created_at).date().isoformat() <= keep
        if early:
            records.append(
                {"id": entry.subject, "label": "提前删除的影响评估", "ok": False, "detail": keep}
            )
    status = _status(records) if records else "non_compliant"
    return {
        "status": status,
        "summary": (
            f"影响评估 {len(items)} 份，保存期限均不少于三年。"
            if items
            else "未见任何个人信息保护影响评估记录。"
        ),
        "facts": {"assessments": len(items)},
        "records": records,
    }


def approvals_recorded(
    session: Session, *, org_id: int, start: dt.datetime, end: dt.datetime
) -> dict:
    """Every grant of the organization's data in the period has its approval in the ledger."""
    from gongshu.catalog.models import CatalogEntry
    from gongshu.egress.models import Grant
    from gongshu.ledger.models import LedgerEntry

    grants = session.scalars(
        select(Grant)
        .join(CatalogEntry, CatalogEntry.id == Grant.entry_id)
        .where(CatalogEntry.provider_org_id == org_id)
    ).all()
    grants = [g for g in grants if _between(g.created_at, start, end)]
    logged = set(
        session.scalars(
            select(LedgerEntry.subject).where(
                LedgerEntry.action == "grant.created",
                LedgerEntry.subject.in_([f"grant:{g.id}" for g in grants] or [""]),
            )
        )
    )
    records = [
        {
            "id": f"grant:{g.id}",
            "label": f"{g.purpose}（{g.source}）",
            "ok": f"grant:{g.id}" in logged,
            "detail": f"审批记录：{g.source_ref or '—'}；"
            f"账本{'已' if f'grant:{g.id}' in logged else '未'}记录",
        }
        for g in grants
    ]
    return {
        "status": _status(records),
        "summary": f"期间向他人提供数据的授权 {len(records)} 项，"
        f"审批与账本记录齐全 {sum(r['ok'] for r in records)} 项。",
        "facts": {"grants": len(records)},
        "records": records,
    }
