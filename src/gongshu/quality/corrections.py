"""Correction tasks: one queue per provider for failed rules and consumers' reports.

QUA-1: every dataset has quality checks and a correction mechanism. A rule a
new version fails opens a task (or updates the open one) for the provider,
due after the working days the data authority of the entry's area sets (on
the working-day clock; a year with no holiday schedule leaves the deadline
empty with a warning, CLK-4). The provider closes it by loading a version
that passes (the report closes it) or by confirming the data is correct with
a reason. QUA-3: consumers' error reports from sharing join the same queue;
answering the task answers the report.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from gongshu.accounts.models import Organization, User
from gongshu.catalog.models import CatalogEntry
from gongshu.errors import InvalidInput
from gongshu.exchange.models import ErrorReport
from gongshu.exchange.supervision import area_prefix
from gongshu.ledger import record
from gongshu.quality.errors import NotAuthority, NotQualityOwner, TaskClosed, TaskNotFound
from gongshu.quality.models import CorrectionDeadline, CorrectionTask, QualityReport
from gongshu.quality.rules import DIMENSIONS, EXPECTATIONS
from gongshu.timeutil import as_utc, utcnow
from gongshu.workdays import ClockSpec, Period, start_clock
from gongshu.workdays import overdue as overdue_of

NO_DEADLINE = "数据管理部门尚未设定整改期限"


def set_deadline(session: Session, workdays: int, *, actor: User) -> CorrectionDeadline:
    """The data authority sets how many working days providers in its area have (QUA-1)."""
    if actor.org is None or actor.org.kind != "data_authority":
        raise NotAuthority("只有数据管理部门可以设定整改期限")
    if not isinstance(workdays, int) or not 1 <= workdays <= 60:
        raise InvalidInput("整改期限须为 1 到 60 个工作日")
    row = session.get(CorrectionDeadline, actor.org.region_code)
    if row is None:
        row = CorrectionDeadline(region_code=actor.org.region_code, workdays=workdays, set_by="")
        session.add(row)
    row.workdays, row.set_by, row.set_at = workdays, actor.actor, utcnow()
    session.flush()
    record(
        session,
        "quality.deadline_set",
        actor=actor.actor,
        subject=f"region:{actor.org.region_code}",
        payload={"workdays": workdays},
    )
    return row


def workdays_for(session: Session, region_code: str) -> int | None:
    """The nearest setting: the entry's own region, then its city, then its province."""
    for code in (region_code, region_code[:4] + "00", region_code[:2] + "0000"):
        row = session.get(CorrectionDeadline, code)
        if row is not None:
            return row.workdays
    return None


def _period(session: Session, task: CorrectionTask) -> Period | None:
    entry = session.get(CatalogEntry, task.entry_id)
    days = workdays_for(session, entry.region_code) if entry is not None else None
    return None if days is None else Period(workdays=days)


def _started(task: CorrectionTask) -> dt.datetime | None:
    if task.error_report_id is None:
        return task.created_at
    report = object_session(task).get(ErrorReport, task.error_report_id)
    return as_utc(report.reported_at) if report is not None else None


def _provider_in(area: str):  # noqa: ANN202
    return CorrectionTask.provider_org_id.in_(
        select(Organization.id).where(Organization.region_code.startswith(area))
    )


CORRECTION = ClockSpec(
    name="quality_task",
    model=CorrectionTask,
    start=_started,
    deadline="deadline",
    warning="deadline_warning",
    period=_period,
    basis="数据管理部门设定的整改工作日数",
    what="整改期限",
    no_period=NO_DEADLINE,
    status="status",
    open_statuses=("open",),
    terminal=("fixed", "confirmed"),
    # A task opened before the authority set a period keeps none (QUA-1); only the
    # ones a missing holiday schedule held up are filled in later (CLK-4).
    fill_when=lambda: CorrectionTask.deadline_warning.is_distinct_from(NO_DEADLINE),
    region=_provider_in,
    action="quality.deadline_computed",
    subject=lambda task: f"quality_task:{task.id}",
)

CLOCKS = (CORRECTION,)


def sync_with_report(session: Session, entry: CatalogEntry, report: QualityReport) -> None:
    """Open or update a task per failed rule; close the open ones the version now passes."""
    now = utcnow()
    open_tasks = {
        t.rule_id: t
        for t in session.scalars(
            select(CorrectionTask).where(
                CorrectionTask.entry_id == entry.id,
                CorrectionTask.source == "rule",
                CorrectionTask.status == "open",
            )
        )
    }
    confirmed = {
        t.rule_id: t.failed
        for t in session.scalars(
            select(CorrectionTask).where(
                CorrectionTask.entry_id == entry.id, CorrectionTask.status == "confirmed"
            )
        )
    }
    for result in report.results:
        task = open_tasks.pop(result["id"], None)
        if result["passed"]:
            if task is not None:
                _close(
                    session,
                    task,
                    "fixed",
                    "system:quality",
                    f"第 {report.version_no} 版数据已通过该规则",
                )
            continue
        if task is None and result["failed"] <= confirmed.get(result["id"], -1):
            continue  # the provider confirmed these values are right
        label = EXPECTATIONS[result["expectation"]][1]
        text = f"{DIMENSIONS[result['dimension']]}：{result['column'] or '整表'} · {label}"
        if result.get("detail"):
            text += f"（{result['detail']}）"
        if task is None:
            task = CorrectionTask(
                entry_id=entry.id,
                provider_org_id=entry.provider_org_id,
                source="rule",
                rule_id=result["id"],
                dimension=result["dimension"],
                field=result["column"],
                description=text,
                opened_version_no=report.version_no,
                created_at=now,
            )
            due = start_clock(session, CORRECTION, task)
            session.add(task)
            session.flush()
            record(
                session,
                "quality.task_opened",
                actor="system:quality",
                subject=f"quality_task:{task.id}",
                payload={"entry": entry.id, "rule": result["id"], "deadline": due},
            )
        task.description, task.failed = text, result["failed"]
        task.examples, task.report_id = result["examples"], report.id
    for task in open_tasks.values():  # the rule was removed or no longer applies
        _close(session, task, "fixed", "system:quality", f"第 {report.version_no} 版不再检查该规则")
    session.flush()


def _close(session: Session, task: CorrectionTask, status: str, by: str, reason: str) -> None:
    """``by``: the ledger name of who closed it (a user, the quality run, or the error
    report's answerer as stored on the report)."""
    task.status, task.reason, task.closed_at, task.closed_by = status, reason, utcnow(), by
    session.flush()
    record(
        session,
        "quality.task_closed",
        actor=by,
        subject=f"quality_task:{task.id}",
        payload={"status": status, "reason": reason},
    )


def import_error_reports(session: Session) -> int:
    """Consumers' open error reports (QUA-3) become tasks in the provider's queue."""
    have = set(
        session.scalars(
            select(CorrectionTask.error_report_id).where(
                CorrectionTask.error_report_id.is_not(None)
            )
        )
    )
    added = 0
    for rep in session.scalars(select(ErrorReport).where(ErrorReport.status == "open")):
        if rep.id in have:
            continue
        task = CorrectionTask(
            entry_id=rep.entry_id,
            provider_org_id=rep.provider_org_id,
            source="error_report",
            field=rep.field,
            description=f"{rep.reporter_org.name}反馈：{rep.row_description}；{rep.description}",
            error_report_id=rep.id,
        )
        session.add(task)
        start_clock(session, CORRECTION, task)
        added += 1
    # a report answered on the sharing pages closes its task
    for task in session.scalars(
        select(CorrectionTask).where(
            CorrectionTask.source == "error_report", CorrectionTask.status == "open"
        )
    ):
        rep = session.get(ErrorReport, task.error_report_id)
        if rep is not None and rep.status != "open":
            status = "fixed" if rep.status == "corrected" else "confirmed"
            _close(session, task, status, rep.answered_by or "system", rep.answer or "")
    session.flush()
    return added


def get_task(session: Session, task_id: int) -> CorrectionTask:
    task = session.get(CorrectionTask, task_id)
    if task is None:
        raise TaskNotFound(f"整改任务不存在：{task_id}")
    return task


def resolve(
    session: Session, task_id: int, *, actor: User, status: str, reason: str
) -> CorrectionTask:
    """The provider confirms the data correct (``confirmed``) or, for a consumer's
    report, says it was corrected (``fixed``); both need a reason (QUA-1, QUA-3)."""
    task = get_task(session, task_id)
    if actor.org_id != task.provider_org_id and "admin" not in actor.roles:
        raise NotQualityOwner("只有数据提供单位可以处理整改任务")
    if task.status != "open":
        raise TaskClosed("该整改任务已关闭")
    if status not in ("confirmed", "fixed"):
        raise InvalidInput(f"处理结论无效：{status}")
    if status == "fixed" and task.source == "rule":
        raise InvalidInput("规则发现的问题须加载更正后的新版本数据，通过检查后自动关闭")
    if not (reason or "").strip():
        raise InvalidInput("请填写核实情况说明")
    if task.source == "error_report":
        from gongshu.exchange.reports import answer_error

        answer_error(
            session,
            task.error_report_id,
            actor=actor,
            status="corrected" if status == "fixed" else "not_error",
            answer=reason.strip(),
        )
    _close(session, task, status, actor.actor, reason.strip())
    return task


def queue(session: Session, actor: User) -> list[CorrectionTask]:
    """The provider's tasks, open first, oldest deadline first. Reads only: consumers'
    reports join it when filed or answered (the ``quality.error_reports`` job)."""
    if actor.org_id is None:
        return []
    tasks = session.scalars(
        select(CorrectionTask).where(CorrectionTask.provider_org_id == actor.org_id)
    )
    return sorted(
        tasks,
        key=lambda t: (t.status != "open", t.deadline is None, t.deadline or t.created_at, t.id),
    )


def overdue(session: Session, actor: User, now: dt.datetime | None = None) -> list[CorrectionTask]:
    """Open tasks past their deadline in the authority's area (GOV-2)."""
    if actor.org is None:
        return []
    area = None if "admin" in actor.roles else area_prefix(actor.org)
    return overdue_of(session, CORRECTION, now, area=area)
