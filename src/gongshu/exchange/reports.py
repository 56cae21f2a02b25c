"""Error reports on shared data (QUA-3) and effect reports (SHR-6).

QUA-3 (NX art. 25): the consumer reports an error "within 5 working days of
finding it"; the provider "verifies and replies promptly". The regulation puts
the 5-day duty on the consumer but does not bar a later report, so a late
report is accepted and marked late rather than refused. "Promptly" sets no
number of days, so an unanswered report has no computed deadline; it stays
on the provider's queue and the authority's supervision page until answered.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.egress.models import Grant
from gongshu.errors import InvalidInput
from gongshu.exchange.errors import ErrorReportNotFound, NotApplicant, NotProvider, WrongStatus
from gongshu.exchange.models import ERROR_STATUSES, EffectReport, ErrorReport
from gongshu.exchange.service import get as get_application
from gongshu.jobs import enqueue
from gongshu.ledger import record
from gongshu.timeutil import as_utc, utcnow
from gongshu.workdays import Calendar, ScheduleMissing

REPORT_WORKDAYS = 5  # QUA-3
# The providers' correction queues take reports in as tasks (gongshu.quality.jobs).
QUALITY_SYNC = "quality.error_reports"


def _tell_quality(session: Session, report: ErrorReport) -> None:
    key = f"{QUALITY_SYNC}:{report.id}:{report.status}"
    enqueue(session, QUALITY_SYNC, {"error_report": report.id}, dedupe_key=key)


def report_error(
    session: Session,
    entry_id: int,
    *,
    actor: User,
    field: str | None,
    row_description: str,
    description: str,
    found_at: dt.datetime,
    now: dt.datetime | None = None,
) -> ErrorReport:
    """A consumer agency holding a sharing grant on the entry reports an error (QUA-3)."""
    now = as_utc(now) if now else utcnow()
    entry = catalog.get(session, entry_id)
    if actor.org_id is None:
        raise NotApplicant("只有获取过共享数据的单位可以反馈数据错误")
    holds = session.scalar(
        select(Grant.id)
        .where(
            Grant.entry_id == entry.id,
            Grant.recipient_org_id == actor.org_id,
            Grant.source == "sharing",
        )
        .limit(1)
    )
    if holds is None:
        raise NotApplicant(f"本单位未通过共享获取“{entry.name}”，不能反馈其数据错误")
    field = (field or "").strip() or None
    if field is not None and field not in [f["name"] for f in entry.fields]:
        raise InvalidInput(f"字段“{field}”不在目录“{entry.name}”中")
    if not (row_description or "").strip() or not (description or "").strip():
        raise InvalidInput("请说明出错的数据行和错误情况")
    found_at = as_utc(found_at)
    if found_at > now:
        raise InvalidInput("发现时间不能晚于当前时间")
    try:
        due = Calendar(session).deadline(found_at, REPORT_WORKDAYS)
    except ScheduleMissing:  # CLK-4: not guessed; lateness stays unknown
        due = None
    report = ErrorReport(
        entry_id=entry.id,
        provider_org_id=entry.provider_org_id,
        reporter_org_id=actor.org_id,
        reporter_user_id=actor.id,
        field=field,
        row_description=row_description.strip(),
        description=description.strip(),
        found_at=found_at,
        reported_at=now,
        report_due=due,
        late=None if due is None else now >= due,
    )
    session.add(report)
    session.flush()
    record(
        session,
        "sharing.error_reported",
        actor=actor.actor,
        subject=f"error_report:{report.id}",
        payload={
            "entry": entry.id,
            "field": field,
            "found_at": found_at,
            "report_due": due,
            "late": report.late,
        },
    )
    _tell_quality(session, report)
    return report


def get_report(session: Session, report_id: int) -> ErrorReport:
    report = session.get(ErrorReport, report_id)
    if report is None:
        raise ErrorReportNotFound(f"数据错误反馈不存在：{report_id}")
    return report


def answer_error(
    session: Session, report_id: int, *, actor: User, status: str, answer: str
) -> ErrorReport:
    """The provider verifies and replies: ``corrected`` or ``not_error``, with text (QUA-3)."""
    report = get_report(session, report_id)
    if actor.org_id != report.provider_org_id:
        raise NotProvider("只有数据提供单位可以答复数据错误反馈")
    if report.status != "open":
        raise WrongStatus("该反馈已答复")
    if status not in ERROR_STATUSES[1:]:
        raise InvalidInput(f"答复结论必须是“已更正”或“经核实无误”，收到 {status!r}")
    if not (answer or "").strip():
        raise InvalidInput("请填写核实情况说明")
    report.status, report.answer = status, answer.strip()
    report.answered_at, report.answered_by = utcnow(), actor.actor
    session.flush()
    record(
        session,
        "sharing.error_answered",
        actor=actor.actor,
        subject=f"error_report:{report.id}",
        payload={"status": status, "answer": report.answer},
    )
    _tell_quality(session, report)
    return report


def errors_to_answer(session: Session, actor: User) -> list[ErrorReport]:
    if actor.org_id is None:
        return []
    stmt = select(ErrorReport).where(
        ErrorReport.provider_org_id == actor.org_id, ErrorReport.status == "open"
    )
    return list(session.scalars(stmt.order_by(ErrorReport.reported_at)))


def errors_reported(session: Session, actor: User) -> list[ErrorReport]:
    if actor.org_id is None:
        return []
    stmt = select(ErrorReport).where(ErrorReport.reporter_org_id == actor.org_id)
    return list(session.scalars(stmt.order_by(ErrorReport.reported_at.desc())))


def report_effect(
    session: Session,
    application_id: int,
    *,
    actor: User,
    text: str,
    metrics: dict | None = None,
) -> EffectReport:
    """The applicant agency reports what an approved application achieved (SHR-6)."""
    app = get_application(session, application_id)
    if actor.org_id != app.applicant_org_id:
        raise NotApplicant("只有申请单位可以报告应用成效")
    if app.status != "approved":
        raise WrongStatus("只有已同意共享的申请可以报告应用成效")
    if not (text or "").strip():
        raise InvalidInput("请填写应用成效")
    clean = {}
    for key, value in (metrics or {}).items():
        if not str(key).strip():
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidInput(f"成效指标“{key}”的值必须是数字或文字")
        clean[str(key).strip()] = value
    report = EffectReport(
        application_id=app.id, reporter_user_id=actor.id, text=text.strip(), metrics=clean
    )
    session.add(report)
    session.flush()
    record(
        session,
        "sharing.effect_reported",
        actor=actor.actor,
        subject=f"application:{app.id}",
        payload={"effect_report": report.id, "text": report.text, "metrics": clean},
    )
    return report


def effects_of(session: Session, application_id: int) -> list[EffectReport]:
    stmt = select(EffectReport).where(EffectReport.application_id == application_id)
    return list(session.scalars(stmt.order_by(EffectReport.reported_at)))
