"""A long ledger is hashed by worker processes (ledger/walk.py ``parallel_pages``): the
verdict, the count and the first bad position are those of the single-process walk,
for an untouched ledger and for each kind of tampering."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from gongshu.db import transaction
from gongshu.ledger import LedgerEntry, checkpoint, record, verify
from gongshu.ledger import walk as walk_module
from gongshu.ledger.keys import InstanceKey
from tests.instances import fresh_database, new_instance, settings_for

E = LedgerEntry.__table__


@pytest.fixture
def instance(tmp_path: Path):  # noqa: ANN201
    with fresh_database("parwalk") as url:
        inst, _ = new_instance(settings_for(tmp_path / "var", url, checkpoint_every=64))
        with transaction(inst.session_factory) as session:
            for i in range(400):
                record(
                    session,
                    "dataset.downloaded",
                    actor=f"user:{i % 4}",
                    subject=f"entry:{i % 3}",
                    payload={"n": i, "名称": "人口信息", "rate": i / 7},
                )
                if i % 64 == 63:
                    checkpoint(session, InstanceKey.load_or_create(inst.settings.keys_dir))
        yield inst
        inst.close()


@pytest.fixture(params=[(37, 256), (37, 4), (96, 32)], ids=["no-chunks", "chunk4", "chunk32"])
def layout(request, monkeypatch) -> tuple[int, int]:  # noqa: ANN001
    """Pages of 37 (no whole run of 256 leaves; runs of 4, the first pages off their
    edges) and of 96 (runs of 32, each with a checkpoint every 64 inside or at its end)."""
    page, chunk = request.param
    monkeypatch.setattr(walk_module, "PAGE", page)
    monkeypatch.setattr(walk_module, "CHUNK", chunk)
    return page, chunk


def _both(inst, monkeypatch) -> tuple:  # noqa: ANN001
    """The report of the single-process walk and of the parallel one (``layout``)."""
    key = InstanceKey.load_or_create(inst.settings.keys_dir).public_key
    reports = []
    for threshold in (10**12, 0):
        monkeypatch.setattr(walk_module, "PARALLEL_FROM", threshold)
        with transaction(inst.session_factory) as session:
            reports.append(verify(session, key))
    return tuple(reports)


def test_an_untouched_ledger_verifies_in_parallel(instance, monkeypatch, layout) -> None:
    serial, parallel = _both(instance, monkeypatch)
    assert serial == parallel
    assert parallel.ok and parallel.entries >= 400 and parallel.checkpoints >= 6


def test_the_parallel_walk_names_the_same_bad_position(instance, monkeypatch, layout) -> None:
    with transaction(instance.session_factory) as session:
        session.execute(update(E).where(E.c.position == 150).values(actor="user:x"))
    serial, parallel = _both(instance, monkeypatch)
    assert serial == parallel and not parallel.ok and parallel.first_bad == 150

    with transaction(instance.session_factory) as session:
        stored = session.execute(select(E.c.actor).where(E.c.position == 149)).scalar()
        session.execute(update(E).where(E.c.position == 150).values(actor=stored))
        session.execute(delete(E).where(E.c.position == 260))
    serial, parallel = _both(instance, monkeypatch)
    assert serial == parallel and not parallel.ok


@pytest.mark.parametrize("position", [37, 74, 111])
def test_a_break_at_a_page_edge_is_named_as_the_single_process_walk_names_it(
    instance, monkeypatch, layout, position: int
) -> None:
    """Pages of 37 (the positions are page edges there): the first row of a page deleted,
    edited or moved is only seen when
    the main process links the page to the one before."""
    with transaction(instance.session_factory) as session:
        if position == 37:
            session.execute(delete(E).where(E.c.position == position))
        elif position == 74:
            session.execute(update(E).where(E.c.position == position).values(subject="entry:x"))
        else:  # the last row of the page before rewritten with its hash recomputed
            session.execute(
                update(E).where(E.c.position == position - 1).values(leaf_hash="0" * 64)
            )
    serial, parallel = _both(instance, monkeypatch)
    assert serial == parallel and not parallel.ok
    assert parallel.first_bad in (position - 1, position)
