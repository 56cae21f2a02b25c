"""The streaming walk over every ledger entry that verification is built on.

Entries are read in pages of ``PAGE`` by position (keyset pagination); each leaf
hash is recomputed and folded into a Merkle accumulator holding only the tree's
peaks, so memory stays flat however long the ledger grows.

Leaves are encoded by a shortcut: the stored payload text is parsed by the
standard library's own JSON scanner (what every reader of the column gets) and
the whole leaf is serialized by ``orjson`` with sorted keys, which for almost
all values writes the same bytes as ``service.leaf_data`` at a fifth of the cost.
It refuses what orjson would misrepresent (NaN and infinities, written as null;
integers beyond 64 bits), and any leaf it does not match (orjson writes 1e-7
where json writes 1e-07) is recomputed through ``leaf_data`` itself before it is
called tampered. Orjson's output parses back to the values it was given, so
equal bytes mean equal values: a shortcut match is a reference match too.

A long ledger is hashed by worker processes (``parallel_pages``): the main process
cuts the ledger into pages by position (an index-only query per page), each worker
reads its pages on a connection of its own and computes their leaf hashes, and the
main process takes the pages back in order and walks the chain and the tree, which
are cheap. A row whose leaf the worker matched travels without its contents; any
other row travels whole and takes the single-process path. A worker also hashes each
aligned run of ``CHUNK`` leaves of a whole page into its subtree root, which the main
process folds in as one peak where no checkpoint falls inside the run (exactly the
peaks its leaves would make one by one), so no per-leaf loop is left in the main
process.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import String, Text, cast, create_engine, func, select, type_coerce
from sqlalchemy.orm import Session

from gongshu.ledger import merkle
from gongshu.ledger.models import LedgerEntry
from gongshu.ledger.service import ALGORITHM, GENESIS, iso, leaf_data
from gongshu.timeutil import as_utc

PAGE = 5120  # entries per query: enough to amortize the round trip, small in memory
# Workers hash aligned runs of CHUNK (a power of two) leaves into one subtree root
# (PAGE a multiple of it, so a ledger numbered from 0 has only whole runs in its pages).
CHUNK = 256
# Below this many entries one process is faster than starting workers.
PARALLEL_FROM = 200_000
IN_FLIGHT = 3  # pages queued per worker (bounds the memory)

# created_at raw (SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' UTC text; PostgreSQL gives
# a datetime) and the payload as its stored JSON text, on both databases.
_ENTRY_COLUMNS = (
    LedgerEntry.position,
    type_coerce(LedgerEntry.created_at, String),
    LedgerEntry.action,
    LedgerEntry.actor,
    LedgerEntry.subject,
    cast(LedgerEntry.payload, Text),
    LedgerEntry.prev_hash,
    LedgerEntry.leaf_hash,
)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


def _refuse(text: str) -> float:
    raise ValueError(text)


# json.loads's scanner, minus its Python wrapper; NaN and infinities refused.
_scan = json.scanner.make_scanner(json.JSONDecoder(parse_float=_finite, parse_constant=_refuse))
_SORTED = orjson.OPT_SORT_KEYS


def iter_pages(session: Session, page: int = PAGE) -> Iterator[list[Any]]:
    """Every entry in position order, ``page`` rows per query (constant memory)."""
    conn = session.connection()
    query = select(*_ENTRY_COLUMNS).order_by(LedgerEntry.position).limit(page)
    rows = conn.execute(query).all()
    while rows:
        yield rows
        rows = conn.execute(query.where(LedgerEntry.position > rows[-1][0])).all()


class Block:
    """A page a worker found whole: consecutive positions from ``start``, every stored
    leaf recomputed, every row chained to the one before. The main process only links
    it to what came before (through ``first``, the page's first row, kept whole so a
    break at the page's edge is named as the single-process walk names it) and folds
    the leaf ``digests`` (32 bytes each, concatenated) into the tree. ``roots`` holds
    the subtree root of each whole run of ``chunk`` leaves starting at a position that
    is a multiple of ``chunk`` (the first at index ``aligned``), which the main process
    folds in as one peak where no checkpoint falls inside the run."""

    __slots__ = ("aligned", "chunk", "count", "digests", "first", "roots", "start")

    def __init__(
        self,
        start: int,
        count: int,
        first: tuple,
        digests: bytes,
        chunk: int = 0,
        aligned: int = 0,
        roots: bytes = b"",
    ) -> None:
        self.start, self.count, self.first, self.digests = start, count, first, digests
        self.chunk, self.aligned, self.roots = chunk, aligned, roots

    def __len__(self) -> int:
        return self.count

    def __getstate__(self) -> tuple:
        return (
            self.start,
            self.count,
            self.first,
            self.digests,
            self.chunk,
            self.aligned,
            self.roots,
        )

    def __setstate__(self, state: tuple) -> None:
        (
            self.start,
            self.count,
            self.first,
            self.digests,
            self.chunk,
            self.aligned,
            self.roots,
        ) = state


def chunk_roots(digests: list[bytes], chunk: int) -> bytes:
    """The RFC 6962 root of each run of ``chunk`` (a power of two) leaf hashes in
    ``digests`` (whose length is a multiple of ``chunk``), concatenated: the tree is
    built level by level, a pass of node hashes per level."""
    node = merkle.prefixed_hasher(b"\x01", ALGORITHM)
    level = digests
    width = 1
    while width < chunk:
        pairs = iter(level)
        level = [node(left + right) for left, right in zip(pairs, pairs, strict=True)]
        width *= 2
    return b"".join(level)


def hash_rows(rows: list[Any], chunk: int = 0) -> Block | list[tuple]:
    """A page with each leaf hashed: a ``Block`` when the page is whole in itself (with
    the roots of its aligned runs of ``chunk`` leaves, if ``chunk``), else each row as
    ``(position, None x5, prev_hash, leaf_hash, digest)`` when its leaf matched the
    stored one, or whole with None (the single-process path names it)."""
    leaf = merkle.prefixed_hasher(b"\x00", ALGORITHM)
    shortcut = leaf_shortcut
    digests = []
    whole = bool(rows)
    start = rows[0][0] if whole else 0
    prev_stored = rows[0][6] if whole else None
    for position, row in enumerate(rows, start):
        data = shortcut(row)
        digest = leaf(data) if data is not None else None
        if (
            digest is None
            or row[0] != position
            or row[6] != prev_stored
            or digest.hex() != (prev_stored := row[7])
        ):
            whole = False
            break
        digests.append(digest)
    if whole:
        count = len(rows)
        aligned, roots = 0, b""
        if chunk > 0:
            aligned = -start % chunk
            runs = max(0, (count - aligned) // chunk)
            if runs:
                roots = chunk_roots(digests[aligned : aligned + runs * chunk], chunk)
        return Block(start, count, (*rows[0], digests[0]), b"".join(digests), chunk, aligned, roots)
    out = []
    for row in rows:
        data = leaf_shortcut(row)
        digest = leaf(data) if data is not None else None
        if digest is not None and digest.hex() == row[7]:
            out.append((row[0], None, None, None, None, None, row[6], row[7], digest))
        else:
            out.append((*row, None))
    return out


def _page_query(lo: int | None, hi: int | None) -> Any:  # noqa: ANN401
    query = select(*_ENTRY_COLUMNS).order_by(LedgerEntry.position)
    if lo is not None:
        query = query.where(LedgerEntry.position >= lo)
    if hi is not None:
        query = query.where(LedgerEntry.position < hi)
    return query


def _worker(url: str, tasks: Any, results: Any, chunk: int = 0) -> None:  # noqa: ANN401
    """A worker process: read each page it is given and hash its leaves (and the roots
    of its aligned runs of ``chunk`` leaves)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            cursor = conn.connection.cursor()  # the driver's rows: a fifth cheaper per row
            while (task := tasks.get()) is not None:
                query = _page_query(*task).compile(
                    dialect=engine.dialect, compile_kwargs={"literal_binds": True}
                )
                cursor.execute(str(query))
                results.put(hash_rows(cursor.fetchall(), chunk))
    finally:
        engine.dispose()


def _bounds(session: Session, page: int) -> Iterator[tuple[int | None, int | None]]:
    """Page bounds ``[lo, hi)`` by position, every row in exactly one page whatever
    the positions are (the first has no lower bound, the last no upper one)."""
    conn = session.connection()
    step = select(LedgerEntry.position).order_by(LedgerEntry.position).limit(1).offset(page)
    lo: int | None = None
    while True:
        query = step if lo is None else step.where(LedgerEntry.position >= lo)
        hi = conn.execute(query).scalar()
        yield lo, hi
        if hi is None:
            return
        lo = hi


def parallel_pages(
    session: Session, url: str, workers: int, page: int = PAGE
) -> Iterator[list[Any]]:
    """Every entry in position order, a page at a time, leaves hashed by ``workers``
    processes; pages come back in the order they were cut."""
    ctx = multiprocessing.get_context("spawn")
    queues = [(ctx.Queue(), ctx.Queue()) for _ in range(workers)]
    procs = [
        ctx.Process(target=_worker, args=(url, tasks, results, CHUNK), daemon=True)
        for tasks, results in queues
    ]
    for proc in procs:
        proc.start()
    bounds = _bounds(session, page)
    order: deque[int] = deque()
    issued = 0
    try:
        done = False
        while True:
            while not done and len(order) < workers * IN_FLIGHT:
                task = next(bounds, None)
                if task is None:
                    done = True
                    break
                queues[issued % workers][0].put(task)
                order.append(issued % workers)
                issued += 1
            if not order:
                return
            rows = queues[order.popleft()][1].get()
            if rows:
                yield rows
    finally:
        for tasks, _ in queues:
            tasks.put(None)
        for proc in procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()


def pages_for(session: Session, workers: int | None = None) -> Iterator[list[Any]]:
    """The page source of a walk: worker processes for a long ledger in a database
    another process can open, else this process alone."""
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    url = session.connection().engine.url
    shared = url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")
    if workers > 0 and shared:
        conn = session.connection()
        span = conn.execute(
            select(func.max(LedgerEntry.position) - func.min(LedgerEntry.position))
        ).scalar()
        if span is not None and span + 1 >= PARALLEL_FROM:
            url_text = url.render_as_string(hide_password=False)
            return parallel_pages(session, url_text, workers, page=PAGE)
    return iter_pages(session, PAGE)


def leaf_shortcut(row: Any) -> bytes | None:
    """``leaf_data`` of a stored row, or None when the shortcut cannot vouch for it."""
    position, created, action, actor, subject, payload, prev_hash, _ = row
    if type(created) is str and len(created) == 26 and created[10] == " ":
        when = created[:10] + "T" + created[11:] + "+00:00"
    elif isinstance(created, datetime):
        when = iso(created)
    else:
        return None
    try:
        if payload is None:
            data = None
        else:
            data, end = _scan(payload, 0)
            if end != len(payload):
                return None
        return orjson.dumps(
            {
                "action": action,
                "actor": actor,
                "created_at": when,
                "payload": data,
                "position": position,
                "prev_hash": prev_hash,
                "subject": subject,
            },
            option=_SORTED,
        )
    except (StopIteration, TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        return None


def leaf_reference(row: Any) -> bytes | None:
    """``leaf_data`` exactly as ``record`` computed it, from the decoded values."""
    position, created, action, actor, subject, payload, prev_hash, _ = row
    try:
        if isinstance(created, str):
            created = as_utc(datetime.fromisoformat(created))
        if isinstance(payload, str):
            payload = json.loads(payload)
        return leaf_data(position, created, action, actor, subject, payload, prev_hash)
    except (TypeError, ValueError):
        return None


class Walk:
    """Position order, chain and leaf hashes of every entry, as they stream past.

    Per row: the position is the next integer (else a row was deleted or
    duplicated), ``prev_hash`` is the previous row's recomputed hash (else the
    chain is broken: the previous row was inserted or rewritten, or this one was
    moved), and the stored leaf hash matches the recomputed one (else the row was
    edited). ``problem`` holds the first failure; the walk stops there."""

    def __init__(self, watch: int = -1) -> None:
        self.n = 0
        self.tree = merkle.Accumulator(ALGORITHM)
        self.prev, self.before_prev = GENESIS, ""
        self.watch, self.watched = watch, None  # the leaf hash at position ``watch``
        self.first_bad: int | None = None
        self.problem: str | None = None
        self._leaf = merkle.prefixed_hasher(b"\x00", ALGORITHM)
        self._node = merkle.prefixed_hasher(b"\x01", ALGORITHM)

    def feed(self, rows: list[Any], start: int, stop: int) -> int:
        """Walk ``rows[start:]`` until the tree holds ``stop`` leaves, the page ends
        or a problem is found; returns the index of the first row not walked."""
        if isinstance(rows, Block):
            return self._feed_block(rows, start, stop)
        n, prev, before, watch = self.n, self.prev, self.before_prev, self.watch
        leaf, node, peaks = self._leaf, self._node, self.tree.peaks
        index = start
        try:
            for index in range(start, len(rows)):  # noqa: B007 - returned below
                if n == stop:
                    return index
                row = rows[index]
                if len(row) == 9:  # hashed by a worker: its digest matched the stored leaf
                    digest = row[8] if row[0] == n else None
                    leaf_hex = row[7] if digest is not None else ""
                else:
                    data = leaf_shortcut(row) if row[0] == n else None
                    digest = leaf(data) if data is not None else b""
                    leaf_hex = digest.hex()
                if leaf_hex != row[7] or row[6] != prev:
                    self.n, self.prev, self.before_prev = n, prev, before
                    digest = self._check(row)
                    if digest is None:
                        return index
                    leaf_hex = digest.hex()
                carry, grown = n, digest  # fold into the peaks: a binary counter's carry
                while carry & 1:
                    grown = node(peaks.pop() + grown)
                    carry >>= 1
                peaks.append(grown)
                if n == watch:
                    self.watched = leaf_hex
                before, prev = prev, leaf_hex
                n += 1
            return len(rows)
        finally:
            self.n = self.tree.size = n
            self.prev, self.before_prev = prev, before

    def _feed_block(self, block: Block, start: int, stop: int) -> int:
        """``feed`` over a worker's whole page: link its first row to what came before,
        then fold the digests (no per-row checks left to do)."""
        if start == 0:
            first = block.first
            if first[0] != self.n or first[6] != self.prev:
                if self._check(first) is None:
                    return 0
        end = block.count if stop < 0 else min(block.count, start + stop - self.n)
        if end <= start:
            return start
        node, peaks, digests = self._node, self.tree.peaks, block.digests
        chunk, aligned, roots = block.chunk, block.aligned, block.roots
        n = self.n  # the position of row ``start`` (linked above or by the walk so far)
        k = start
        while k < end:
            if chunk and n % chunk == 0 == (k - aligned) % chunk and aligned <= k <= end - chunk:
                # a whole aligned run as one peak: the tree's size is a multiple of
                # ``chunk`` (a power of two), so its leaves added one by one would merge
                # into exactly this root before reaching an older peak
                j = 32 * ((k - aligned) // chunk)
                if j < len(roots):
                    carry, grown = n // chunk, roots[j : j + 32]
                    while carry & 1:
                        grown = node(peaks.pop() + grown)
                        carry >>= 1
                    peaks.append(grown)
                    n += chunk
                    k += chunk
                    continue
            carry, grown = n, digests[32 * k : 32 * k + 32]
            while carry & 1:
                grown = node(peaks.pop() + grown)
                carry >>= 1
            peaks.append(grown)
            n += 1
            k += 1
        if self.n <= self.watch < n:
            k = start + self.watch - self.n
            self.watched = digests[32 * k : 32 * k + 32].hex()
        self.before_prev = (
            digests[32 * (end - 2) : 32 * (end - 1)].hex() if end - 2 >= start else self.prev
        )
        self.prev = digests[32 * (end - 1) : 32 * end].hex()
        self.n = self.tree.size = n
        return end

    def _check(self, row: Any) -> bytes | None:
        """The slow path for a row the fast one did not accept: the reference encoding,
        then the problem, named, if there is one (None returned)."""
        i, position = self.n, row[0]
        if position > i:
            return self._fail(i, f"第 {i} 条记录缺失：其后直接是第 {position} 条")
        if position < i:
            return self._fail(position, f"第 {position} 条记录重复")
        if len(row) == 9 and row[8] is not None:  # a worker matched its leaf already
            digest = row[8]
        else:
            data = leaf_reference(row[:8])
            digest = self._leaf(data) if data is not None else b""
        leaf_hex, stored, prev_hash = digest.hex(), row[7], row[6]
        if prev_hash != self.prev:
            if i >= 2 and prev_hash == self.before_prev:
                return self._fail(i - 1, f"第 {i - 1} 条记录是插入的")
            if i >= 1 and leaf_hex == stored:
                return self._fail(i - 1, f"第 {i - 1} 条记录被改写：与第 {i} 条的前序哈希不符")
            return self._fail(i, f"第 {i} 条记录的前序哈希不符：记录被删除、插入或调换了顺序")
        if leaf_hex != stored:
            return self._fail(i, f"第 {i} 条记录内容被篡改")
        return digest

    def _fail(self, position: int, problem: str) -> None:
        self.first_bad, self.problem = position, problem
        return None


def walk(
    session: Session,
    walker: Walk,
    stops: Iterator[tuple[int, Any]],
    on_stop: Any,  # noqa: ANN401 - Callable[[item], None]
    workers: int | None = None,
) -> tuple[int, Any] | None:
    """Drive ``walker`` over every entry; each time the tree reaches the size of an
    item of ``stops`` (``(size, item)`` pairs by ascending size), call
    ``on_stop(item)``. Sizes below the current one (below 1) are passed at once.
    Returns the first stop the walk did not reach (the rest stay in ``stops``).
    ``workers``: hashing processes for a long ledger (default: up to two; 0: none)."""
    stop, item = next(stops, (None, None))
    pages = pages_for(session, workers)
    try:
        return _drive(walker, pages, stop, item, stops, on_stop)
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()  # a parallel source stops its workers


def _drive(walker, pages, stop, item, stops, on_stop):  # noqa: ANN001, ANN202
    rows: list[Any] = []
    index = 0
    while True:
        while stop is not None and stop <= walker.n:
            on_stop(item)
            stop, item = next(stops, (None, None))
        if index == len(rows):
            rows, index = next(pages, []), 0
            if not rows:
                break
        index = walker.feed(rows, index, stop if stop is not None else -1)
        if walker.problem is not None:
            break
    return None if stop is None else (stop, item)
