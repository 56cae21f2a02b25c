"""Deleting a draft (issue 17 item 6: drafts can be deleted).

Only an entry that never left its provider can go: a draft never submitted, never
published, that nothing else refers to (no data loaded, no grant, no application:
every table with a foreign key to the entry is asked). Its version history goes
with it; the ledger keeps the record of its creation and of its deletion, with
the snapshot deleted.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.catalog import versions
from gongshu.catalog.errors import WrongStatus
from gongshu.catalog.models import CatalogEntry, EntryVersion
from gongshu.catalog.service import _require_provider, get
from gongshu.db import Base
from gongshu.ledger import record


def _referring(session: Session, entry_id: int) -> list[str]:
    """Tables (other than the entry's own versions) holding a row that names the entry."""
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name == EntryVersion.__tablename__:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name != CatalogEntry.__tablename__:
                continue
            n = session.scalar(select(func.count()).select_from(table).where(fk.parent == entry_id))
            if n:
                found.append(table.name)
    return found


def deletable(session: Session, entry: CatalogEntry) -> bool:
    """Whether ``entry`` is a draft that never left its provider."""
    if entry.status != "draft" or entry.published_version is not None:
        return False
    submitted = session.scalar(
        select(EntryVersion.id)
        .where(EntryVersion.entry_id == entry.id, EntryVersion.action != "created")
        .where(EntryVersion.action != "edited")
        .limit(1)
    )
    return submitted is None and not _referring(session, entry.id)


def delete_draft(session: Session, entry_id: int, *, actor: User) -> CatalogEntry:
    """Delete a draft that never left its provider; ``WrongStatus`` for anything else
    (an entry once submitted, published or used is kept: edit or retire it instead)."""
    entry = get(session, entry_id)
    _require_provider(entry, actor)
    if not deletable(session, entry):
        raise WrongStatus(
            "只能删除从未提交审核、未发布且没有数据和相关记录的草稿；此目录请修改后重新提交"
        )
    snapshot = versions.snapshot(entry)
    session.execute(delete(EntryVersion).where(EntryVersion.entry_id == entry.id))
    session.delete(entry)
    session.flush()
    record(
        session,
        "catalog.draft_deleted",
        actor=actor.actor,
        subject=f"entry:{entry_id}",
        payload={"resource_code": entry.resource_code, "name": entry.name, "snapshot": snapshot},
    )
    return entry
