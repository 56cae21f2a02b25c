"""Shared ledger fixtures: a signing key and a helper that appends entries."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from gongshu.ledger import LedgerEntry, record
from gongshu.ledger.keys import InstanceKey


@pytest.fixture(scope="session")
def key() -> InstanceKey:
    return InstanceKey.generate()


@pytest.fixture
def fill(session: Session) -> Callable[[int], list[LedgerEntry]]:
    """Append ``n`` realistic entries; subjects cycle over three catalog entries."""

    def _fill(n: int, start: int = 0) -> list[LedgerEntry]:
        return [
            record(
                session,
                "catalog.submitted" if i % 2 else "dataset.downloaded",
                actor=f"user:{i % 4}",
                subject=f"entry:{i % 3}",
                payload={"n": i, "名称": "人口信息", "rows": [1, 2]},
            )
            for i in range(start, start + n)
        ]

    return _fill
