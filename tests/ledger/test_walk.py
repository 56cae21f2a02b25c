"""The verifier's leaf shortcut writes ``leaf_data``'s bytes; where it cannot (big
integers, some exponents) it refuses or differs, and the walk asks the reference."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.ledger import LedgerEntry, checkpoint, merkle, record, verify
from gongshu.ledger import walk as walk_module
from gongshu.ledger.service import leaf_data
from gongshu.ledger.walk import (
    _ENTRY_COLUMNS,
    Block,
    Walk,
    chunk_roots,
    hash_rows,
    leaf_reference,
    leaf_shortcut,
)

PAYLOADS = [
    None,
    {},
    {"n": 1, "名称": "人口信息", "rows": [1, 2.5, -0.0, 1e16, 2**63 - 1]},
    {"text": "".join(chr(c) for c in range(0, 160)) + "\u2028\u2029é😀"},
    {"nested": {"b": [True, False, None], "a": {"z": "", "\\": '"'}}},
    {"big": 123456789012345678901234567890, "neg": -(2**63), "f": 0.1 + 0.2},
    {"exp": [1e-07, 1.5e-10]},  # orjson writes 1e-7 where json writes 1e-07
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_shortcut_matches_the_reference_on_stored_rows(session: Session, payload, key) -> None:  # noqa: ANN001
    record(session, "catalog.published", actor="用户:1\n", subject=None, payload=payload)
    row = session.execute(select(*_ENTRY_COLUMNS)).one()
    expected = leaf_reference(row)
    assert expected is not None
    if payload is None or not {"big", "exp"} & set(payload):
        assert leaf_shortcut(row) == expected
    checkpoint(session, key)
    assert verify(session, key.public_key).ok  # the walk falls back where it must


def test_shortcut_refuses_what_it_could_misread() -> None:
    when = datetime(2026, 1, 1, 12, 0, 0, 5, tzinfo=UTC)
    stored = "2026-01-01 12:00:00.000005"

    def row(payload: str, created: object = stored) -> tuple:
        return (0, created, "a", None, None, payload, "0" * 64, "")

    assert leaf_shortcut(row('{"x": 1}')) == leaf_data(0, when, "a", None, None, {"x": 1}, "0" * 64)
    for text in ['{"x": NaN}', '{"x": 1e400}', '{"x": -Infinity}', '{"x": 1} ', '{"x": "\\ud800"}']:
        assert leaf_shortcut(row(text)) is None, text
    assert leaf_shortcut(row('{"x": 1}', created="2026-01-01T12:00:00.000005")) is None
    assert json.loads('{"x": 1e400}')  # the reference parser would accept it: refused above


def test_aligned_chunk_roots_fold_to_the_same_tree_as_their_leaves(session: Session, fill) -> None:  # noqa: ANN001
    """A worker's page (ledger/walk.py ``hash_rows``) carries the roots of its aligned
    runs of ``chunk`` leaves; folding a run in as one peak gives the tree of its leaves
    one by one, at every size a checkpoint can stop at (inside a run or not), for pages
    that start on a run's edge or off it."""
    fill(150)
    query = select(*_ENTRY_COLUMNS).order_by(LedgerEntry.position)
    rows = [tuple(r) for r in session.execute(query)]
    leaves = [bytes.fromhex(r[7]) for r in rows]
    assert chunk_roots(leaves[:64], 16) == b"".join(
        merkle.tree_root(leaves[i : i + 16]) for i in range(0, 64, 16)
    )
    for page, chunk in ((40, 8), (64, 16), (37, 4), (150, 32)):
        stops = [3, 8, 16, 20, 41, 64, 65, 96, 130, 150]
        pages = [hash_rows(rows[i : i + page], chunk) for i in range(0, len(rows), page)]
        assert all(isinstance(p, Block) for p in pages)
        assert any(p.roots for p in pages)
        walker, seen = Walk(watch=149), []

        def stopped(size: int, walker: Walk = walker, seen: list = seen) -> None:
            seen.append((size, walker.tree.root()))

        rest = iter((s, s) for s in stops[1:])
        walk_module._drive(walker, iter(pages), stops[0], stops[0], rest, stopped)
        assert walker.problem is None and walker.n == 150
        assert seen == [(s, merkle.tree_root(leaves[:s])) for s in stops]
        assert walker.watched == rows[149][7] and walker.prev == rows[149][7]
