"""SQLAlchemy engine, sessions and the declarative base.

Engines are created by entry points (CLI, server factory, tests), never at
import. Services take a Session and flush; the caller commits.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from gongshu.timeutil import as_utc

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict: JSON, list: JSON}


class WriterQueue:
    """The writers of one SQLite database, in this process (a thread lock) and across
    server processes (an advisory ``flock`` on a file beside the database, which the
    kernel drops with a process that dies). Waiting polls the file lock every 0.2 to
    2 ms, against SQLite's own 1, 2, 5 ... 100 ms sleeps."""

    def __init__(self, lock_file: Path | None) -> None:
        self._threads = threading.Lock()
        self._lock_file = lock_file
        self._fd: int | None = None
        self._holds_file = False

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            return False
        if self._lock_file is None:
            return True
        try:
            if self._fd is None:
                self._fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            pause = 0.0002
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._holds_file = True
                    return True
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        return True  # only this process's writers are queued now
                    time.sleep(pause)
                    pause = min(pause * 2, 0.002)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        if self._holds_file and self._fd is not None:
            self._holds_file = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


def make_engine(url: str, *, pool_size: int | None = None, pool_timeout: float = 30) -> Engine:
    """Create the engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    ``pool_size``: a fixed pool of that many connections (no overflow), sized by the
    caller to what it may ask for at once (``Settings.pool_size``: the server's
    handler threads and the few threads beside them), so a request never waits on a
    pool that cannot serve it; a wait past ``pool_timeout`` raises SQLAlchemy's
    ``TimeoutError``, which the app answers with 503. Without it, SQLAlchemy's
    default (5 + 10 overflow) for scripts and tests."""
    pool = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": 0}
    pool["pool_timeout"] = pool_timeout
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:
            pool = {}  # one in-memory database: SQLAlchemy picks a pool that keeps it
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **pool
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            # Let SQLAlchemy, not pysqlite, emit BEGIN so SAVEPOINTs work.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            # IMMEDIATE: take the write lock at the start (waiting up to the busy timeout).
            # A deferred transaction that reads and then writes fails at once with
            # "database is locked" when another connection wrote in between (WAL
            # cannot upgrade a stale snapshot), so concurrent requests would error.
            # Read-only units of work (``read_only_factory``) begin deferred, take no
            # lock at all under WAL, and are made query-only so a write in one fails
            # at once and always, not only under contention.
            options = conn.get_execution_options()
            if options.get(READ_ONLY) or (options.get(READ_FIRST) and not _WRITE_NOW.get()):
                conn.exec_driver_sql("PRAGMA query_only = ON")
                conn.exec_driver_sql("BEGIN")
            else:
                # Writers queue on a lock of ours first (WriterQueue): SQLite's busy
                # handler sleeps up to 100 ms a try while the lock may be long free.
                # Held until the transaction ends; past the busy timeout SQLite
                # decides alone.
                if writers.acquire(timeout=30):
                    conn.info[_HOLDS_WRITERS] = True
                try:
                    conn.exec_driver_sql("PRAGMA query_only = OFF")
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                except BaseException:
                    _release(conn)
                    raise

        writers = WriterQueue(Path(path + "-writers.lock") if path and path != ":memory:" else None)

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _release(conn):  # noqa: ANN001
            if conn.info.pop(_HOLDS_WRITERS, False):
                writers.release()

        @event.listens_for(engine.pool, "reset")
        def _reset(_dbapi_conn, record, _state):  # noqa: ANN001
            if record.info.pop(_HOLDS_WRITERS, False):  # returned without an end
                writers.release()

        return engine
    engine = create_engine(url, pool_pre_ping=True, **pool)

    @event.listens_for(engine, "begin")
    def _pg_begin(conn):  # noqa: ANN001
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    return engine


# Execution options marking a unit of work that only reads (see read_only_factory), or
# reads first and writes a record at the end (read_first_factory, begin_write).
READ_ONLY = "gongshu_read_only"
READ_FIRST = "gongshu_read_first"
_HOLDS_WRITERS = "gongshu_holds_writers"
_WRITE_NOW: ContextVar[bool] = ContextVar("gongshu_write_now", default=False)


def make_session_factory(bind) -> sessionmaker[Session]:  # noqa: ANN001
    return sessionmaker(bind=bind, expire_on_commit=False)


def _marked(factory: sessionmaker[Session], option: str) -> sessionmaker[Session]:
    """``factory``'s sessions with ``option`` in Session.info (the ORM guard below, on
    every database and in tests' connection-bound sessions too) and, on an engine,
    as an execution option (the begin events above: no lock, query-only, READ ONLY)."""
    kw = dict(factory.kw)
    kw["info"] = {**(kw.get("info") or {}), option: True}
    bind = kw.get("bind")
    if isinstance(bind, Engine):
        kw["bind"] = bind.execution_options(**{option: True})
    return sessionmaker(**kw)


def read_only_factory(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions like ``factory``'s whose transactions only read: on SQLite they take
    no write lock (many readers at once, in one process or several), on PostgreSQL
    they are READ ONLY; an ORM write in one raises ``ReadOnlyUnit`` everywhere."""
    return _marked(factory, READ_ONLY)


def read_first_factory(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions that read like ``read_only_factory``'s until ``begin_write``: for
    requests that do their work reading (a page of data through the egress door) and
    end by recording it. On SQLite an IMMEDIATE transaction would hold the one write
    lock through all of the reading."""
    return _marked(factory, READ_FIRST)


def begin_write(session: Session) -> None:
    """From here on ``session`` writes. A read-first session on SQLite ends its
    reading transaction and begins one holding the write lock; what it read stays
    loaded (expire_on_commit is off) and is what the caller decided on. Any other
    session already may write: nothing to do."""
    if not session.info.get(READ_FIRST) or session.info.get(_WRITING):
        return
    session.info[_WRITING] = True
    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return
    session.commit()
    token = _WRITE_NOW.set(True)
    try:
        session.connection()  # BEGIN IMMEDIATE, now
    finally:
        _WRITE_NOW.reset(token)


_WRITING = "gongshu_writing"


def end_reading(session: Session) -> None:
    """A read-first session about to work for long without the database (a load
    converting a file) ends its reading transaction: it would hold a snapshot (SQLite
    cannot checkpoint its WAL past it) and a pooled connection all that time. What it
    read stays loaded; ``begin_write`` later takes the write lock. Any other session:
    nothing to do (its transaction goes on)."""
    if not session.info.get(READ_FIRST) or session.info.get(_WRITING):
        return
    if isinstance(session.get_bind(), Engine):
        session.commit()


class ReadOnlyUnit(RuntimeError):
    """A write in a unit of work declared read-only (a programming error: the route's
    ``unit_of_work`` is wrong, or a read-first unit wrote before ``begin_write``)."""


def changed_objects(session: Session) -> list[object]:
    """What the next flush writes: new, deleted, and really modified objects."""
    return [
        *session.new,
        *session.deleted,
        *(o for o in session.dirty if session.is_modified(o)),
    ]


def _reading(session: Session) -> bool:
    return bool(session.info.get(READ_ONLY)) or (
        bool(session.info.get(READ_FIRST)) and not session.info.get(_WRITING)
    )


@event.listens_for(Session, "before_flush")
def _refuse_flush(session: Session, _context: object, _instances: object) -> None:
    if not _reading(session):
        return
    changed = changed_objects(session)
    if changed:
        names = sorted({type(o).__name__ for o in changed})
        raise ReadOnlyUnit(f"write in a read-only unit of work: {', '.join(names)}")


@event.listens_for(Session, "do_orm_execute")
def _refuse_statement(state) -> None:  # noqa: ANN001
    if (state.is_insert or state.is_update or state.is_delete) and _reading(state.session):
        raise ReadOnlyUnit(f"write in a read-only unit of work: {state.statement}")


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
