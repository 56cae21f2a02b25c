"""Erasures of a person's rows from every stored version, and legal holds (PIP-4, PIP-6).

Kept apart from ``models`` so the rights-request tables and these evolve separately.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base
from gongshu.timeutil import utcnow

ERASURE_STATUS = {"queued": "待执行", "held": "部分版本保全中", "done": "已删除"}


class LegalHold(Base):
    """A recorded legal hold naming one stored version: an erasure leaves its rows in
    place until the hold ends (it is released or expires); the door still never
    serves the person's rows from it (the version is superseded by the erasure)."""

    __tablename__ = "privacy_legal_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    case_reference: Mapped[str] = mapped_column(String(128))  # 案号 / 文书编号
    expires_at: Mapped[datetime]
    placed_by: Mapped[str] = mapped_column(String(96))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(96))
    released_at: Mapped[datetime | None]


class Erasure(Base):
    """One provider's deletion of one person's rows, carried into every stored version
    and quarantine of the entry by the ``privacy.erasure`` job."""

    __tablename__ = "privacy_erasures"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_requests.id"), index=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("rights_matches.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), index=True)
    person_hash: Mapped[str] = mapped_column(String(64), index=True)
    # The ID number (and confirmed mobile) to find the rows, SM4-GCM encrypted; erased
    # when no version is left to rewrite (kept while a hold defers one).
    lookup_enc: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    due_at: Mapped[datetime | None]  # the request's statutory deadline
    # [{"version_no", "file", "old_rows", "new_rows", "old_sha256", "new_sha256"}]
    rewritten: Mapped[list] = mapped_column(default=list)
    # [{"version_no", "hold", "case_reference", "expires_at"}] deferred by a legal hold
    held: Mapped[list] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(String(96))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
