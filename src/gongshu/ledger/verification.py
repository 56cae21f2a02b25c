"""Verification: recompute the whole ledger, check chain, positions and signed heads.

It streams (ledger/walk.py), so memory stays flat however long the ledger grows:
entries are read in pages by position, each leaf hash is recomputed and folded
into a Merkle accumulator holding only the tree's peaks, and each checkpoint (read
in pages too) is compared with the accumulator's root when the walk reaches its
size. 10,000,000 entries: docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from gongshu.ledger.keys import PublicKey, fingerprint, public_key_from, signature_valid
from gongshu.ledger.models import LedgerCheckpoint, LedgerHead
from gongshu.ledger.service import checkpoint_message
from gongshu.ledger.walk import PAGE, Walk, walk

_HEAD = LedgerHead.__table__


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    checkpoints: int
    first_bad: int | None = None  # position
    problem: str | None = None  # Chinese, with the English key term

    def __bool__(self) -> bool:
        return self.ok


# --- reading ---------------------------------------------------------------------------


def _iter_checkpoints(conn: Connection, up_to: int) -> Iterator[tuple[int, Any]]:
    """Checkpoints up to ``up_to`` (the largest size when verification began), by size."""
    query = (
        select(
            LedgerCheckpoint.tree_size,
            LedgerCheckpoint.root_hash,
            LedgerCheckpoint.signed_at,
            LedgerCheckpoint.signature,
            LedgerCheckpoint.signature_algorithm,
            LedgerCheckpoint.key_fingerprint,
        )
        .where(LedgerCheckpoint.tree_size <= up_to)
        .order_by(LedgerCheckpoint.tree_size)
        .limit(PAGE)
    )
    rows = conn.execute(query).all()
    while rows:
        yield from ((row.tree_size, row) for row in rows)
        rows = conn.execute(query.where(LedgerCheckpoint.tree_size > rows[-1][0])).all()


def _keys(public_key: Any) -> dict[str, PublicKey]:
    """Fingerprint -> key for one key (object, raw bytes, PEM) or several."""
    if public_key is None:
        return {}
    many = public_key if isinstance(public_key, list | tuple | set) else [public_key]
    keys = [public_key_from(k) for k in many]
    return {fingerprint(k): k for k in keys}


def verify(session: Session, public_key: Any) -> VerifyReport:
    """Recompute the whole ledger and check every signed checkpoint, in constant memory.

    ``public_key``: the public key(s) the checkpoints were signed with, SM2 or for
    those signed before it Ed25519 (each checked by its ``signature_algorithm``; a key
    object, raw bytes or PEM, or a list of them: the current key and those it
    replaced); each checkpoint is checked with the key its fingerprint names. None
    when no key is at hand (then any checkpoint fails). Names the first bad position
    for an edited, deleted, inserted or reordered entry.
    """
    # The newest checkpoint and the head are read first: anything a concurrent writer
    # commits later only adds entries and checkpoints beyond what we compare.
    conn = session.connection()
    keys = _keys(public_key)
    top = session.scalar(select(LedgerCheckpoint.tree_size).order_by(
        LedgerCheckpoint.tree_size.desc()).limit(1))  # fmt: skip
    head = conn.execute(select(_HEAD.c.size, _HEAD.c.last_hash).where(_HEAD.c.id == 1)).first()
    walker = Walk(watch=head.size - 1 if head is not None else -1)
    pending = _iter_checkpoints(conn, top if top is not None else -1)
    state: dict[str, Any] = {"checked": 0, "covered": 0, "failed": None, "last": None}

    def check(cp: Any) -> None:
        state["checked"] += 1
        if state["failed"] is not None:  # the first failure is reported, after the walk
            return
        where = f"覆盖 {cp.tree_size} 条记录的检查点"
        covered, state["covered"] = state["covered"], cp.tree_size
        if cp.tree_size < walker.n:  # only a size below 1 can be passed over
            state["failed"] = (None, f"检查点的记录数 {cp.tree_size} 无效")
        elif not keys:
            state["failed"] = (None, f"缺少实例公钥，无法校验{where}")
        elif (key := keys.get(cp.key_fingerprint)) is None:
            state["failed"] = (
                None,
                f"{where}由其他密钥签名：{cp.key_fingerprint}",
            )
        elif not signature_valid(
            key,
            cp.signature,
            checkpoint_message(cp.tree_size, cp.root_hash, cp.signed_at),
            cp.signature_algorithm or "ed25519",
        ):
            state["failed"] = (None, f"{where}签名无效")
        elif walker.tree.root().hex() != cp.root_hash:
            state["failed"] = (
                covered,
                f"第 {covered} 至 {cp.tree_size - 1} 条之间的记录被改写，与{where}的默克尔根不符",
            )

    beyond = walk(session, walker, pending, check)  # a checkpoint the walk never reached
    n = walker.n
    total = state["checked"] + (beyond is not None) + sum(1 for _ in pending)

    def bad(position: int | None, problem: str) -> VerifyReport:
        return VerifyReport(False, n, total, position, problem)

    if walker.problem is not None:
        return bad(walker.first_bad, walker.problem)
    if head is not None and head.size > n:
        return bad(n, f"第 {n} 条起的记录缺失：账本头记录共 {head.size} 条")
    if head is not None and head.size > 0 and head.last_hash != walker.watched:
        return bad(head.size - 1, f"第 {head.size - 1} 条记录被改写：与账本头不符")
    if state["failed"] is not None:
        return bad(*state["failed"])
    if beyond is not None:
        where = f"覆盖 {beyond[0]} 条记录的检查点"
        return bad(n, f"第 {n} 条起的记录缺失：{where}仍在")
    return VerifyReport(True, n, total)


def verify_against(
    session: Session, exported: list[dict], *, public_key: Any = None
) -> VerifyReport:
    """Prove the current ledger still contains tree heads an outside holder kept.

    Each exported head's root is recomputed from the current entries (a
    stronger check than a consistency proof, since every leaf is at hand).
    With ``public_key`` (one key or several) the exported signatures are
    checked too, each with the key its fingerprint names."""
    keys = _keys(public_key)
    try:
        heads = sorted(
            ((int(h["tree_size"]), str(h["root_hash"]), h) for h in exported),
            key=lambda t: t[0],
        )
    except (KeyError, TypeError, ValueError):
        return VerifyReport(False, 0, len(exported), None, "导出的检查点格式错误")
    walker = Walk()
    state: dict[str, Any] = {"covered": 0, "failed": None}

    def check(head: tuple[int, str, dict]) -> None:
        size, root, exported_head = head
        if state["failed"] is not None:
            return
        where = f"外部保存的覆盖 {size} 条记录的检查点"
        if keys:
            key = keys.get(str(exported_head.get("key_fingerprint")))
            if key is None and len(keys) == 1:
                key = next(iter(keys.values()))
            signed_at = datetime.fromisoformat(str(exported_head.get("signed_at")))
            message = checkpoint_message(size, root, signed_at)
            signature = str(exported_head.get("signature", ""))
            algorithm = str(exported_head.get("signature_algorithm") or "ed25519")
            if key is None or not signature_valid(key, signature, message, algorithm):
                state["failed"] = (None, f"{where}签名无效")
                return
        if size > 0 and walker.tree.root().hex() != root:
            state["failed"] = (
                state["covered"],
                f"第 {state['covered']} 至 {size - 1} 条之间的记录被改写，与{where}不一致",
            )
            return
        state["covered"] = size

    beyond = walk(session, walker, ((h[0], h) for h in heads), check)
    n, count = walker.n, len(exported)
    if walker.problem is not None:
        return VerifyReport(False, n, count, walker.first_bad, walker.problem)
    if state["failed"] is not None:
        return VerifyReport(False, n, count, *state["failed"])
    if beyond is not None:
        where = f"外部保存的覆盖 {beyond[0]} 条记录的检查点"
        problem = f"第 {n} 条起的记录缺失：{where}要求 {beyond[0]} 条"
        return VerifyReport(False, n, count, n, problem)
    return VerifyReport(True, n, count)
