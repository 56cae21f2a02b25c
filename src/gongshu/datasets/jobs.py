"""Background work on dataset versions (DESIGN.md "Jobs", mechanism 4).

At load a sample classifies the version at once, so the egress door can work
immediately; this job then scans every row and widens the tags if the full
scan finds what the sample missed (the stricter result wins). A version with
the same content hash as one already scanned reuses that result.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.datasets.classify import full_scan
from gongshu.db import begin_write
from gongshu.discovery.rules_store import rules_in_force
from gongshu.jobs import handler, instance_datasets_dir
from gongshu.ledger import record
from gongshu.storage.models import DatasetVersion

FULL_SCAN = "dataset.full_scan"


# The scan reads for seconds: no write lock meanwhile.
@handler(FULL_SCAN, read_first=True, label="敏感数据全量识别")
def run_full_scan(session: Session, payload: dict) -> dict:
    version = session.get(DatasetVersion, payload["version_id"])
    if version is None:
        return {"skipped": "version gone"}
    twin = session.scalar(
        select(DatasetVersion)
        .where(DatasetVersion.sha256 == version.sha256, DatasetVersion.id != version.id)
        .order_by(DatasetVersion.id)
    )
    if twin is not None and (twin.discovery or {}).get("mode") == "full":
        result, reused = dict(twin.discovery), twin.id
    else:
        rules, rules_version = rules_in_force(session)
        datasets_dir = instance_datasets_dir(session, payload)
        result = full_scan(datasets_dir, version, rules=rules, rules_version=rules_version)
        reused = None
    begin_write(session)
    session.refresh(version)  # tags a person confirmed during the scan win (merge_full_scan)
    merge_full_scan(version, result)
    session.flush()
    record(
        session,
        "dataset.scanned",
        actor="system:discovery",
        subject=f"entry:{version.entry_id}",
        payload={
            "dataset_version": version.id,
            "rows": result.get("rows"),
            "grade": (result.get("grading") or {}).get("grade"),
            "reused": reused,
        },
    )
    return {"version_id": version.id, "reused": reused}


def merge_full_scan(version: DatasetVersion, result: dict) -> None:
    """Keep the full result; a confirmed tag set stays as the person decided it."""
    tags = {k: list(v) for k, v in (version.column_tags or {}).items()}
    confirmed = bool((version.discovery or {}).get("confirmed_by"))
    if not confirmed:
        for col in result.get("columns", []):
            merged = sorted(set(tags.get(col["name"], [])) | set(col["entities"]))
            tags[col["name"]] = merged
        version.column_tags = tags
    previous = version.discovery or {}
    version.discovery = {
        **result,
        "sample": previous.get("sample", previous),
        "confirmed_by": previous.get("confirmed_by"),
        "confirmed_at": previous.get("confirmed_at"),
    }
