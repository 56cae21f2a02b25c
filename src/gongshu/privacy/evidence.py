"""Live evidence for the compliance audit (AUD-*, PIA-A points 13, 17 to 19).

A contract with ``gongshu.compliance``: each function returns::

    {"status": "compliant" | "partially_compliant" | "non_compliant" | "not_applicable",
     "summary": "<one Chinese sentence>",
     "facts": {name: number or str},
     "records": [{"id": str, "label": str, "ok": bool, "detail": str}]}

computed from the platform's own records for the period [start, end] (Beijing
dates, both included) and, when ``org_id`` is given, for that organization only.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.catalog.models import CatalogEntry
from gongshu.discovery.rules_store import rules_in_force
from gongshu.egress.errors import NotClassified
from gongshu.egress.models import Grant, MaskingPolicy
from gongshu.egress.policies import plan
from gongshu.egress.versions import column_tags
from gongshu.entities import ENTITY_LABELS
from gongshu.privacy.models import REQUEST_KINDS, ConsentRecord, RightsMatch, RightsRequest
from gongshu.storage.models import DatasetVersion
from gongshu.timeutil import BEIJING, as_utc, beijing, utcnow

# Operators after which a sensitive value no longer leaves (the others still relate
# to the person: partial masks, pseudonyms, generalizations).
WITHHOLDING_OPS = ("nullify", "replace")


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Whole Beijing days [start, end]; the audit registry passes moments [start, end)."""
    if isinstance(start, datetime) and isinstance(end, datetime):
        return as_utc(start), as_utc(end)
    return (
        datetime.combine(start, time(), BEIJING),
        datetime.combine(end + timedelta(days=1), time(), BEIJING),
    )


def _status(ok: int, bad: int) -> str:
    if ok + bad == 0:
        return "not_applicable"
    if bad == 0:
        return "compliant"
    return "non_compliant" if ok == 0 else "partially_compliant"


def rights_requests(session: Session, *, org_id: int | None, start: date, end: date) -> dict:
    """Rights requests received in the period, answered within their 15-working-day
    clock or not (PIP-5; PIA-A 18(3)). For an organization: its own part of each."""
    lo, hi = _bounds(start, end)
    stmt = select(RightsRequest).where(
        RightsRequest.received_at >= lo, RightsRequest.received_at < hi
    )
    if org_id is not None:
        stmt = stmt.where(
            RightsRequest.id.in_(
                select(RightsMatch.request_id).where(RightsMatch.provider_org_id == org_id)
            )
        )
    now = utcnow()
    records, late, in_time, pending, unknown = [], 0, 0, 0, 0
    for req in session.scalars(stmt.order_by(RightsRequest.id)):
        if org_id is not None:
            parts = session.scalars(
                select(RightsMatch).where(
                    RightsMatch.request_id == req.id, RightsMatch.provider_org_id == org_id
                )
            ).all()
            done_at = (
                max(as_utc(m.handled_at) for m in parts)
                if all(m.handled_at for m in parts)
                else None
            )
        else:
            done_at = as_utc(req.answered_at) if req.answered_at else None
        deadline = as_utc(req.deadline) if req.deadline else None
        label = f"#{req.id} {REQUEST_KINDS[req.kind]}（{beijing(req.received_at)} 收到）"
        if deadline is None:
            ok, unknown = True, unknown + 1
            detail = "答复期限未知（节假日安排未录入）" + (
                f"，已于 {beijing(done_at)} 答复" if done_at else "，办理中"
            )
        elif done_at is not None:
            ok = done_at <= deadline
            detail = f"期限 {beijing(deadline)}，{beijing(done_at)} 答复" + (
                "，按时" if ok else "，超期"
            )
        elif now > deadline:
            ok, detail = False, f"期限 {beijing(deadline)} 已过，仍未答复"
        else:
            ok, pending = True, pending + 1
            detail = f"办理中，期限 {beijing(deadline)}"
        if ok and done_at is not None and deadline is not None:
            in_time += 1
        if not ok:
            late += 1
        records.append({"id": f"rights:{req.id}", "label": label, "ok": ok, "detail": detail})
    total = len(records)
    status = _status(total - late, late)
    summary = (
        "期间未收到个人信息权利请求。"
        if total == 0
        else f"期间收到个人信息权利请求 {total} 件，按时答复 {in_time} 件，超期 {late} 件，"
        f"办理中 {pending} 件（15 个工作日）。"
    )
    return {
        "status": status,
        "summary": summary,
        "facts": {
            "received": total,
            "answered_in_time": in_time,
            "late": late,
            "pending": pending,
            "deadline_unknown": unknown,
            "clock_workdays": 15,
        },
        "records": records,
    }


def _basis(
    session: Session, grant: Grant, entry: CatalogEntry, kinds: list[str]
) -> tuple[bool, str]:
    """A lawful basis or a separate consent recorded for this grant (PIP-1, PIA-A 13(1))."""
    if grant.source == "rights":
        return True, "本人行使查阅、复制权利，提供本人信息"
    if grant.source == "sharing" and (grant.source_ref or "").startswith("application:"):
        from gongshu.exchange.models import SharingApplication

        app = session.get(SharingApplication, int(grant.source_ref.split(":", 1)[1]))
        if app is not None and app.legal_basis.strip():
            return True, f"共享申请 #{app.id} 的法定依据：{app.legal_basis}"
    consents = session.scalars(
        select(ConsentRecord).where(
            ConsentRecord.org_id == entry.provider_org_id,
            ConsentRecord.action == "grant",
            ConsentRecord.sensitive.is_(True),
            ConsentRecord.purpose == grant.purpose,
        )
    ).all()
    withdrawn = set(
        session.scalars(
            select(ConsentRecord.withdraws_id).where(
                ConsentRecord.action == "withdraw",
                ConsentRecord.withdraws_id.in_([c.id for c in consents] or [0]),
            )
        )
    )
    live = [c for c in consents if c.id not in withdrawn]
    missing = [k for k in kinds if not any(k in c.data_kinds for c in live)]
    if not missing:
        return True, f"已记录单独同意 {len(live)} 份（同一用途）"
    return False, "未记录法定依据，也未记录单独同意：" + "、".join(
        ENTITY_LABELS.get(k, k) for k in missing
    )


def sensitive_consents(session: Session, *, org_id: int | None, start: date, end: date) -> dict:
    """Grants in the period that release sensitive columns (by the discovery rules in
    force), and whether a separate consent or a lawful basis is recorded for each."""
    lo, hi = _bounds(start, end)
    rules, rules_version = rules_in_force(session)
    stmt = (
        select(Grant, CatalogEntry)
        .join(CatalogEntry, CatalogEntry.id == Grant.entry_id)
        .where(Grant.created_at >= lo, Grant.created_at < hi)
    )
    if org_id is not None:
        stmt = stmt.where(
            or_(CatalogEntry.provider_org_id == org_id, Grant.recipient_org_id == org_id)
        )
    records, examined = [], 0
    for grant, entry in session.execute(stmt.order_by(Grant.id)):
        examined += 1
        version = (
            session.get(DatasetVersion, grant.dataset_version_id)
            if grant.dataset_version_id
            else storage.newest(session, entry.id)
        )
        if version is None:
            continue
        try:
            tags = column_tags(entry, version)
        except NotClassified:
            continue  # cannot leave the door, so nothing sensitive was provided
        policy = session.get(MaskingPolicy, grant.policy_id)
        columns = grant.columns or [c["name"] for c in version.columns]
        kinds = sorted(
            {
                code
                for action in plan(columns, tags, policy.rules)
                if action.rule["op"] not in WITHHOLDING_OPS
                for code in action.tags
                if rules.is_sensitive(code)
            }
        )
        if not kinds:
            continue
        ok, detail = _basis(session, grant, entry, kinds)
        records.append(
            {
                "id": f"grant:{grant.id}",
                "label": f"授权 #{grant.id}「{entry.name}」"
                f"（{'、'.join(ENTITY_LABELS.get(k, k) for k in kinds)}）",
                "ok": ok,
                "detail": detail,
            }
        )
    bad = sum(1 for r in records if not r["ok"])
    total = len(records)
    summary = (
        "期间没有提供敏感个人信息的授权。"
        if total == 0
        else f"期间提供敏感个人信息的授权 {total} 项，{total - bad} 项记录了单独同意或法定依据，"
        f"{bad} 项缺失。"
    )
    return {
        "status": _status(total - bad, bad),
        "summary": summary,
        "facts": {
            "grants_examined": examined,
            "sensitive_grants": total,
            "with_basis": total - bad,
            "without_basis": bad,
            "rules_version": rules_version,
        },
        "records": records,
    }
