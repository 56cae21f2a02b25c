"""Dataset versions: each load of a table into a catalog entry (AGG-1).

A version row exists only for a complete Parquet file: the file is written to
a temporary name, renamed into place, and the row is inserted in the same
transaction that records the load in the ledger. Counts live here so that no
page view runs COUNT(*) over the data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gongshu import changes
from gongshu.db import Base
from gongshu.timeutil import utcnow


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    version_no: Mapped[int]
    catalog_version_no: Mapped[int]  # the entry version whose fields the data was checked against
    source_name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(16))
    encoding: Mapped[str | None] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(500))  # relative to the datasets directory
    quarantine_path: Mapped[str | None] = mapped_column(String(500))
    rows: Mapped[int] = mapped_column(BigInteger)
    rows_rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    bad_values_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    columns: Mapped[list] = mapped_column(default=list)
    report: Mapped[dict] = mapped_column(default=dict)
    # Discovery (DESIGN.md mechanism 4): entity codes per column, and the scan summary.
    # None means not classified yet; the egress door refuses such a version.
    column_tags: Mapped[dict | None]
    discovery: Mapped[dict | None]
    # Set only by the re-identification check (PIP-9): what was measured and by whom.
    anonymized: Mapped[dict | None]
    # Sensitive columns sealed at rest (storage/store.py): their file, key id, order.
    sealed: Mapped[dict | None]
    # Set when an erasure or correction of a person's rows (PIP-4, PIP-6) rewrote this
    # version or a later one: the door then serves the version that replaced it.
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id"))
    superseded_reason: Mapped[str | None] = mapped_column(String(32))
    loaded_by: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Open catalog answers (search, CKAN package_search) show each entry's newest version.
changes.watch("catalog", DatasetVersion)
