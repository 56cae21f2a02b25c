"""Appending, checkpoints, queries and concurrent appenders."""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from gongshu.db import Base, make_engine
from gongshu.errors import InvalidInput
from gongshu.ledger import (
    LedgerCheckpoint,
    LedgerCorrupt,
    LedgerEntry,
    checkpoint,
    checkpoint_if_due,
    entries,
    export_checkpoints,
    merkle,
    record,
    verify,
)
from gongshu.ledger.keys import signature_valid
from gongshu.ledger.models import LedgerHead
from gongshu.ledger.service import GENESIS, checkpoint_message, entry_leaf_hash


def test_entries_get_consecutive_positions_and_a_hash_chain(session: Session, fill) -> None:
    made = fill(5)
    assert [e.position for e in made] == [0, 1, 2, 3, 4]
    assert made[0].prev_hash == GENESIS
    assert [e.prev_hash for e in made[1:]] == [e.leaf_hash for e in made[:-1]]
    assert len({e.leaf_hash for e in made}) == 5
    assert made[0].created_at.tzinfo is not None and made[0].created_at.utcoffset().seconds == 0


def test_stored_fields_reproduce_the_leaf_hash(session: Session, fill) -> None:
    fill(2)
    session.expire_all()
    e = session.scalars(select(LedgerEntry).where(LedgerEntry.position == 1)).one()
    assert e.payload == {"n": 1, "名称": "人口信息", "rows": [1, 2]}
    fields = (e.position, e.created_at, e.action, e.actor, e.subject, e.payload, e.prev_hash)
    assert entry_leaf_hash(*fields) == e.leaf_hash


def test_payload_is_stored_as_it_was_hashed(session: Session) -> None:
    when = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    e = record(session, "grant.issued", payload={"until": when, "cols": ("a", "b")})
    assert e.payload == {"until": "2025-03-01T08:30:00.000000+00:00", "cols": ["a", "b"]}


@pytest.mark.parametrize("payload", [{"x": float("nan")}, {"x": object()}])
def test_payload_that_is_not_json_is_refused(session: Session, payload: dict) -> None:
    with pytest.raises(InvalidInput, match="附加数据无法转为 JSON"):
        record(session, "x.y", payload=payload)


def test_action_is_required(session: Session) -> None:
    with pytest.raises(InvalidInput, match="账本记录缺少操作名称"):
        record(session, "  ")


def test_entries_filter_by_subject_and_action_prefix(session: Session, fill) -> None:
    fill(9)
    record(session, "catalog%.odd", subject="entry:0")
    about = entries(session, subject="entry:1")
    assert [e.position for e in about] == [7, 4, 1]  # newest first
    oldest = entries(session, subject="entry:1", newest_first=False, limit=2, offset=1)
    assert [e.position for e in oldest] == [4, 7]
    catalog = entries(session, action_prefix="catalog.")
    assert {e.action for e in catalog} == {"catalog.submitted"} and len(catalog) == 4
    assert [e.action for e in entries(session, action_prefix="catalog%")] == ["catalog%.odd"]


def test_checkpoint_signs_the_tree_head(session: Session, fill, key) -> None:
    made = fill(5)
    cp = checkpoint(session, key)
    assert cp is not None and cp.tree_size == 5
    expected = merkle.tree_root([bytes.fromhex(e.leaf_hash) for e in made])
    assert cp.root_hash == expected.hex()
    assert cp.key_fingerprint == key.fingerprint
    message = checkpoint_message(cp.tree_size, cp.root_hash, cp.signed_at)
    assert signature_valid(key.public_key, cp.signature, message)


def test_checkpoint_only_when_something_is_new(session: Session, fill, key) -> None:
    assert checkpoint(session, key) is None  # empty ledger
    fill(3)
    assert checkpoint(session, key) is not None
    assert checkpoint(session, key) is None
    fill(1, start=3)
    assert checkpoint(session, key).tree_size == 4


def test_checkpoint_if_due_waits_for_enough_entries(session: Session, fill, key) -> None:
    fill(7)
    assert checkpoint_if_due(session, key, 8) is None
    fill(1, start=7)
    assert checkpoint_if_due(session, key, 8).tree_size == 8
    fill(7, start=8)
    assert checkpoint_if_due(session, key, 8) is None
    fill(1, start=15)
    assert checkpoint_if_due(session, key, 8).tree_size == 16


def test_checkpoint_refuses_to_resign_a_tampered_ledger(session: Session, fill, key) -> None:
    fill(4)
    checkpoint(session, key)
    fill(2, start=4)
    table = LedgerEntry.__table__
    forged = "ab" * 32
    session.execute(update(table).where(table.c.position == 1).values(leaf_hash=forged))
    with pytest.raises(LedgerCorrupt, match="拒绝签署新检查点"):
        checkpoint(session, key)


def test_export_is_json_with_what_an_outside_holder_needs(session: Session, fill, key) -> None:
    fill(3)
    checkpoint(session, key)
    fill(2, start=3)
    checkpoint(session, key)
    exported = json.loads(json.dumps(export_checkpoints(session)))
    assert [h["tree_size"] for h in exported] == [3, 5]
    head = exported[1]
    assert head["key_fingerprint"] == key.fingerprint and len(head["root_hash"]) == 64
    assert len(base64.b64decode(head["signature"])) == 64
    assert datetime.fromisoformat(head["signed_at"]).tzinfo is not None


def test_head_is_rebuilt_from_existing_entries(session: Session, fill) -> None:
    """A database whose head row is missing keeps appending after its last entry."""
    fill(3)
    session.execute(LedgerHead.__table__.delete())
    e = record(session, "x.after")
    assert e.position == 3
    assert verify(session, None).ok


# --- concurrency (PostgreSQL only: SQLite has a single writer) ---------------------

PG_URL = os.environ.get("GONGSHU_TEST_DATABASE_URL", "")


@pytest.fixture
def pg_schema_engine():
    """An engine whose ledger tables live in a fresh schema, so committing is safe."""
    if not PG_URL.startswith("postgresql"):
        pytest.skip("concurrent appends need PostgreSQL (GONGSHU_TEST_DATABASE_URL)")
    schema = f"ledger_conc_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = admin.execution_options(schema_translate_map={None: schema})
    tables = [LedgerEntry.__table__, LedgerCheckpoint.__table__, LedgerHead.__table__]
    Base.metadata.create_all(eng, tables=tables)
    try:
        yield eng
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_second_appender_waits_for_the_first_to_commit(pg_schema_engine) -> None:
    first_recorded, release = threading.Event(), threading.Event()
    positions: dict[str, int] = {}

    def first() -> None:
        with Session(pg_schema_engine) as s:
            positions["first"] = record(s, "a.first").position
            first_recorded.set()
            release.wait(5)
            s.commit()

    def second() -> None:
        first_recorded.wait(5)
        with Session(pg_schema_engine) as s:
            positions["second"] = record(s, "a.second").position
            s.commit()

    t1, t2 = threading.Thread(target=first), threading.Thread(target=second)
    t1.start()
    t2.start()
    t2.join(0.5)
    assert t2.is_alive(), "the second appender must block on the head row lock"
    release.set()
    t1.join(5)
    t2.join(5)
    assert positions == {"first": 0, "second": 1}


def test_many_concurrent_appenders_leave_a_valid_ledger(pg_schema_engine, key) -> None:
    threads, per_thread = 6, 15
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait(5)
            for i in range(per_thread):
                with Session(pg_schema_engine) as s:
                    record(s, "load.test", actor=f"t{n}", payload={"i": i})
                    if i % 5 == 4:
                        s.rollback()  # a rolled-back append leaves no gap
                    else:
                        s.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(30)
    assert not errors
    with Session(pg_schema_engine) as s:
        checkpoint(s, key)
        s.commit()
        report = verify(s, key.public_key)
    assert report.ok, report.problem
    assert report.entries == threads * per_thread * 4 // 5


@pytest.fixture
def small_recheck(monkeypatch):  # noqa: ANN001, ANN201
    """Past 4 entries checkpoints fold in only the new entries (as past 4,096 in use)."""
    from gongshu.ledger import service

    monkeypatch.setattr(service, "FULL_RECHECK_BELOW", 4)


def test_incremental_checkpoints_sign_the_same_roots_as_a_full_rebuild(
    session: Session, fill, key, small_recheck
) -> None:
    from gongshu.ledger import merkle
    from gongshu.ledger.keys import signature_valid

    made, signed = [], []
    for n in (3, 1, 5, 8, 1, 13):
        made += fill(n, start=len(made))
        cp = checkpoint(session, key)
        signed.append(cp)
        leaves = [bytes.fromhex(e.leaf_hash) for e in made]
        assert cp.tree_size == len(made)
        assert cp.root_hash == merkle.tree_root(leaves).hex()  # the RFC 6962 root
        message = checkpoint_message(cp.tree_size, cp.root_hash, cp.signed_at)
        assert signature_valid(key.public_key, cp.signature, message)
    assert signed[-1].peaks and len(signed[-1].peaks) == bin(len(made)).count("1")


def test_incremental_checkpoints_refuse_a_broken_chain_or_forged_peaks(
    session: Session, fill, key, small_recheck
) -> None:
    fill(6)
    checkpoint(session, key)  # full: 6 entries
    fill(2, start=6)
    last = checkpoint(session, key)  # incremental from here on
    fill(3, start=8)
    table = LedgerEntry.__table__
    session.execute(update(table).where(table.c.position == 9).values(leaf_hash="cd" * 32))
    with pytest.raises(LedgerCorrupt, match="哈希链断开"):
        checkpoint(session, key)
    session.execute(
        update(table).where(table.c.position == 9).values(leaf_hash=made_hash(session, 9))
    )
    forged = [*last.peaks[:-1], "ab" * 32]
    session.execute(
        update(LedgerCheckpoint.__table__)
        .where(LedgerCheckpoint.__table__.c.id == last.id)
        .values(peaks=forged)
    )
    session.expire_all()
    with pytest.raises(LedgerCorrupt, match="拒绝签署新检查点"):
        checkpoint(session, key)


def made_hash(session: Session, position: int) -> str:
    """The leaf hash an entry's stored fields give (to undo a test's tampering)."""
    e = session.scalars(select(LedgerEntry).where(LedgerEntry.position == position)).one()
    session.refresh(e)
    fields = (e.position, e.created_at, e.action, e.actor, e.subject, e.payload, e.prev_hash)
    return entry_leaf_hash(*fields)
