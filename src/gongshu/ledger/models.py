"""Ledger tables: append-only entries, signed checkpoints, and the one-row head."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base

HASH_HEX = 64  # SM3 and SHA-256 digests, hex


class LedgerEntry(Base):
    """One appended record. Never updated or deleted by the application.

    ``leaf_hash`` is the RFC 6962 leaf hash (hex) of the canonical JSON of the
    other fields including ``prev_hash``, which is the previous entry's
    ``leaf_hash``: a hash chain inside a Merkle tree."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_subject", "subject", "position"),
        Index("ix_ledger_entries_action", "action", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(unique=True)
    created_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(100))
    actor: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict | None]
    prev_hash: Mapped[str] = mapped_column(String(HASH_HEX))
    leaf_hash: Mapped[str] = mapped_column(String(HASH_HEX))

    def __repr__(self) -> str:
        return f"<LedgerEntry {self.position} {self.action} {self.subject}>"


class LedgerCheckpoint(Base):
    """A signed tree head: the Merkle root over entries ``0 .. tree_size - 1``."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(unique=True)
    root_hash: Mapped[str] = mapped_column(String(HASH_HEX))
    signed_at: Mapped[datetime]
    signature: Mapped[str] = mapped_column(Text)  # base64: SM2 r || s, or Ed25519 before
    # "sm2-sm3" (GB/T 32918, SEC-9) for new checkpoints; "ed25519" for those signed
    # before, which stay verifiable (verification dispatches on it).
    signature_algorithm: Mapped[str] = mapped_column(
        String(16), default="ed25519", server_default="ed25519"
    )
    key_fingerprint: Mapped[str] = mapped_column(String(16))
    # The tree's perfect subtrees at tree_size (hex, largest first), so the next
    # checkpoint folds in only the entries after this one (merkle.extend_peaks).
    peaks: Mapped[list | None] = mapped_column(default=None)


class LedgerHead(Base):
    """Exactly one row (id 1): the next position and the last leaf hash.

    Appending updates this row first, which takes its row lock on PostgreSQL,
    so concurrent appenders queue up instead of racing for a position. It also
    lets ``verify`` notice entries cut off the end of the ledger."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(HASH_HEX))
