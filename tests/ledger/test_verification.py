"""Verification names the first bad position for every kind of tampering."""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from gongshu.ledger import (
    LedgerCheckpoint,
    LedgerEntry,
    checkpoint,
    export_checkpoints,
    verify,
    verify_against,
)
from gongshu.ledger.keys import InstanceKey
from gongshu.ledger.models import LedgerHead
from gongshu.ledger.service import GENESIS, entry_leaf_hash
from gongshu.timeutil import utcnow

E = LedgerEntry.__table__
CP = LedgerCheckpoint.__table__
HEAD = LedgerHead.__table__
SHIFT = 1_000_000  # moves positions out of the way of the unique constraint


@pytest.fixture
def ledger(session: Session, fill, key) -> Session:
    """Ten entries; a signed checkpoint covers the first six."""
    fill(6)
    checkpoint(session, key)
    fill(4, start=6)
    return session


def _row(session: Session, position: int):
    return session.execute(select(E).where(E.c.position == position)).one()


def _shift(session: Session, from_position: int, by: int) -> None:
    """Renumber every entry at or after ``from_position`` by ``by``."""
    session.execute(
        update(E).where(E.c.position >= from_position).values(position=E.c.position + SHIFT)
    )
    session.execute(
        update(E).where(E.c.position >= SHIFT).values(position=E.c.position - SHIFT + by)
    )


def _forge(session: Session, position: int, prev_hash: str, **fields) -> dict:
    """A well-formed entry an attacker who knows the format could compute."""
    values = {
        "position": position,
        "created_at": utcnow(),
        "action": "grant.issued",
        "actor": "user:9",
        "subject": "entry:9",
        "payload": {"forged": True},
        "prev_hash": prev_hash,
    } | fields
    values["leaf_hash"] = entry_leaf_hash(
        values["position"],
        values["created_at"],
        values["action"],
        values["actor"],
        values["subject"],
        values["payload"],
        values["prev_hash"],
    )
    return values


def test_untouched_ledger_verifies(ledger: Session, key) -> None:
    report = verify(ledger, key.public_key)
    assert report.ok and report.entries == 10 and report.checkpoints == 1
    assert report.first_bad is None and report.problem is None


def test_empty_ledger_verifies(session: Session, key) -> None:
    assert verify(session, key.public_key) == verify(session, None)
    assert verify(session, None).ok and verify(session, None).entries == 0


@pytest.mark.parametrize(
    "change",
    [
        {"payload": {"n": 3, "名称": "人口信息", "rows": [1, 2, 3]}},
        {"actor": "user:0"},
        {"action": "catalog.withdrawn"},
        {"subject": None},
    ],
)
def test_edited_entry_is_named(ledger: Session, key, change: dict) -> None:
    ledger.execute(update(E).where(E.c.position == 3).values(**change))
    report = verify(ledger, key.public_key)
    assert not report.ok and report.first_bad == 3
    assert "第 3 条" in report.problem and "记录内容被篡改" in report.problem


def test_edited_timestamp_is_named(ledger: Session, key) -> None:
    when = _row(ledger, 8).created_at - timedelta(days=30)
    ledger.execute(update(E).where(E.c.position == 8).values(created_at=when))
    assert verify(ledger, key.public_key).first_bad == 8


def test_edited_entry_with_recomputed_hash_is_named_by_the_chain(ledger: Session, key) -> None:
    old = _row(ledger, 7)
    forged = _forge(ledger, 7, old.prev_hash)
    ledger.execute(update(E).where(E.c.position == 7).values(**forged))
    report = verify(ledger, key.public_key)
    assert report.first_bad == 7 and "记录被改写" in report.problem


def test_rewritten_last_entry_is_caught_by_the_head(ledger: Session, key) -> None:
    old = _row(ledger, 9)
    ledger.execute(update(E).where(E.c.position == 9).values(**_forge(ledger, 9, old.prev_hash)))
    report = verify(ledger, key.public_key)
    assert report.first_bad == 9 and "记录被改写" in report.problem


def test_deleted_entry_is_named(ledger: Session, key) -> None:
    ledger.execute(delete(E).where(E.c.position == 4))
    report = verify(ledger, key.public_key)
    assert report.first_bad == 4 and "记录缺失" in report.problem


def test_deleted_entry_with_renumbering_is_named(ledger: Session, key) -> None:
    ledger.execute(delete(E).where(E.c.position == 4))
    _shift(ledger, 5, -1)
    report = verify(ledger, key.public_key)
    assert report.first_bad == 4 and "第 4 条" in report.problem


def test_inserted_entry_is_named(ledger: Session, key) -> None:
    prev = _row(ledger, 4).leaf_hash
    _shift(ledger, 5, +1)
    ledger.execute(insert(E).values(**_forge(ledger, 5, prev)))
    report = verify(ledger, key.public_key)
    assert report.first_bad == 5 and "记录是插入的" in report.problem


def test_inserted_entry_without_valid_hashes_is_named(ledger: Session, key) -> None:
    _shift(ledger, 2, +1)
    ledger.execute(insert(E).values(**(_forge(ledger, 2, GENESIS) | {"leaf_hash": "0" * 64})))
    report = verify(ledger, key.public_key)
    assert report.first_bad == 2


@pytest.mark.parametrize("first", [0, 5, 8])
def test_swapped_entries_are_named(ledger: Session, key, first: int) -> None:
    ledger.execute(update(E).where(E.c.position == first).values(position=-1))
    ledger.execute(update(E).where(E.c.position == first + 1).values(position=first))
    ledger.execute(update(E).where(E.c.position == -1).values(position=first + 1))
    report = verify(ledger, key.public_key)
    assert report.first_bad == first and f"第 {first} 条" in report.problem


def test_truncated_tail_is_caught_by_the_head(ledger: Session, key) -> None:
    ledger.execute(delete(E).where(E.c.position >= 8))
    report = verify(ledger, key.public_key)
    assert report.first_bad == 8 and "起的记录缺失" in report.problem


def test_truncated_tail_is_caught_by_a_checkpoint(ledger: Session, key) -> None:
    ledger.execute(delete(E).where(E.c.position >= 4))
    last = _row(ledger, 3)
    ledger.execute(update(HEAD).values(size=4, last_hash=last.leaf_hash))
    report = verify(ledger, key.public_key)
    assert report.first_bad == 4 and "起的记录缺失" in report.problem


def test_full_rewrite_is_caught_by_the_signed_root(ledger: Session, key) -> None:
    """An attacker recomputes every hash from position 2 on: only signatures catch it."""
    prev = _row(ledger, 1).leaf_hash
    for pos in range(2, 10):
        forged = _forge(ledger, pos, prev, payload={"pos": pos})
        ledger.execute(update(E).where(E.c.position == pos).values(**forged))
        prev = forged["leaf_hash"]
    ledger.execute(update(HEAD).values(last_hash=prev))
    report = verify(ledger, key.public_key)
    assert not report.ok and "默克尔根不符" in report.problem
    assert report.first_bad == 0 and "第 0 至 5 条" in report.problem


def test_tampered_checkpoint_signature_fails(ledger: Session, key) -> None:
    sig = bytearray(base64.b64decode(ledger.scalar(select(CP.c.signature))))
    sig[0] ^= 1
    ledger.execute(update(CP).values(signature=base64.b64encode(bytes(sig)).decode()))
    report = verify(ledger, key.public_key)
    assert not report.ok and "签名无效" in report.problem


def test_tampered_checkpoint_root_fails_its_signature(ledger: Session, key) -> None:
    ledger.execute(update(CP).values(root_hash="00" * 32))
    assert "签名无效" in verify(ledger, key.public_key).problem


def test_checkpoint_needs_the_instance_key(ledger: Session) -> None:
    other = InstanceKey.generate()
    assert "由其他密钥签名" in verify(ledger, other.public_key).problem
    assert "缺少实例公钥" in verify(ledger, None).problem
    assert verify(ledger, other.public_pem()).ok is False


def test_export_still_matches_an_untouched_ledger(ledger: Session, fill, key) -> None:
    exported = export_checkpoints(ledger)
    fill(3, start=10)  # growth after the export is fine
    checkpoint(ledger, key)
    report = verify_against(ledger, exported, public_key=key.public_key)
    assert report.ok and report.checkpoints == 1 and report.entries == 13


def test_export_detects_a_rewrite_after_it_was_taken(ledger: Session, key) -> None:
    """Even a key holder who re-signs everything cannot match a kept export."""
    exported = export_checkpoints(ledger)
    prev = GENESIS
    ledger.execute(delete(CP))
    for pos in range(10):
        forged = _forge(ledger, pos, prev, payload={"pos": pos})
        ledger.execute(update(E).where(E.c.position == pos).values(**forged))
        prev = forged["leaf_hash"]
    ledger.execute(update(HEAD).values(last_hash=prev))
    checkpoint(ledger, key)
    assert verify(ledger, key.public_key).ok  # self-consistent after a full re-sign
    report = verify_against(ledger, exported)
    assert not report.ok and "与外部保存的" in report.problem and "不一致" in report.problem


def test_export_detects_truncation_and_bad_signatures(ledger: Session, key) -> None:
    exported = export_checkpoints(ledger)
    forged = [h | {"signature": base64.b64encode(b"x" * 64).decode()} for h in exported]
    assert "签名无效" in verify_against(ledger, forged, public_key=key.public_key).problem
    assert "导出的检查点格式错误" in verify_against(ledger, [{"tree": 1}]).problem
    ledger.execute(delete(E).where(E.c.position >= 5))
    ledger.execute(delete(HEAD))
    report = verify_against(ledger, exported)
    assert report.first_bad == 5 and "起的记录缺失" in report.problem


def test_twenty_thousand_entries_verify_quickly(session: Session, key) -> None:
    rows, prev = [], GENESIS
    now = utcnow()
    for pos in range(20_000):
        values = {
            "position": pos,
            "created_at": now,
            "action": "dataset.downloaded",
            "actor": f"user:{pos % 50}",
            "subject": f"entry:{pos % 700}",
            "payload": {"rows": pos, "purpose": "统计分析"},
            "prev_hash": prev,
        }
        values["leaf_hash"] = prev = entry_leaf_hash(*values.values())
        rows.append(values)
    for start in range(0, 20_000, 1_000):  # a checkpoint every 1,000 entries
        session.execute(insert(E), rows[start : start + 1_000])
        checkpoint(session, key)
    session.execute(insert(HEAD).values(id=1, size=20_000, last_hash=prev))
    started = time.perf_counter()
    report = verify(session, key.public_key)
    elapsed = time.perf_counter() - started
    assert report.ok and report.entries == 20_000 and report.checkpoints == 20
    assert elapsed < 4.0, f"verify took {elapsed:.2f}s"


def test_a_rotated_signing_key_verifies_with_the_old_public_key(ledger: Session, fill, key) -> None:
    """Checkpoints signed before a rotation verify once the old public key is given too."""
    new = InstanceKey.generate()
    checkpoint(ledger, new)  # covers all ten, signed by the new key
    fill(2, start=10)
    checkpoint(ledger, new)
    report = verify(ledger, [new.public_key, key.public_pem()])
    assert report.ok and report.checkpoints == 3
    alone = verify(ledger, new.public_key)
    assert not alone.ok and "由其他密钥签名" in alone.problem
    assert key.fingerprint in alone.problem
    exported = export_checkpoints(ledger)
    assert verify_against(ledger, exported, public_key=[key.public_key, new.public_key]).ok


def test_verify_reads_in_pages(ledger: Session, key, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of three rows: checkpoints and the head fall inside and across pages."""
    from gongshu.ledger import walk

    monkeypatch.setattr(walk.iter_pages, "__defaults__", (3,))
    assert verify(ledger, key.public_key).ok
    ledger.execute(update(E).where(E.c.position == 7).values(actor="user:intruder"))
    report = verify(ledger, key.public_key)
    assert report.first_bad == 7 and "记录内容被篡改" in report.problem
