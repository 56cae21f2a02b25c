"""The administrator's view of the background jobs: what is queued, running, done or
failed, with live progress (while any job is queued or running the page fetches
itself again every few seconds and swaps in its jobs section, gongshu.js)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import JOBS_READ
from gongshu.errors import InvalidInput
from gongshu.jobs.models import ACTIVE, FAILED, RUNNING, STATUSES, Job
from gongshu.jobs.service import counts
from gongshu.jobs.worker import label_of
from gongshu.timeutil import as_utc, beijing, utcnow
from gongshu.web.deps import SessionDep
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)

SHOWN = 100  # newest jobs on the page
STATUS_LABELS = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}
STATUS_TAGS = {"queued": "pending", "running": "info", "done": "ok", "failed": "warn"}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _reason(job: Job) -> str:
    """Why a job failed or is being retried, in words an administrator reads: the
    domain's Chinese message; a technical error only as where to look."""
    if not job.error:
        return ""
    text = job.error.split(": ", 1)[1] if ": " in job.error else job.error
    if _CJK.search(text):
        return text
    return "处理出错，技术详情见工作进程日志"


def _row(job: Job, now: datetime) -> dict[str, Any]:
    status = job.status
    note = ""
    if status == RUNNING and job.locked_at is not None:
        note = f"已运行 {max(0, int((now - as_utc(job.locked_at)).total_seconds()))} 秒"
    elif status == "queued" and job.attempts:
        note = f"将于 {beijing(job.run_after)} 重试"
    return {
        "id": job.id,
        "label": label_of(job.kind),
        "status": status,
        "status_label": STATUS_LABELS.get(status, "未知"),
        "tag": STATUS_TAGS.get(status, "pending"),
        "attempts": f"{job.attempts}/{job.max_attempts}",
        "created": beijing(job.created_at),
        "finished": beijing(job.finished_at),
        "note": note,
        "reason": _reason(job) if status in (FAILED, "queued") else "",
    }


def jobs_view(session: Session, status: str | None) -> dict[str, Any]:
    """The newest jobs (of one status, or all) and the number in each status."""
    if status and status not in STATUSES:
        raise InvalidInput("未知的任务状态")
    query = select(Job).order_by(Job.id.desc()).limit(SHOWN)
    if status:
        query = query.where(Job.status == status)
    now = utcnow()
    rows = [_row(job, now) for job in session.scalars(query)]
    tally = counts(session)
    return {
        "rows": rows,
        "counts": tally,
        "active": sum(tally[s] for s in ACTIVE),
    }


@pages.get("/admin/jobs")
def jobs_page(
    request: Request,
    session: SessionDep,
    _: Annotated[User, requires(JOBS_READ)],
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    view = jobs_view(session, status or None)
    return render(
        request,
        "jobs.html",
        view=view,
        status=status or "",
        statuses=STATUS_LABELS,
        shown=SHOWN,
    )
