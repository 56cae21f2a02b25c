"""Which catalog entries are open (published, opening attribute not "none", scope
public: CAT-4), and the lookups of one open entry by id, CKAN name or slug, with its
latest dataset version; shared by the portal, the CKAN Action API and the DCAT export."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.catalog.models import CatalogEntry
from gongshu.opendata.errors import OpenEntryNotFound
from gongshu.storage.models import DatasetVersion


def slug(resource_code: str) -> str:
    """CKAN package name: lowercase, only a-z 0-9 - _."""
    return re.sub(r"[^a-z0-9_-]+", "-", resource_code.lower()).strip("-") or "entry"


def is_open(entry: CatalogEntry) -> bool:
    return (
        entry.published_version is not None
        and entry.opening_attr != "none"
        and entry.scope == "public"
    )


def open_clause() -> Any:
    """The SQL twin of ``is_open``."""
    return (
        (CatalogEntry.published_version.is_not(None))
        & (CatalogEntry.opening_attr != "none")
        & (CatalogEntry.scope == "public")
    )


def get_open(session: Session, entry_id: int) -> CatalogEntry:
    """A published open entry, or OpenEntryNotFound (not-open entries do not exist here)."""
    entry = session.get(CatalogEntry, entry_id)
    if entry is None or not is_open(entry):
        raise OpenEntryNotFound(f"开放目录不存在或不予开放：{entry_id}")
    return entry


def find_by_name(session: Session, name_or_id: str) -> CatalogEntry:
    """Look up by CKAN package name (the resource code's slug) or package id."""
    key = (name_or_id or "").strip().lower()
    if m := re.fullmatch(r"gs-entry-(\d+)", key):
        return get_open(session, int(m.group(1)))
    entry = session.scalar(
        select(CatalogEntry).where(open_clause(), func.lower(CatalogEntry.resource_code) == key)
    )
    if entry is None:
        for candidate in session.scalars(select(CatalogEntry).where(open_clause())).unique():
            if slug(candidate.resource_code) == key:
                return candidate
        raise OpenEntryNotFound(f"开放目录不存在：{name_or_id}")
    return entry


def all_open(session: Session) -> list[CatalogEntry]:
    stmt = select(CatalogEntry).where(open_clause()).order_by(CatalogEntry.resource_code)
    return list(session.scalars(stmt).unique())


def latest_versions(session: Session, entry_ids: list[int]) -> dict[int, DatasetVersion]:
    """The newest dataset version of each entry, in one query."""
    if not entry_ids:
        return {}
    return {v.entry_id: v for v in session.scalars(storage.newest_versions(entry_ids))}
