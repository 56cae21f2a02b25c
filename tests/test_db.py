"""SQLite, the embedded default, under concurrent requests: read-then-write transactions
in two threads both succeed instead of failing with "database is locked"."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from gongshu.db import make_engine, make_session_factory, transaction


def test_concurrent_read_then_write_transactions_wait_instead_of_failing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    factory = make_session_factory(engine)
    errors: list[BaseException] = []

    def request() -> None:
        try:
            with transaction(factory) as s:
                seen = s.execute(text("SELECT count(*) FROM t")).scalar()
                time.sleep(0.2)  # the other request writes meanwhile
                s.execute(text("INSERT INTO t VALUES (:n)"), {"n": seen})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=request) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        # Serialized: each saw the rows committed before it began.
        assert sorted(conn.execute(text("SELECT n FROM t")).scalars()) == [0, 1, 2, 3]
    engine.dispose()
