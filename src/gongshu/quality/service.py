"""Quality rules per entry and the quality report of each dataset version (QUA-1, QUA-5).

Takes a Session, flushes, never commits. The report runs as a background job
enqueued at load (``quality.jobs``); failing-row examples are masked with the open-data
policy before they are stored, so no raw identifier is
ever kept in a report or shown on a page.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.egress.examples import mask_examples
from gongshu.egress.policies import get_policy
from gongshu.egress.versions import column_tags
from gongshu.ledger import record
from gongshu.quality import engine
from gongshu.quality.errors import NotQualityOwner, ReportNotFound
from gongshu.quality.models import QualityReport, QualityRuleSet
from gongshu.quality.rules import DIMENSIONS, default_rules, validate
from gongshu.storage.models import DatasetVersion
from gongshu.timeutil import as_utc

MASK_POLICY = "open"  # personal information never in the clear (as open data, OPN-2)


def current_rules(session: Session, entry_id: int) -> QualityRuleSet | None:
    return session.scalar(
        select(QualityRuleSet)
        .where(QualityRuleSet.entry_id == entry_id)
        .order_by(QualityRuleSet.version_no.desc())
        .limit(1)
    )


def rule_history(session: Session, entry_id: int) -> list[QualityRuleSet]:
    return list(
        session.scalars(
            select(QualityRuleSet)
            .where(QualityRuleSet.entry_id == entry_id)
            .order_by(QualityRuleSet.version_no.desc())
        )
    )


def ensure_rules(
    session: Session, entry: CatalogEntry, version: DatasetVersion | None, datasets_dir: Path | None
) -> QualityRuleSet:
    """The rules in force; the defaults are generated (and recorded) the first time."""
    current = current_rules(session, entry.id)
    if current is not None:
        return current
    tags = (version.column_tags or {}) if version is not None else {}
    distinct = {}
    if version is not None and datasets_dir is not None:
        distinct = engine.profile_distinct((datasets_dir, version), entry.fields)
    rules = default_rules(
        entry.fields, tags, update_frequency=entry.update_frequency, distinct=distinct
    )
    return _new_rules(
        session, entry, rules, by="system:quality", reason="按目录字段和识别结果生成默认规则"
    )


def _new_rules(
    session: Session, entry: CatalogEntry, rules: list[dict], *, by: str, reason: str
) -> QualityRuleSet:
    current = current_rules(session, entry.id)
    ruleset = QualityRuleSet(
        entry_id=entry.id,
        version_no=(current.version_no if current else 0) + 1,
        rules=rules,
        actor=by,
        reason=reason,
    )
    session.add(ruleset)
    session.flush()
    record(
        session,
        "quality.rules_set",
        actor=by,
        subject=f"entry:{entry.id}",
        payload={"version": ruleset.version_no, "rules": rules, "reason": reason},
    )
    return ruleset


def can_manage(entry: CatalogEntry, actor: User) -> bool:
    return "admin" in actor.roles or actor.org_id == entry.provider_org_id


def update_rules(
    session: Session, entry_id: int, rules: list[dict], *, actor: User, reason: str
) -> QualityRuleSet:
    """The providing agency edits its entry's rules: a new version, in the ledger (QUA-1)."""
    entry = catalog.get(session, entry_id)
    if not can_manage(entry, actor):
        raise NotQualityOwner("只有数据提供单位可以修改质量规则")
    clean = validate(rules, {f["name"] for f in entry.fields})
    return _new_rules(session, entry, clean, by=actor.actor, reason=(reason or "").strip())


def run_report(session: Session, version_id: int, *, datasets_dir: Path) -> QualityReport:
    """Check a version against the rules in force and store the masked report."""
    from gongshu.quality import corrections

    version = session.get(DatasetVersion, version_id)
    existing = session.scalar(
        select(QualityReport).where(QualityReport.dataset_version_id == version_id)
    )
    if existing is not None:
        return existing
    entry = catalog.get(session, version.entry_id)
    ruleset = ensure_rules(session, entry, version, datasets_dir)
    previous = session.scalar(
        select(DatasetVersion.created_at)
        .where(DatasetVersion.entry_id == entry.id, DatasetVersion.version_no < version.version_no)
        .order_by(DatasetVersion.version_no.desc())
        .limit(1)
    )
    started = time.perf_counter()
    loaded_at = as_utc(version.created_at)
    rows, results = engine.evaluate(
        (datasets_dir, version),
        ruleset.rules,
        fields=entry.fields,
        today=loaded_at.date(),
        loaded_at=loaded_at,
        previous_loaded_at=as_utc(previous) if previous else None,
        references=_references(session, ruleset.rules, datasets_dir),
    )
    masker = _masker(session, entry, version)
    out = []
    for res in results:
        d = res.to_dict()
        d["examples"] = masker(d["examples"])
        out.append(d)
    scores = score(out)
    report = QualityReport(
        entry_id=entry.id,
        dataset_version_id=version.id,
        version_no=version.version_no,
        rules_version=ruleset.version_no,
        rows=rows,
        results=out,
        scores=scores,
        overall=scores.get("overall", 100.0),
        seconds=round(time.perf_counter() - started, 3),
    )
    session.add(report)
    session.flush()
    record(
        session,
        "quality.reported",
        actor="system:quality",
        subject=f"entry:{entry.id}",
        payload={
            "dataset_version": version.id,
            "rules_version": ruleset.version_no,
            "scores": scores,
            "failed_rules": [r["id"] for r in out if not r["passed"]],
        },
    )
    corrections.sync_with_report(session, entry, report)
    return report


def score(results: list[dict]) -> dict:
    """Per dimension the mean pass rate (0..100); overall the mean of the dimensions."""
    by_dim: dict[str, list[float]] = {}
    for r in results:
        by_dim.setdefault(r["dimension"], []).append(r["pass_rate"])
    scores = {d: round(100 * sum(v) / len(v), 2) for d, v in by_dim.items() if v}
    dims = [scores[d] for d in DIMENSIONS if d in scores]
    scores = {d: scores[d] for d in DIMENSIONS if d in scores}
    scores["overall"] = round(sum(dims) / len(dims), 2) if dims else 100.0
    return scores


def _references(
    session: Session, rules: list[dict], datasets_dir: Path
) -> dict[int, engine.Reference]:
    refs = {}
    for rule in rules:
        ref_id = rule.get("ref_entry_id")
        if rule["expectation"] != "expect_column_values_to_match_reference" or not ref_id:
            continue
        latest = storage.newest(session, int(ref_id))
        if latest is not None:
            refs[int(ref_id)] = engine.Reference(
                (datasets_dir, latest), {c["name"] for c in latest.columns}
            )
    return refs


def _masker(session: Session, entry: CatalogEntry, version: DatasetVersion):  # noqa: ANN202
    """Mask example rows by the open-data policy and the column tags (SEC-3)."""
    rules = get_policy(session, MASK_POLICY).rules
    tags = column_tags(entry, version) if version.column_tags is not None else {}
    key = os.urandom(32)  # pseudonyms in examples need not be linkable across reports

    def mask(examples: list[dict]) -> list[dict]:
        if not examples:
            return []
        cols = [c for c in examples[0] if c != "gs_row"]
        data = {
            c: [str(e.get(c)) if e.get(c) is not None else None for e in examples] for c in cols
        }
        batch = pa.RecordBatch.from_pydict({c: pa.array(v, pa.string()) for c, v in data.items()})
        masked = mask_examples(batch, tags, rules, key=key, purpose="quality-example").to_pylist()
        return [{"row": e.get("gs_row"), **m} for e, m in zip(examples, masked, strict=True)]

    return mask


def reports_of(session: Session, entry_id: int) -> list[QualityReport]:
    return list(
        session.scalars(
            select(QualityReport)
            .where(QualityReport.entry_id == entry_id)
            .order_by(QualityReport.version_no)
        )
    )


def get_report(session: Session, report_id: int) -> QualityReport:
    report = session.get(QualityReport, report_id)
    if report is None:
        raise ReportNotFound(f"质量报告不存在：{report_id}")
    return report


def trend(session: Session, entry_id: int) -> list[dict]:
    """Scores per dataset version, oldest first, for the entry page's chart."""
    return [
        {"version": r.version_no, "overall": r.overall, **{d: r.scores.get(d) for d in DIMENSIONS}}
        for r in reports_of(session, entry_id)
    ]


def latest_scores(session: Session) -> dict[int, float]:
    """entry id -> overall score of its newest report."""
    out: dict[int, tuple[int, float]] = {}
    for entry_id, version_no, overall in session.execute(
        select(QualityReport.entry_id, QualityReport.version_no, QualityReport.overall)
    ):
        if entry_id not in out or version_no > out[entry_id][0]:
            out[entry_id] = (version_no, overall)
    return {k: v[1] for k, v in out.items()}
