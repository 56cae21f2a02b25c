"""Quality's background jobs: the report of each new dataset version (QUA-1), and
consumers' error reports joining the providers' correction queues (QUA-3)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu.jobs import handler, instance_datasets_dir
from gongshu.quality.corrections import import_error_reports
from gongshu.quality.service import run_report
from gongshu.storage.models import DatasetVersion

REPORT = "quality.report"
ERROR_REPORTS = "quality.error_reports"  # enqueued by gongshu.exchange.reports


@handler(REPORT, label="数据质量报告")
def run_quality_report(session: Session, payload: dict) -> dict:
    if session.get(DatasetVersion, payload["version_id"]) is None:
        return {"skipped": "version gone"}
    datasets_dir = instance_datasets_dir(session, payload)
    report = run_report(session, payload["version_id"], datasets_dir=datasets_dir)
    return {"report_id": report.id, "overall": report.overall}


@handler(ERROR_REPORTS, label="共享数据问题反馈转为整改任务")
def sync_error_reports(session: Session, payload: dict) -> dict:
    """A report filed becomes a task; a report answered on the sharing pages closes it."""
    return {"added": import_error_reports(session)}
