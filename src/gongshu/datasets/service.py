"""Load tables into catalog entries as immutable Parquet versions; preview them.

AGG-1 (aggregation into the platform), AGG-3 (values checked against the
national identifier rules). Takes a Session, flushes, never commits. The stored
files are in place before the row is inserted; if the transaction then rolls back
they go with it (``storage.scratch``), and if the process dies first they are
orphans that ``sweep_orphans`` removes at the next start, never a half-visible
version.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.datasets.classify import classify_sample
from gongshu.datasets.errors import EntryNotLoadable, NotDataProvider, NothingRejected
from gongshu.datasets.ingest import FieldSpec, IngestResult, ingest_file
from gongshu.db import begin_write, end_reading
from gongshu.discovery.rules_store import rules_in_force
from gongshu.jobs import enqueue
from gongshu.ledger import record
from gongshu.storage.models import DatasetVersion

PREVIEW_MAX = 200


def field_specs(entry: CatalogEntry) -> list[FieldSpec]:
    return [
        FieldSpec(
            name=f["name"],
            type=f.get("type") or "string",
            kind=f.get("kind"),
            required=bool(f.get("required")),
        )
        for f in entry.fields
    ]


def _require_loader(entry: CatalogEntry, actor: User) -> None:
    if "admin" not in actor.roles and actor.org_id != entry.provider_org_id:
        raise NotDataProvider(f"只有数据提供单位可以加载此目录的数据：{entry.provider.name}")
    if entry.published_version is None:
        raise EntryNotLoadable("目录尚未审核通过，不能加载数据")


def load(
    session: Session,
    entry_id: int,
    src: Path | storage.EphemeralFile,
    *,
    actor: User,
    datasets_dir: Path,
    source_name: str | None = None,
    today: date | None = None,
) -> DatasetVersion:
    """Check and store ``src`` as the entry's next version (policy from the entry).

    Raises ``LoadRejected`` (with its report) when the policy is reject and a
    value is bad; nothing is written then. ``src`` is a file of the agency's or an
    upload kept encrypted in scratch (``datasets.uploads.spooled``).

    The converted rows go to an encrypted scratch file with a sample kept in memory;
    the sample is classified, and only then are the stored files written: the
    ordinary columns in a Parquet file, the sensitive ones sealed (SEC-9). Nothing of
    the load lies on disk in the clear, not even for a moment (issue 20 item 3).
    In a read-first session (``db.read_first_factory``: the web upload, ``gongshu
    load``) that long part runs outside any transaction, and the write lock is taken
    (``db.begin_write``) for the rows alone; the entry is checked again under it.
    """
    entry = catalog.get(session, entry_id)
    _require_loader(entry, actor)
    fields, policy = field_specs(entry), entry.load_policy
    rules, rules_version = rules_in_force(session)
    number = storage.next_number(session, entry_id)  # names the files; the row's is taken below
    end_reading(session)  # the long part touches files only, holding no lock (read-first)
    stem = f"entry-{entry.id}/v{number}-{uuid.uuid4().hex[:12]}"
    result = ingest_file(src, fields, None, policy=policy, today=today, ephemeral=datasets_dir)
    written: list[str] = []
    try:
        # read as it is written out: no pre-buffering of every row group (issue 19 item 3)
        rows = pq.ParquetFile(result.output.open(), pre_buffer=False)
        sample = result.sample if result.sample is not None else rows.schema_arrow.empty_table()
        tags, summary = classify_sample(
            sample, today=today, rules=rules, rules_version=rules_version
        )
        sealed = storage.columns_to_seal(
            entry.fields, tags, rules, [c["name"] for c in result.schema]
        )
        stored = storage.write_version(
            session, datasets_dir, stem, rows.schema_arrow, rows.iter_batches(65536), sealed
        )
        written += [stored.path] + ([stored.sealed["path"]] if stored.sealed else [])
        quarantine = None
        if result.quarantine is not None:  # rejected rows keep every column as text: sealed whole
            quarantine = storage.seal_bytes(
                datasets_dir,
                f"{stem}.quarantine.parquet",
                result.quarantine.read_bytes(),
                session=session,
            )
            written.append(quarantine)
        begin_write(session)  # the rows alone under the write lock: milliseconds
        session.refresh(entry)
        _require_loader(entry, actor)
        version = _insert(
            session, entry, stored, quarantine, result, actor, source_name or src.name
        )
        version.column_tags = tags
        version.discovery = {**summary, "mode": "sample"}
        session.flush()
        if stored.sealed:
            storage.record_sealed(session, version, actor.actor)
        # Job payloads name the version only; handlers find its files under the
        # running instance's data directory (a restored copy works at any path).
        enqueue(
            session,
            "dataset.full_scan",
            {"version_id": version.id},
            dedupe_key=f"scan:dataset_version:{version.id}",
        )
        enqueue(  # QUA-1: every version gets a quality report (gongshu.quality.jobs)
            session,
            "quality.report",
            {"version_id": version.id},
            dedupe_key=f"quality:dataset_version:{version.id}",
        )
    except BaseException:
        for rel in written:
            storage.objects.at(datasets_dir).delete(rel)
        raise
    finally:
        result.discard()
    return version


def _insert(
    session: Session,
    entry: CatalogEntry,
    stored: storage.StoredFiles,
    quarantine: str | None,
    result: IngestResult,
    actor: User,
    source_name: str,
) -> DatasetVersion:
    report = result.report
    if quarantine is not None:
        report.quarantine_file = Path(quarantine).name
    return storage.add(
        session,
        entry_id=entry.id,
        rel=Path(stored.path),
        event="dataset.loaded",
        by=actor.actor,
        payload={
            "rows": result.rows,
            "rows_rejected": report.rows_rejected,
            "sha256": result.sha256,
            "source": source_name[:255],
        },
        catalog_version_no=entry.version_no,
        source_name=source_name[:255],
        format=report.format,
        encoding=report.encoding,
        quarantine_path=quarantine,
        sealed=stored.sealed,
        rows=result.rows,
        rows_rejected=report.rows_rejected,
        bad_values_total=report.bad_values_total,
        bytes=result.bytes,
        sha256=result.sha256,
        columns=result.schema,
        report=report.to_dict(),
    )


def preview(
    session: Session,
    version_id: int,
    *,
    actor: User,
    datasets_dir: Path,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[str], list[tuple]]:
    """The provider's own view of stored rows.

    Anyone else reads dataset contents only through the egress door, with a
    grant and its masking policy (SHR-5, SEC-3): this function refuses them.
    """
    version = storage.get(session, version_id)
    entry = catalog.get(session, version.entry_id)
    if "admin" not in actor.roles and actor.org_id != entry.provider_org_id:
        raise NotDataProvider("预览原始数据仅限数据提供单位；其他单位需通过共享申请获得授权")
    limit = max(1, min(limit, PREVIEW_MAX))
    con = duckdb.connect()
    try:
        source = storage.streamed(con, datasets_dir, version)  # read as far as the page
        rel = con.execute(f"SELECT * FROM {source} LIMIT ? OFFSET ?", [limit, max(0, offset)])
        columns = [d[0] for d in rel.description]
        rows = rel.fetchall()
    finally:
        con.close()
    return columns, rows


REJECTED_HEADINGS = {"_row": "原文件行号", "_reasons": "错误原因"}


def rejected_rows(
    session: Session, version_id: int, *, actor: User, datasets_dir: Path
) -> pa.Table:
    """The rows a load set aside (quarantine), for the provider to correct and load again:
    the original file's row number and the reasons first, then the entry's fields as text.
    Its own agency's data: other units get nothing here (SEC-3)."""
    version = storage.get(session, version_id)
    entry = catalog.get(session, version.entry_id)
    if "admin" not in actor.roles and actor.org_id != entry.provider_org_id:
        raise NotDataProvider("错误行仅限数据提供单位下载")
    if not version.quarantine_path:
        raise NothingRejected("本次加载没有被隔离的错误行")
    table = storage.open_file(datasets_dir, version.quarantine_path)  # sealed whole
    return table.rename_columns([REJECTED_HEADINGS.get(n, n) for n in table.column_names])


def confirm_tags(
    session: Session, version_id: int, tags: dict[str, list[str]], *, actor: User
) -> DatasetVersion:
    """The providing agency confirms or corrects each column's entity codes (SEC-1, CAT-7).

    What the person decides is what masking and access read from then on; a later
    full scan no longer changes it.
    """
    from gongshu.entities import ENTITY_LABELS
    from gongshu.errors import InvalidField, InvalidInput
    from gongshu.timeutil import utcnow

    version = storage.get(session, version_id)
    entry = catalog.get(session, version.entry_id)
    if "admin" not in actor.roles and actor.org_id != entry.provider_org_id:
        raise NotDataProvider("只有数据提供单位可以确认识别结果")
    columns = {c["name"] for c in version.columns}
    clean: dict[str, list[str]] = {}
    by_label = {label: code for code, label in ENTITY_LABELS.items()}
    for col, given in tags.items():
        if col not in columns:
            raise InvalidInput(f"列不存在：{col}")
        # A person may type the Chinese name ("手机号码") or the code (CN_MOBILE).
        codes = [by_label.get(c.strip(), c.strip()) for c in given]
        unknown = [c for c in codes if c not in ENTITY_LABELS]
        if unknown:
            raise InvalidField(
                f"「{col}」列的实体类型无效：{'、'.join(unknown)}", field=f"tag:{col}"
            )
        clean[col] = sorted(set(codes))
    before = version.column_tags or {}
    version.column_tags = {c: clean.get(c, before.get(c, [])) for c in sorted(columns)}
    version.discovery = {
        **(version.discovery or {}),
        "confirmed_by": actor.actor,
        "confirmed_at": utcnow().isoformat(),
    }
    session.flush()
    changed = {
        c: {"from": before.get(c, []), "to": v}
        for c, v in version.column_tags.items()
        if sorted(before.get(c, [])) != v
    }
    record(
        session,
        "dataset.tags_confirmed",
        actor=actor.actor,
        subject=f"entry:{entry.id}",
        payload={"dataset_version": version.id, "changed": changed},
    )
    _regrade_from_tags(session, entry, version, actor)
    return version


def _regrade_from_tags(
    session: Session, entry: CatalogEntry, version: DatasetVersion, actor: User
) -> None:
    """Confirmed tags set the entry's grade by the rules in force (raised, never lowered)."""
    from gongshu.catalog.models import GRADE_LABELS
    from gongshu.discovery.classifier import ColumnResult, TableResult

    rules, rules_version = rules_in_force(session)
    table = TableResult(
        rows=version.rows,
        minors_under_14=bool((version.discovery or {}).get("minors_under_14")),
        columns=[
            ColumnResult(
                name=c,
                entities=list(codes),
                sensitive=any(rules.is_sensitive(e) for e in codes),
                evidence={},
            )
            for c, codes in (version.column_tags or {}).items()
        ],
    )
    rules.grade(table)
    label = GRADE_LABELS.get(table.grade or "")
    if label:
        catalog.regrade(
            session,
            entry.id,
            label,
            actor=actor,
            reason=f"按确认的敏感数据识别结果定级（分级规则第 {rules_version} 版）",
        )


def seal_existing(session: Session, *, datasets_dir: Path, by: str) -> int:
    """Seal the sensitive columns of versions stored before sealing existed (upgrades)."""
    rules, _ = rules_in_force(session)
    done = 0
    plain = select(DatasetVersion).where(DatasetVersion.sealed.is_(None))
    for version in session.scalars(plain).all():
        entry = session.get(CatalogEntry, version.entry_id)
        names = [c["name"] for c in version.columns]
        columns = storage.columns_to_seal(entry.fields, version.column_tags or {}, rules, names)
        if columns and storage.objects.at(datasets_dir).exists(version.path):
            storage.seal(session, version, columns, datasets_dir=datasets_dir, by=by)
            done += 1
    return done
