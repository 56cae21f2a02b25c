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


def _table(tmp_path: Path):  # noqa: ANN202
    engine = make_engine(f"sqlite:///{tmp_path / 'u.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    return engine


def test_read_only_units_read_while_a_writer_holds_the_lock_and_cannot_write(
    tmp_path: Path,
) -> None:
    import pytest
    from sqlalchemy.exc import OperationalError

    from gongshu.db import read_only_factory

    engine = _table(tmp_path)
    writer = make_session_factory(engine)()
    writer.execute(text("INSERT INTO t VALUES (2)"))  # BEGIN IMMEDIATE: holds the lock
    reader = read_only_factory(make_session_factory(engine))
    started = time.perf_counter()
    with transaction(reader) as s:
        assert s.execute(text("SELECT count(*) FROM t")).scalar() == 1  # its snapshot
    assert time.perf_counter() - started < 1.0  # no waiting for the writer
    writer.commit()
    writer.close()
    with pytest.raises(OperationalError, match="readonly"), transaction(reader) as s:
        s.execute(text("INSERT INTO t VALUES (3)"))
    with engine.connect() as conn:  # the refused write left nothing, the pool is clean
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
    with transaction(make_session_factory(engine)) as s:
        s.execute(text("INSERT INTO t VALUES (4)"))  # a writer after a reader still writes
    engine.dispose()


def test_read_first_units_read_without_the_lock_then_write(tmp_path: Path) -> None:
    from gongshu.db import begin_write, read_first_factory

    engine = _table(tmp_path)
    factory = read_first_factory(make_session_factory(engine))
    writer = make_session_factory(engine)()
    writer.execute(text("INSERT INTO t VALUES (2)"))  # holds the lock
    session = factory()
    assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1  # not blocked
    released = threading.Timer(0.3, lambda: (writer.commit(), writer.close()))
    released.start()
    begin_write(session)  # waits for the writer, then holds the lock itself
    session.execute(text("INSERT INTO t VALUES (3)"))
    session.commit()
    session.close()
    released.join()
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT n FROM t")).scalars()) == [1, 2, 3]
    engine.dispose()


def test_many_writer_threads_queue_on_one_lock_and_all_commit(tmp_path: Path) -> None:
    engine = _table(tmp_path)
    factory = make_session_factory(engine)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for _ in range(20):
                with transaction(factory) as s:
                    s.execute(text("INSERT INTO t VALUES (:n)"), {"n": i})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1 + 8 * 20
    engine.dispose()


def test_writers_in_several_processes_all_commit(tmp_path: Path) -> None:
    """Server processes (GONGSHU_WORKERS) share the writers' queue through its lock file."""
    import subprocess
    import sys

    engine = _table(tmp_path)
    engine.dispose()
    script = (
        "import sys\n"
        "from sqlalchemy import text\n"
        "from gongshu.db import make_engine, make_session_factory, transaction\n"
        "f = make_session_factory(make_engine(sys.argv[1]))\n"
        "for i in range(25):\n"
        "    with transaction(f) as s:\n"
        "        n = s.execute(text('SELECT max(n) FROM t')).scalar()\n"
        "        s.execute(text('INSERT INTO t VALUES (:n)'), {'n': n + 1})\n"
    )
    url = f"sqlite:///{tmp_path / 'u.db'}"
    procs = [subprocess.Popen([sys.executable, "-c", script, url]) for _ in range(3)]
    assert [p.wait(60) for p in procs] == [0, 0, 0]
    engine = make_engine(url)
    with engine.connect() as conn:
        # serialized read-then-write: every increment distinct, none lost
        values = list(conn.execute(text("SELECT n FROM t ORDER BY n")).scalars())
    assert values == list(range(1, 77))
    assert (tmp_path / "u.db-writers.lock").exists()
    engine.dispose()


def test_orm_writes_in_reading_units_are_refused_on_any_bind(tmp_path: Path) -> None:
    """The ORM guard holds on tests' connection-bound sessions too, where no BEGIN is
    ours to choose: a route marked read-only that writes fails in every test."""
    import pytest
    from sqlalchemy import update
    from sqlalchemy.orm import sessionmaker

    from gongshu.changes import ChangeCounter
    from gongshu.db import ReadOnlyUnit, begin_write, read_first_factory, read_only_factory

    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    ChangeCounter.__table__.create(engine)
    with engine.connect() as conn:
        outer = conn.begin()
        factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint")
        reader = read_only_factory(factory)()
        reader.add(ChangeCounter(name="x", value=1))
        with pytest.raises(ReadOnlyUnit, match="ChangeCounter"):
            reader.flush()
        reader.rollback()
        with pytest.raises(ReadOnlyUnit, match="UPDATE"):
            reader.execute(update(ChangeCounter).values(value=2))
        reader.close()
        first = read_first_factory(factory)()
        first.add(ChangeCounter(name="y", value=1))
        with pytest.raises(ReadOnlyUnit):
            first.flush()  # before begin_write
        first.rollback()
        begin_write(first)
        first.add(ChangeCounter(name="y", value=1))
        first.flush()  # after it
        assert first.get(ChangeCounter, "y").value == 1
        first.close()
        outer.rollback()
    engine.dispose()
