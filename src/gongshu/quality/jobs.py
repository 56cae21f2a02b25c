"""The quality report of each new dataset version, as a background job (QUA-1)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu.jobs import handler, instance_datasets_dir
from gongshu.quality.service import run_report
from gongshu.storage.models import DatasetVersion

REPORT = "quality.report"


@handler(REPORT)
def run_quality_report(session: Session, payload: dict) -> dict:
    if session.get(DatasetVersion, payload["version_id"]) is None:
        return {"skipped": "version gone"}
    datasets_dir = instance_datasets_dir(session, payload)
    report = run_report(session, payload["version_id"], datasets_dir=datasets_dir)
    return {"report_id": report.id, "overall": report.overall}
