"""One version lifecycle: the newest version of an entry, the next number, a version
derived inside the platform, supersession, and the start-up sweep of orphans.

Every package that needs "the newest version of an entry" asks ``newest`` (or
``newest_ids`` for many entries at once); nothing else writes that query.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from gongshu.errors import NotFound
from gongshu.ledger import record
from gongshu.storage import objects, scratch
from gongshu.storage.atomic import sweep_temp_files
from gongshu.storage.models import DatasetVersion

ERASURE = "erasure"


class DatasetNotFound(NotFound): ...


def get(session: Session, version_id: int) -> DatasetVersion:
    version = session.get(DatasetVersion, version_id)
    if version is None:
        raise DatasetNotFound(f"数据版本不存在：{version_id}")
    return version


def versions_of(session: Session, entry_id: int) -> list[DatasetVersion]:
    """Every version of the entry, newest first."""
    return list(
        session.scalars(
            select(DatasetVersion)
            .where(DatasetVersion.entry_id == entry_id)
            .order_by(DatasetVersion.version_no.desc())
        )
    )


# built once: the open API asks this on every call (SQLAlchemy caches its compilation)
_NEWEST = (
    select(DatasetVersion)
    .where(DatasetVersion.entry_id == bindparam("entry"))
    .order_by(DatasetVersion.version_no.desc())
    .limit(1)
)


def newest(session: Session, entry_id: int) -> DatasetVersion | None:
    """The entry's newest version, or None when it has none."""
    return session.scalar(_NEWEST, {"entry": entry_id})


def newest_numbers() -> Select:
    """``(entry_id, version_no)`` of every entry's newest version, as a subquery to join."""
    return select(
        DatasetVersion.entry_id, func.max(DatasetVersion.version_no).label("version_no")
    ).group_by(DatasetVersion.entry_id)


def newest_versions(entry_ids: list[int] | None = None) -> Select:
    """``SELECT DatasetVersion`` of every entry's newest version (of ``entry_ids`` only,
    when given; add your own WHERE)."""
    numbers = newest_numbers()
    if entry_ids is not None:
        numbers = numbers.where(DatasetVersion.entry_id.in_(entry_ids))
    latest = numbers.subquery()
    return select(DatasetVersion).join(
        latest,
        (DatasetVersion.entry_id == latest.c.entry_id)
        & (DatasetVersion.version_no == latest.c.version_no),
    )


def next_number(session: Session, entry_id: int) -> int:
    return (
        session.scalar(
            select(func.max(DatasetVersion.version_no)).where(DatasetVersion.entry_id == entry_id)
        )
        or 0
    ) + 1


def add(
    session: Session,
    *,
    entry_id: int,
    rel: Path,
    event: str,
    by: str,
    payload: dict,
    **fields: object,
) -> DatasetVersion:
    """The one way a version row comes to be: its file (``rel``, already written
    atomically under the datasets directory) and its row, recorded in the ledger as
    ``event`` in the same transaction, done ``by`` (the ledger's actor: ``user.actor`` or a
    channel such as ``"system:keys"``). ``fields`` are the version's other columns;
    the number is the entry's next unless given."""
    fields.setdefault("version_no", next_number(session, entry_id))
    version = DatasetVersion(entry_id=entry_id, path=rel.as_posix(), loaded_by=by, **fields)
    session.add(version)
    session.flush()
    record(
        session,
        event,
        actor=by,
        subject=f"entry:{entry_id}",
        payload={"dataset_version": version.id, "version_no": version.version_no, **payload},
    )
    return version


def derive(
    session: Session,
    source: DatasetVersion,
    rel: Path,
    *,
    rows: int,
    size: int,
    sha256: str,
    by: str,
    reason: str,
) -> DatasetVersion:
    """A new version of ``source``'s entry, derived from it inside the platform (the
    file at ``rel`` already written atomically): same columns, tags and discovery.

    Used when rows are deleted or corrected on a person's request (PIP-5, PIP-6).
    """
    return add(
        session,
        entry_id=source.entry_id,
        rel=rel,
        event="dataset.derived",
        by=by,
        payload={
            "from_version": source.version_no,
            "rows": rows,
            "sha256": sha256,
            "reason": reason,
        },
        catalog_version_no=source.catalog_version_no,
        source_name=f"v{source.version_no}（{reason}）"[:255],
        format="parquet",
        encoding=None,
        rows=rows,
        bytes=size,
        sha256=sha256,
        columns=list(source.columns),
        report={"derived_from": source.id, "reason": reason},
        column_tags=dict(source.column_tags) if source.column_tags is not None else None,
        discovery=dict(source.discovery) if source.discovery is not None else None,
    )


def supersede(session: Session, entry_id: int, *, up_to: int, by: DatasetVersion) -> int:
    """Mark every version of the entry up to ``up_to`` as superseded by an erasure
    (PIP-4, PIP-6): recorded on the versions themselves, so choosing the version to
    serve needs nothing but the version row."""
    result = session.execute(
        update(DatasetVersion)
        .where(
            DatasetVersion.entry_id == entry_id,
            DatasetVersion.version_no <= up_to,
            DatasetVersion.superseded_by_id.is_(None),
        )
        .values(superseded_by_id=by.id, superseded_reason=ERASURE)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return result.rowcount or 0


def superseded_by_erasure(version: DatasetVersion) -> bool:
    return version.superseded_reason == ERASURE


def sweep_orphans(session: Session, datasets_dir: Path) -> int:
    """Remove what dead processes left: their scratch directories (whatever their age),
    and stored files no version row refers to and no live process has just placed.

    Called at start-up. A load still running in another process (a second server
    process, ``gongshu worker``, a CLI load) keeps its files: its scratch directory is
    locked, and the files it renamed into place are in its journal until its
    transaction ends (``storage.scratch``). The journal is read before the rows, so a
    file whose journal entry went has a committed row by then.
    """
    removed = sweep_temp_files(datasets_dir)
    store = objects.at(datasets_dir)
    if not store.remote and not datasets_dir.is_dir():
        return removed
    placed = scratch.live_placements(datasets_dir)
    known = set(session.scalars(select(DatasetVersion.path)))
    known |= {q for q in session.scalars(select(DatasetVersion.quarantine_path)) if q}
    known |= {
        s["path"] for s in session.scalars(select(DatasetVersion.sealed)) if s and s.get("path")
    }
    if store.remote:  # objects: every stored file of an entry, by listing
        for rel in store.list():
            if not _stored_name(rel) or rel in known or Path(store.uri(rel)) in placed:
                continue
            store.delete(rel)
            removed += 1
        return removed + objects.remove_cache(datasets_dir, known)
    stored = [*datasets_dir.glob("entry-*/*.parquet"), *datasets_dir.glob("entry-*/*.sealed")]
    for path in stored:
        rel = path.relative_to(datasets_dir).as_posix()
        if rel not in known and path.resolve() not in placed:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _stored_name(rel: str) -> bool:
    """A version's file (what the local sweep globs: ``entry-*/*.parquet|sealed``)."""
    parts = rel.split("/")
    return (
        len(parts) == 2
        and parts[0].startswith("entry-")
        and parts[1].endswith((".parquet", ".sealed"))
    )
