"""Products of authorized operation: a passed sandbox result becomes a catalog entry.

A product entry (``scope = "product"``) is provided by the operator's organization
and delivered through the egress door like any entry (OPR-4): the operator's own
grant here, buyers' grants from the market.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import Organization, User
from gongshu.catalog import versions as catalog_versions
from gongshu.catalog.models import (
    FIELD_TYPE_LABELS,
    GRADE_LABELS,
    CatalogEntry,
    EntryVersion,
)
from gongshu.datasets.classify import SAMPLE_ROWS, classify_sample
from gongshu.discovery.rules_store import rules_in_force
from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.errors import InvalidField
from gongshu.ledger import record
from gongshu.operation.errors import ExportRefused, NotOperator, WrongStatus
from gongshu.operation.runs import get_run

ARROW_FIELD_TYPES = {"int": "integer", "uint": "integer", "double": "decimal", "float": "decimal"}


def _field_type(arrow_type: str) -> str:
    if arrow_type.startswith("decimal"):
        return "decimal"
    if arrow_type.startswith(("date", "timestamp")):
        return "date" if arrow_type.startswith("date") else "datetime"
    if arrow_type == "bool":
        return "boolean"
    return next((v for k, v in ARROW_FIELD_TYPES.items() if arrow_type.startswith(k)), "string")


PREVIEW_ROWS = 20


def preview(
    session: Session, run_id: int, *, actor: User, datasets_dir: Path, limit: int = PREVIEW_ROWS
) -> dict:
    """The first rows of a passed result, for the operator who ran it, with each column's
    type named as the catalog names it (the product's fields get the same types)."""
    run = get_run(session, run_id)
    if "admin" not in actor.roles and actor.org_id != run.operator_org_id:
        raise NotOperator("只有运行该查询的运营机构可以查看结果")
    if run.status != "passed" or not run.result_path:
        raise ExportRefused("只有通过披露检查的结果可以查看")
    table = storage.open_file(datasets_dir, run.result_path)  # sealed whole (runs.py)
    head = table.slice(0, limit).to_pylist()
    return {
        "columns": [
            {"name": f.name, "type": FIELD_TYPE_LABELS[_field_type(str(f.type))]}
            for f in table.schema
        ],
        "rows": [["" if v is None else v for v in row.values()] for row in head],
        "shown": len(head),
        "total": table.num_rows,
    }


def materialize_product(
    session: Session,
    run_id: int,
    *,
    actor: User,
    name: str,
    summary: str,
    datasets_dir: Path | None = None,
) -> CatalogEntry:
    """A passed result as a published product entry (scope "product") with its version.

    The provider is the operator's organization; the version is written
    atomically like a load, classified, and records the run and source entries,
    so it can be granted and delivered through egress like any entry.
    """
    if datasets_dir is None:
        from gongshu.config import Settings

        datasets_dir = Settings().datasets_dir
    run = get_run(session, run_id)
    if "admin" not in actor.roles and actor.org_id != run.operator_org_id:
        raise NotOperator("只有运行该查询的运营机构可以生成数据产品")
    if run.status != "passed" or not run.result_path:
        raise ExportRefused("只有通过披露检查的结果才能生成数据产品")
    if run.product_entry_id is not None:
        raise WrongStatus(f"该结果已生成数据产品：{run.product_entry_id}")
    missing = {
        k: f"数据产品须填写{label}"
        for k, label, value in (("name", "名称", name), ("summary", "简介", summary))
        if not (value or "").strip()
    }
    if missing:
        raise InvalidField.of(missing)
    operator = session.get(Organization, run.operator_org_id)
    result = storage.open_file(datasets_dir, run.result_path)  # sealed whole (runs.py)
    schema = result.schema
    entry = CatalogEntry(
        resource_code=f"PRD-{operator.region_code}-{run.id:06d}",
        name=name.strip(),
        summary=summary.strip(),
        provider_org_id=operator.id,
        tier=operator.region.tier,
        region_code=operator.region_code,
        fields=[
            {
                "name": f.name,
                "type": _field_type(str(f.type)),
                "description": "",
                "kind": None,
                "required": False,
            }
            for f in schema
        ],
        update_frequency="不定期",
        security_grade="一般数据-1级",
        sharing_attr="none",
        no_share_basis="授权运营数据产品，经授权交付",
        opening_attr="none",
        formats=["CSV", "JSON", "Parquet"],
        status="approved",
        version_no=1,
        published_version=1,
        provincial=False,
        scope="product",
        last_comment=f"由沙箱运行 {run.id} 生成",
    )
    entry.provider = operator
    session.add(entry)
    session.flush()
    session.add(
        EntryVersion(
            entry_id=entry.id,
            version_no=1,
            action="created",
            snapshot=catalog_versions.snapshot(entry),
            actor=actor.actor,
            comment=f"沙箱运行 {run.id} 的结果（数据产品）",
        )
    )
    rules, rules_version = rules_in_force(session)
    tags, summary_ = classify_sample(
        result.slice(0, SAMPLE_ROWS), rules=rules, rules_version=rules_version
    )
    sealed = storage.columns_to_seal(entry.fields, tags, rules, [f.name for f in schema])
    # the product's files, its sensitive columns sealed as they are written (SEC-9)
    stored = storage.write_version(
        session,
        datasets_dir,
        f"entry-{entry.id}/v1-{uuid.uuid4().hex[:12]}",
        result.schema,
        iter(result.to_batches(max_chunksize=65536)),
        sealed,
    )
    try:
        version = storage.add(
            session,
            entry_id=entry.id,
            rel=Path(stored.path),
            event="dataset.product_stored",
            by=actor.actor,
            payload={"sandbox_run": run.id, "rows": run.rows, "sha256": run.result_sha256},
            version_no=1,
            catalog_version_no=1,
            source_name=f"sandbox-run-{run.id}.parquet",
            format="parquet",
            rows=run.rows,
            bytes=stored.bytes,
            sha256=stored.sha256,  # of the stored plain file, as for a load
            columns=[{"name": f.name, "type": str(f.type)} for f in schema],
            report={"sandbox_run": run.id, "sources": run.sources, "sql": run.sql},
            column_tags=tags,
            discovery={**summary_, "mode": "sample"},
            sealed=stored.sealed,
        )
        grade = GRADE_LABELS.get(summary_.get("grade") or "")
        if grade:
            entry.security_grade = grade
        run.product_entry_id = entry.id
        session.flush()
        if stored.sealed:
            storage.record_sealed(session, version, actor.actor)
    except BaseException:
        storage.objects.at(datasets_dir).delete(stored.path)
        if stored.sealed:
            storage.objects.at(datasets_dir).delete(stored.sealed["path"])
        raise
    record(
        session,
        "operation.product_materialized",
        actor=actor.actor,
        subject=f"operator:{run.operator_org_id}",
        payload={
            "run": run.id,
            "entry": entry.id,
            "resource_code": entry.resource_code,
            "dataset_version": version.id,
            "sources": run.sources,
            "sha256": run.result_sha256,
            "rows": run.rows,
        },
    )
    return entry


def products_of(session: Session, org_id: int) -> list[CatalogEntry]:
    return list(
        session.scalars(
            select(CatalogEntry)
            .where(CatalogEntry.scope == "product", CatalogEntry.provider_org_id == org_id)
            .order_by(CatalogEntry.id.desc())
        ).unique()
    )


def product_grant(session: Session, entry: CatalogEntry, *, actor: User) -> Grant:
    """The operator's own grant on its product: how it receives the product (egress)."""
    existing = session.scalar(
        select(Grant).where(
            Grant.entry_id == entry.id,
            Grant.recipient_org_id == entry.provider_org_id,
            Grant.source == "operation",
            Grant.revoked_at.is_(None),
        )
    )
    if existing is not None:
        return existing
    return egress.create_grant(
        session,
        entry,
        recipient_org_id=entry.provider_org_id,
        purpose="授权运营数据产品交付运营机构",
        source="operation",
        actor=actor,
        policy="open",
        source_ref=f"product:{entry.id}",
    )
