"""Verification: recompute the whole ledger, check chain, positions and signed heads.

Must stay fast: 100k entries verify in a few seconds, so leaf hashes are
recomputed in one pass and the Merkle tree is built once, level by level;
the root at each checkpoint is then read off in O(log n).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.ledger import merkle
from gongshu.ledger.keys import fingerprint, public_key_from, signature_valid
from gongshu.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead
from gongshu.ledger.service import ALGORITHM, GENESIS, checkpoint_message, leaf_data

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


def iter_rows(session: Session) -> Iterable[Any]:
    return session.execute(
        select(
            LedgerEntry.position,
            LedgerEntry.created_at,
            LedgerEntry.action,
            LedgerEntry.actor,
            LedgerEntry.subject,
            LedgerEntry.payload,
            LedgerEntry.prev_hash,
            LedgerEntry.leaf_hash,
        ).order_by(LedgerEntry.position, LedgerEntry.id)
    ).all()


def _walk(rows: list[Any]) -> tuple[list[bytes], int | None, str | None]:
    """Recompute every leaf hash in one pass; return them and the first bad position.

    Checks, per row in position order: the position is the next integer (else
    a row was deleted or duplicated), ``prev_hash`` is the previous row's
    recomputed hash (else the chain is broken: the previous row was inserted
    or rewritten, or this one was moved), and the stored leaf hash matches the
    recomputed one (else the row was edited)."""
    recomputed: list[bytes] = []
    prev = GENESIS
    for i, row in enumerate(rows):
        if row.position > i:
            return (
                recomputed,
                i,
                f"第 {i} 条记录缺失 (entry deleted)：其后直接是第 {row.position} 条",
            )
        if row.position < i:
            return recomputed, row.position, f"第 {row.position} 条记录重复 (duplicate position)"
        leaf = merkle.leaf_hash(
            leaf_data(
                i, row.created_at, row.action, row.actor, row.subject, row.payload, row.prev_hash
            ),
            ALGORITHM,
        )
        leaf_hex = leaf.hex()
        if row.prev_hash != prev:
            if i >= 2 and row.prev_hash == recomputed[i - 2].hex():
                return recomputed, i - 1, f"第 {i - 1} 条记录是插入的 (entry inserted)"
            if i >= 1 and leaf_hex == row.leaf_hash:
                return (
                    recomputed,
                    i - 1,
                    (f"第 {i - 1} 条记录被改写 (entry rewritten)：与第 {i} 条的前序哈希不符"),
                )
            return (
                recomputed,
                i,
                (f"第 {i} 条记录的前序哈希不符 (hash chain broken)：记录被删除、插入或调换了顺序"),
            )
        if leaf_hex != row.leaf_hash:
            return recomputed, i, f"第 {i} 条记录内容被篡改 (leaf hash mismatch)"
        recomputed.append(leaf)
        prev = leaf_hex
    return recomputed, None, None


def verify(session: Session, public_key: Any) -> VerifyReport:
    """Recompute the whole ledger and check every signed checkpoint.

    ``public_key``: the instance's Ed25519 public key (object, raw bytes or
    PEM), or None when no key is at hand (then any checkpoint fails). Names
    the first bad position for an edited, deleted, inserted or reordered entry.
    """
    # Read checkpoints, then the head, then entries: anything a concurrent
    # writer commits in between only adds entries beyond what we compare.
    cps = list(session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size)))
    head = session.execute(select(_HEAD.c.size, _HEAD.c.last_hash).where(_HEAD.c.id == 1)).first()
    rows = list(iter_rows(session))
    n = len(rows)

    def bad(position: int | None, problem: str) -> VerifyReport:
        return VerifyReport(False, n, len(cps), position, problem)

    recomputed, first_bad, problem = _walk(rows)
    if problem is not None:
        return bad(first_bad, problem)
    if head is not None and head.size > n:
        return bad(n, f"第 {n} 条起的记录缺失 (entries truncated)：账本头记录共 {head.size} 条")
    if head is not None and head.size > 0 and head.last_hash != recomputed[head.size - 1].hex():
        return bad(
            head.size - 1, f"第 {head.size - 1} 条记录被改写 (entry rewritten)：与账本头不符"
        )

    key = public_key_from(public_key) if public_key is not None else None
    levels = merkle.build_levels(recomputed, ALGORITHM) if recomputed else [[]]
    covered = 0
    for cp in cps:
        where = f"覆盖 {cp.tree_size} 条记录的检查点"
        if cp.tree_size > n:
            return bad(n, f"第 {n} 条起的记录缺失 (entries deleted)：{where}仍在")
        if key is None:
            return bad(None, f"缺少实例公钥，无法校验{where} (public key missing)")
        if cp.key_fingerprint != fingerprint(key):
            return bad(None, f"{where}由其他密钥签名 (key fingerprint mismatch)")
        message = checkpoint_message(cp.tree_size, cp.root_hash, cp.signed_at)
        if not signature_valid(key, cp.signature, message):
            return bad(None, f"{where}签名无效 (invalid signature)")
        if merkle.root_from_levels(levels, cp.tree_size, ALGORITHM).hex() != cp.root_hash:
            return bad(
                covered,
                (
                    f"第 {covered} 至 {cp.tree_size - 1} 条之间的记录被改写，"
                    f"与{where}的默克尔根不符 (root hash mismatch)"
                ),
            )
        covered = cp.tree_size
    return VerifyReport(True, n, len(cps))


def verify_against(
    session: Session, exported: list[dict], *, public_key: Any = None
) -> VerifyReport:
    """Prove the current ledger still contains tree heads an outside holder kept.

    Each exported head's root is recomputed from the current entries (a
    stronger check than a consistency proof, since every leaf is at hand).
    With ``public_key`` the exported signatures are checked too."""
    rows = list(iter_rows(session))
    n = len(rows)
    key = public_key_from(public_key) if public_key is not None else None

    def bad(position: int | None, problem: str) -> VerifyReport:
        return VerifyReport(False, n, len(exported), position, problem)

    recomputed, first_bad, problem = _walk(rows)
    if problem is not None:
        return bad(first_bad, problem)
    levels = merkle.build_levels(recomputed, ALGORITHM) if recomputed else [[]]
    try:
        heads = sorted(
            ((int(h["tree_size"]), str(h["root_hash"]), h) for h in exported),
            key=lambda t: t[0],
        )
    except (KeyError, TypeError, ValueError):
        return bad(None, "导出的检查点格式错误 (malformed export)")
    covered = 0
    for size, root, head in heads:
        where = f"外部保存的覆盖 {size} 条记录的检查点"
        if size > n:
            return bad(n, f"第 {n} 条起的记录缺失 (entries deleted)：{where}要求 {size} 条")
        if key is not None:
            signed_at = datetime.fromisoformat(str(head.get("signed_at")))
            message = checkpoint_message(size, root, signed_at)
            if not signature_valid(key, str(head.get("signature", "")), message):
                return bad(None, f"{where}签名无效 (invalid signature)")
        if size > 0 and merkle.root_from_levels(levels, size, ALGORITHM).hex() != root:
            return bad(
                covered,
                (
                    f"第 {covered} 至 {size - 1} 条之间的记录被改写，"
                    f"与{where}不一致 (root hash mismatch)"
                ),
            )
        covered = size
    return VerifyReport(True, n, len(exported))
