"""Change counters: a number per kind of data that grows with every committed change,
so caches in any server process can tell that what they hold is out of date.

The open catalog's search (opendata/search.py) caches its results per process under
the ``catalog`` counter, which only changes the public can see move (an open entry, a
data version, a provider or region): a draft or any other entry outside the open
catalog bumps ``catalog_text`` alone, the counter of the catalog's full-text index.

A counter is given a fresh value inside the writing transaction (XORed with a random
number, in the database: the write waits for the transaction that moved it before), by
a session event that sees every ORM flush and every ORM bulk statement on the watched
tables, so a cache can never outlive the commit that changed the data: readers read
the counter first, then the data, in one transaction. Random, not +1: a rolled-back
change (tests roll back every test) must not hand the next change the same value. Raw
SQL bypasses the events; the cache keys also hold a row count.

A counter may keep a journal (``journal``): each transaction this process commits
logs the random number it XORed in and the primary keys of the rows it changed, so a
cache that knows the counter's value it was built at can tell exactly which rows
changed since (``journaled``) and read only those. It can tell only when the numbers
logged explain the whole difference between the two values: a change made by another
process, by a savepoint rolled back, or to a table the journal does not name leaves it
unexplained, and the cache reads everything as before.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, event, insert, inspect, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from gongshu.db import Base, changed_objects


class ChangeCounter(Base):
    __tablename__ = "change_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# counter name -> the mapped classes whose rows it covers (filled by ``watch``)
_WATCHED: dict[str, tuple[type, ...]] = {}
# (counter name, class) -> which of its objects' flushed changes count (default: all)
_WHEN: dict[tuple[str, type], Callable[[Session, Any], bool]] = {}


def watch(name: str, *classes: type, when: Callable[[Session, Any], bool] | None = None) -> None:
    """Bump ``name`` whenever rows of ``classes`` are inserted, updated or deleted; with
    ``when``, only for the flushed objects it accepts (``when(session, obj)``, called
    before the flush: the object's history still holds its old values). ORM bulk
    statements on the classes always bump."""
    _WATCHED[name] = tuple(dict.fromkeys(_WATCHED.get(name, ()) + classes))
    for cls in classes:
        if when is None:
            _WHEN.pop((name, cls), None)
        else:
            _WHEN[(name, cls)] = when


_ALL = select(ChangeCounter.__table__.c.name, ChangeCounter.__table__.c.value)
_READ = "gongshu.changes.read"  # session.info: (transaction, {name: value}) read in it


def values(session: Session) -> dict[str, int]:
    """Every counter, read once per transaction (a bump in it reads them again)."""
    memo = session.info.get(_READ)
    if memo is not None and memo[0] is session.get_transaction():
        return memo[1]
    read = {name: value for name, value in session.connection().execute(_ALL)}
    session.info[_READ] = (session.get_transaction(), read)
    session.info.pop(_BUMPED, None)  # read: the next change must move the counters again
    return read


def current(session: Session, name: str) -> int:
    return values(session).get(name, 0)


_COUNTERS = ChangeCounter.__table__
# Built once, run on the session's connection (no ORM statement machinery a bump). The
# value is XORed with the random number ((a | b) - (a & b) on both databases): on
# PostgreSQL a writer waiting for the row's lock then XORs the value committed before it,
# so the value is every committed change's number XORed together (the journal's check).
_SET = (
    update(_COUNTERS)
    .where(_COUNTERS.c.name == bindparam("n"))
    .values(
        value=_COUNTERS.c.value.op("|")(bindparam("v", type_=BigInteger))
        - _COUNTERS.c.value.op("&")(bindparam("v", type_=BigInteger))
    )
)
_ADD = insert(_COUNTERS).values(name=bindparam("n"), value=bindparam("v"))
# session.info: (transaction, names bumped in it since the counters were last read)
_BUMPED = "gongshu.changes.bumped"


def bump(session: Session, name: str) -> None:
    """Give ``name`` a fresh value in the session's transaction. Once bumped, a counter
    is not bumped again until someone reads the counters in this transaction: no cache
    can hold anything under the value it has now, so a second write changes nothing."""
    transaction = session.get_transaction()
    bumped = session.info.get(_BUMPED)
    if bumped is not None and bumped[0] is transaction and name in bumped[1]:
        return
    session.info.pop(_READ, None)
    value = secrets.randbits(62)
    connection = session.connection()
    if not connection.execute(_SET, {"n": name, "v": value}).rowcount:
        connection.execute(_ADD, {"n": name, "v": value})
    if bumped is None or bumped[0] is not transaction:
        bumped = (transaction, set())
        session.info[_BUMPED] = bumped
    bumped[1].add(name)
    if name in _JOURNALED:
        pending = session.info.setdefault(_PENDING, {}).setdefault(name, [0, set()])
        pending[0] ^= value


def _counts(session: Session, name: str, obj: Any) -> bool:
    for cls in type(obj).__mro__:
        when = _WHEN.get((name, cls))
        if when is not None:
            return when(session, obj)
    return True


def _touched(session: Session, objects: Any) -> set[str]:
    return {
        name
        for name, classes in _WATCHED.items()
        if any(isinstance(obj, classes) and _counts(session, name, obj) for obj in objects)
    }


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, _context: Any, _instances: Any) -> None:
    # Every flush, not once a transaction: a transaction may change, read (and cache
    # under the new value), then change again.
    for name in sorted(_touched(session, changed_objects(session))):
        bump(session, name)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    # a savepoint rolled back may have undone a bump read here: read the counters again
    # (and bump again on the next change)
    session.info.pop(_READ, None)
    session.info.pop(_BUMPED, None)
    if transaction.parent is None:  # committed (logged already) or rolled back
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "do_orm_execute")
def _on_bulk(state: Any) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ is ChangeCounter:
        return
    for name, classes in sorted(_WATCHED.items()):
        if issubclass(mapper.class_, classes):
            bump(state.session, name)
            if name in _JOURNALED:  # which rows a bulk statement changed is not known
                pending = state.session.info.setdefault(_PENDING, {})
                pending.setdefault(name, [0, set()])[1] = None


# ---------------------------------------------------------------- journals

# counter name -> the mapped class whose changed rows its journal names (by primary key)
_JOURNALED: dict[str, type] = {}
# session.info: counter name -> [XOR of the numbers bumped in, changed keys or None]
_PENDING = "gongshu.changes.pending"
# (database URL, counter name) -> deque of (position, number, keys or None), oldest first
_LOGS: dict[tuple[str, str], deque] = {}
_LOG_LOCK = threading.Lock()
_LOG_SIZE = 4096
# How many entries before its position a reader's own read may not have seen (its
# snapshot can be older than the moment it took the position).
_SLACK = 64


def journal(name: str, cls: type) -> None:
    """Log, for each transaction this process commits that bumps ``name``, the primary
    keys of the ``cls`` rows it changed (any other class under ``name`` changed, or an
    ORM bulk statement, logs "unknown")."""
    _JOURNALED[name] = cls


def _url(session: Session) -> str:
    bind = session.get_bind()
    return str(getattr(bind, "url", None) or bind.engine.url)


@event.listens_for(Session, "after_flush")
def _note_keys(session: Session, _context: Any) -> None:
    # After the flush new rows have their keys; new/dirty/deleted still hold what it wrote.
    if not _JOURNALED:
        return
    objects = None
    for name, cls in _JOURNALED.items():
        if objects is None:
            objects = changed_objects(session)
        watched = _WATCHED.get(name, ())
        mine = [o for o in objects if isinstance(o, watched)]
        if not mine:
            continue
        pending = session.info.setdefault(_PENDING, {}).setdefault(name, [0, set()])
        if pending[1] is None:
            continue
        for obj in mine:
            state = inspect(obj)
            key = state.identity or state.mapper.primary_key_from_instance(obj)
            if not isinstance(obj, cls) or len(key) != 1 or key[0] is None:
                pending[1] = None
                break
            pending[1].add(key[0])


@event.listens_for(Session, "after_commit")
def _log(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its changes are pending
        return
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    url = _url(session)
    with _LOG_LOCK:
        for name, (number, keys) in pending.items():
            if not number:  # keys noted, nothing bumped: not this counter's change
                continue
            log = _LOGS.setdefault((url, name), deque(maxlen=_LOG_SIZE))
            position = log[-1][0] + 1 if log else 1
            log.append((position, number, None if keys is None else frozenset(keys)))


def position(session: Session, name: str) -> int:
    """Where ``name``'s journal ends now (for ``journaled``'s ``seen``)."""
    with _LOG_LOCK:
        log = _LOGS.get((_url(session), name))
        return log[-1][0] if log else 0


def journaled(
    session: Session, name: str, before: int, now: int, seen: int
) -> tuple[set[Any], int] | None:
    """The primary keys of the rows changed between two values of counter ``name``
    (``before``, read at journal position ``seen``, and ``now``) and the position to
    pass next time; None when this process's journal does not explain the whole change
    (a run of its entries whose numbers XOR to ``before ^ now``, every one with known
    keys): the caller must then read everything."""
    target = before ^ now
    if not target:  # the counter did not move: whatever changed, the journal did not see it
        return None
    with _LOG_LOCK:
        log = _LOGS.get((_url(session), name))
        if not log or log[0][0] > seen + 1:  # never written, or entries dropped unseen
            return None
        entries = [e for e in log if e[0] > seen - _SLACK]
    prefix, first = [0], {0: 0}
    for i, (_position, number, _keys) in enumerate(entries, 1):
        prefix.append(prefix[-1] ^ number)
        first.setdefault(prefix[-1], i)
    for end in range(len(entries), 0, -1):
        start = first.get(prefix[end] ^ target)
        if start is None or start >= end:
            continue
        keys: set[Any] = set()
        for _position, _number, changed in entries[start:end]:
            if changed is None:
                return None
            keys |= changed
        return keys, entries[end - 1][0]
    return None


class Cache:
    """A small per-process LRU of values keyed by counters' values and a key."""

    def __init__(self, counter: str | tuple[str, ...], size: int = 256) -> None:
        self.counters = (counter,) if isinstance(counter, str) else counter
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, session: Session, key: Hashable, compute: Callable[[], Any], *, stamp: Any = None
    ) -> Any:
        """``compute()``'s value for ``key`` under the counters' current values (and the
        caller's ``stamp``), computed once per process until a counter changes."""
        bind = session.get_bind()
        url = str(getattr(bind, "url", None) or bind.engine.url)
        read = values(session)
        full = (url, *(read.get(c, 0) for c in self.counters), stamp, key)
        with self._lock:
            if full in self._items:
                self._items.move_to_end(full)
                return self._items[full]
        value = compute()
        with self._lock:
            self._items[full] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
