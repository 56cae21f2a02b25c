"""Append to the ledger, sign checkpoints, query, and verify (DESIGN.md mechanism 2).

Every state change and every egress calls ``record`` inside the caller's
transaction; the caller commits. Records of consent, of providing personal
information and of approvals are evidence kept at least five years (SEC-7)
and for audits (AUD-*), so the ledger is append-only, hash-chained, and
periodically covered by a signed RFC 6962 tree head (a checkpoint).

Concurrency: ``record`` first runs ``UPDATE ledger_head SET size = size + 1``
on the one-row head table. On PostgreSQL (READ COMMITTED) that takes the
row lock, so a second appender waits until the first commits or rolls back
and then reads the new head: positions stay contiguous with no retry. Under
REPEATABLE READ or SERIALIZABLE the second appender gets a serialization
error instead and the caller retries its transaction. The unique constraint
on ``position`` is the second line of defence. SQLite has a single writer.
"""

from __future__ import annotations

import base64
import itertools
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from gongshu.errors import Conflict, InvalidInput
from gongshu.ledger import merkle
from gongshu.ledger.keys import InstanceKey
from gongshu.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead
from gongshu.timeutil import as_utc, utcnow

ALGORITHM = "sm3"  # SEC-9: national cryptographic algorithms
GENESIS = "0" * 64  # prev_hash of position 0
SIGNED_FORMAT = "gongshu-ledger/1"

_HEAD = LedgerHead.__table__


class LedgerPayloadInvalid(InvalidInput):
    """A payload that cannot be stored as canonical JSON."""


class LedgerCorrupt(Conflict):
    """The stored ledger no longer matches its own checkpoints."""


def iso(value: datetime) -> str:
    return as_utc(value).isoformat(timespec="microseconds")


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def canonical_json(value: Any) -> str:
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def normalize_payload(payload: dict | None) -> dict | None:
    """The payload exactly as it will read back from the JSON column."""
    if payload is None:
        return None
    try:
        return json.loads(canonical_json(payload))
    except (TypeError, ValueError) as exc:
        raise LedgerPayloadInvalid(f"账本记录的附加数据无法转为 JSON：{exc}") from exc


def leaf_data(
    position: int,
    created_at: datetime,
    action: str,
    actor: str | None,
    subject: str | None,
    payload: dict | None,
    prev_hash: str,
) -> bytes:
    """The canonical bytes an entry's leaf hash covers."""
    return canonical_json(
        {
            "position": position,
            "created_at": iso(created_at),
            "action": action,
            "actor": actor,
            "subject": subject,
            "payload": payload,
            "prev_hash": prev_hash,
        }
    ).encode()


def entry_leaf_hash(*fields: Any) -> str:
    """Hex RFC 6962 leaf hash of ``leaf_data(*fields)``."""
    return merkle.leaf_hash(leaf_data(*fields), ALGORITHM).hex()


def checkpoint_message(tree_size: int, root_hash: str, signed_at: datetime) -> bytes:
    """The bytes the instance key signs for a tree head."""
    return canonical_json(
        {
            "format": SIGNED_FORMAT,
            "hash": ALGORITHM,
            "tree_size": tree_size,
            "root_hash": root_hash,
            "signed_at": iso(signed_at),
        }
    ).encode()


# --- appending -------------------------------------------------------------


def _init_head(session: Session) -> None:
    """Create the head row from whatever entries exist (first use of a database)."""
    last = session.execute(
        select(LedgerEntry.position, LedgerEntry.leaf_hash)
        .order_by(LedgerEntry.position.desc())
        .limit(1)
    ).first()
    values = {
        "id": 1,
        "size": 0 if last is None else last.position + 1,
        "last_hash": GENESIS if last is None else last.leaf_hash,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(_HEAD).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(_HEAD).values(values).on_conflict_do_nothing())
    else:
        session.execute(insert(_HEAD).values(values))


# One statement claims the next position and reads the hash before it (SQLite >= 3.35
# and PostgreSQL both return from an UPDATE); the row lock it takes orders the writers.
_BUMP = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(size=_HEAD.c.size + 1)
    .returning(_HEAD.c.size, _HEAD.c.last_hash)
)
# Built once: building a statement with its values costs more than running it.
_SET_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(last_hash=bindparam("leaf"))
_APPEND = insert(LedgerEntry.__table__)


def _claim_position(session: Session) -> tuple[int, str]:
    claimed = session.execute(_BUMP).first()
    if claimed is None:
        _init_head(session)
        claimed = session.execute(_BUMP).one()
    size, last_hash = claimed
    return size - 1, last_hash


# Set in Session.info by ``record`` to the tree size after the append: the web layer
# considers a checkpoint only then.
LEDGER_APPENDED = "gongshu_ledger_appended"


def record(
    session: Session,
    action: str,
    *,
    actor: str | None = None,
    subject: str | None = None,
    payload: dict | None = None,
) -> LedgerEntry:
    """Append one entry at the next position, in the caller's transaction (flush only).

    ``action`` is a dotted verb such as ``catalog.published``; ``subject`` names
    the thing acted on (``entry:12``) so auditors can ask for everything about it.
    """
    if not action or not action.strip():
        raise InvalidInput("账本记录缺少操作名称")
    payload = normalize_payload(payload)
    position, prev_hash = _claim_position(session)
    session.info[LEDGER_APPENDED] = position + 1
    created_at = utcnow()
    leaf = entry_leaf_hash(position, created_at, action, actor, subject, payload, prev_hash)
    session.execute(_SET_HASH, {"leaf": leaf})
    values = {
        "position": position,
        "created_at": created_at,
        "action": action,
        "actor": actor,
        "subject": subject,
        "payload": payload,
        "prev_hash": prev_hash,
        "leaf_hash": leaf,
    }
    # One INSERT statement rather than a unit-of-work flush (a third of an append's
    # cost); the entry returned is the row's values, not attached to the session.
    session.execute(_APPEND, values)
    return LedgerEntry(**values)


# --- checkpoints -------------------------------------------------------------


def _last_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return session.scalars(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(1)
    ).first()


# Below this many entries every checkpoint re-reads the whole ledger and checks that
# it still reproduces the previous signed root; above it, only the entries since.
FULL_RECHECK_BELOW = 4096


def checkpoint(session: Session, key: InstanceKey) -> LedgerCheckpoint | None:
    """Sign the tree head over all entries so far; None when nothing is new.

    Refuses (``LedgerCorrupt``) to sign over a ledger that no longer agrees with the
    previous checkpoint: while the ledger is small (``FULL_RECHECK_BELOW``) every leaf
    must reproduce its root; past that, the stored peaks must reproduce it and the
    new entries must be contiguous and chained to the last checked one. Each
    signature covers the tree as it was appended in either case; a later edit of
    an older row is what ``gongshu ledger verify`` finds (every leaf, every
    checkpoint)."""
    cp = sign_head(session, key)
    if cp is not None:
        session.add(cp)
        session.flush()
    return cp


def sign_head(session: Session, key: InstanceKey) -> LedgerCheckpoint | None:
    """The signed tree head over all entries the session sees, not stored (``checkpoint``
    stores it; a backup keeps it in its manifest). None when the newest stored
    checkpoint already covers every entry."""
    last = _last_checkpoint(session)
    top = session.scalar(select(func.max(LedgerEntry.position)))
    size = 0 if top is None else top + 1
    if size == 0 or (last is not None and size <= last.tree_size):
        return None
    if last is not None and last.peaks is not None and size >= FULL_RECHECK_BELOW:
        peaks = _extend(session, last, size)
    else:
        peaks = _rebuild(session, last, size)
    root = merkle.root_from_peaks(peaks, ALGORITHM).hex()
    signed_at = utcnow()
    signature = base64.b64encode(key.sign(checkpoint_message(size, root, signed_at))).decode()
    return LedgerCheckpoint(
        tree_size=size,
        root_hash=root,
        signed_at=signed_at,
        signature=signature,
        signature_algorithm=key.algorithm,
        key_fingerprint=key.fingerprint,
        peaks=[p.hex() for p in peaks],
    )


def _rebuild(session: Session, last: LedgerCheckpoint | None, size: int) -> list[bytes]:
    """Every leaf: the previous root must come out of them again."""
    rows = session.execute(
        select(LedgerEntry.position, LedgerEntry.leaf_hash).order_by(LedgerEntry.position)
    ).all()
    if len(rows) != size or rows[-1].position != size - 1:
        raise LedgerCorrupt("账本记录位置不连续，拒绝签署检查点")
    levels = merkle.build_levels([bytes.fromhex(r.leaf_hash) for r in rows], ALGORITHM)
    if last is not None:
        previous = merkle.root_from_levels(levels, last.tree_size, ALGORITHM).hex()
        if previous != last.root_hash:
            raise LedgerCorrupt(f"账本与 {last.tree_size} 条处的检查点不一致，拒绝签署新检查点")
    return merkle.peaks_from_levels(levels, size)


def _extend(session: Session, last: LedgerCheckpoint, size: int) -> list[bytes]:
    """The entries since ``last`` only, folded into its peaks."""
    peaks = [bytes.fromhex(p) for p in last.peaks or []]
    if merkle.root_from_peaks(peaks, ALGORITHM).hex() != last.root_hash:
        raise LedgerCorrupt(f"{last.tree_size} 条处检查点的子树与其根不符，拒绝签署新检查点")
    rows = session.execute(
        select(LedgerEntry.position, LedgerEntry.leaf_hash, LedgerEntry.prev_hash)
        .where(LedgerEntry.position >= last.tree_size - 1)
        .order_by(LedgerEntry.position)
    ).all()
    if [r.position for r in rows] != list(range(last.tree_size - 1, size)):
        raise LedgerCorrupt("账本记录位置不连续，拒绝签署检查点")
    for before, row in itertools.pairwise(rows):
        if row.prev_hash != before.leaf_hash:
            raise LedgerCorrupt(f"第 {row.position} 条记录与前一条的哈希链断开，拒绝签署检查点")
    leaves = [bytes.fromhex(r.leaf_hash) for r in rows[1:]]
    return merkle.extend_peaks(peaks, last.tree_size, leaves, ALGORITHM)


def signed_size(session: Session) -> int:
    """The tree size the newest checkpoint covers (0 before the first)."""
    return session.scalar(select(func.max(LedgerCheckpoint.tree_size))) or 0


def checkpoint_due(session: Session, every: int) -> bool:
    """Are at least ``every`` entries not yet covered by a checkpoint? (reads only)"""
    covered = signed_size(session)
    top = session.scalar(select(func.max(LedgerEntry.position)))
    size = 0 if top is None else top + 1
    return size - covered >= max(every, 1)


def checkpoint_if_due(session: Session, key: InstanceKey, every: int) -> LedgerCheckpoint | None:
    """Sign a checkpoint when at least ``every`` entries are not yet covered by one."""
    return checkpoint(session, key) if checkpoint_due(session, every) else None


def export_checkpoints(session: Session) -> list[dict]:
    """Every signed tree head, JSON-able, for an outside holder to keep."""
    return [
        exported(cp)
        for cp in session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size))
    ]


def exported(cp: LedgerCheckpoint) -> dict:
    """One signed tree head as ``export_checkpoints`` writes it (``verify_against`` reads it)."""
    return {
        "tree_size": cp.tree_size,
        "root_hash": cp.root_hash,
        "signed_at": iso(cp.signed_at),
        "signature": cp.signature,
        "key_fingerprint": cp.key_fingerprint,
        "hash": ALGORITHM,
        "signature_algorithm": cp.signature_algorithm or "ed25519",
    }


# --- queries -------------------------------------------------------------------


def entries(
    session: Session,
    *,
    subject: str | None = None,
    action_prefix: str | None = None,
    limit: int = 100,
    offset: int = 0,
    newest_first: bool = True,
    within: ColumnElement[bool] | None = None,
) -> list[LedgerEntry]:
    """Entries about ``subject`` and/or whose action starts with ``action_prefix``,
    newest first unless ``newest_first=False``; only those matching ``within`` when
    given (the part of the ledger a reader may see, decided above the ledger)."""
    query = select(LedgerEntry)
    if within is not None:
        query = query.where(within)
    if subject is not None:
        query = query.where(LedgerEntry.subject == subject)
    if action_prefix:
        query = query.where(LedgerEntry.action.startswith(action_prefix, autoescape=True))
    order = LedgerEntry.position.desc() if newest_first else LedgerEntry.position
    return list(session.scalars(query.order_by(order).limit(limit).offset(offset)))
