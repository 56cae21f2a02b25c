"""Temporary files owned by a live process (issue 20 item 3; SEC-9).

Every temporary file of a load, an upload, an export or a stored file being written
lives in this process's own directory of the scratch area ``tmp/`` beside the
directory the file belongs to: ``<data dir>/tmp/<owner>/`` for the datasets directory
and the egress work directory alike, on the same file system as the store, so a
finished file is renamed into place. Beside it, ``<owner>.lock`` is held with ``flock``
for the life of the process: the kernel releases it when the process dies, however it
dies. So a sweep removes at once, whatever their age, the directories whose lock is
free, and never touches the directory of a process still running (another server
process, a ``gongshu worker``, a CLI load). No age rule: a load that takes two hours keeps its
files, a process killed a second ago loses its own.

A file written in scratch and then renamed into the store (``place``) is journalled
first: a marker in the owner's ``placed/`` names it until the transaction that
inserts its row commits (then the marker goes) or rolls back (then the file goes
too). The start-up sweep removes a stored file no row refers to unless a live
process's journal names it.

Why ``flock`` and not a pid file: pids are reused, and a lock cannot outlive its
process. The owner name holds the pid and a random part only to be readable.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from gongshu.storage import objects

SCRATCH = "tmp"
LOCK_SUFFIX = ".lock"
PLACED = "placed"
_PENDING = "gongshu.storage.placed"  # session.info: [(root, rel, marker)] placed in it

_lock = threading.Lock()
_owners: dict[tuple[int, Path], Owner] = {}


@dataclass
class Owner:
    """This process's directory in one scratch area, and the lock that proves it lives."""

    area: Path
    dir: Path
    fd: int
    names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def path(self, hint: str) -> Path:
        """A fresh file name in the directory (``hint`` keeps the suffix readable)."""
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in hint)[-60:]
        return self.dir / f"{next(self.names)}-{secrets.token_hex(4)}-{safe}"


def area(root: Path) -> Path:
    """The scratch area of files that belong under ``root``: ``tmp/`` beside it."""
    return Path(root).resolve().parent / SCRATCH


def owner(root: Path) -> Owner:
    """This process's scratch directory for ``root``, created (and locked) on first use."""
    return owner_in(area(root))


def owner_in(base: Path) -> Owner:
    """This process's directory in the scratch area ``base`` (any directory: the Spark
    driver's staging area too), created and locked on first use."""
    key = (os.getpid(), Path(base))
    with _lock:
        found = _owners.get(key)
        if found is not None and found.dir.is_dir():
            return found
        made = _claim(key[1])
        _owners[key] = made
        return made


def _claim(base: Path) -> Owner:
    base.mkdir(parents=True, exist_ok=True)
    while True:
        name = f"{os.getpid()}-{secrets.token_hex(6)}"
        lock_path = base / f"{name}{LOCK_SUFFIX}"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            still_linked = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            still_linked = False
        if still_linked:  # a sweeper may have taken it for a dead one before we locked it
            directory = base / name
            directory.mkdir(mode=0o700)
            (directory / PLACED).mkdir()
            return Owner(base, directory, fd)
        os.close(fd)


def new_path(root: Path, hint: str = "tmp") -> Path:
    """A fresh path for a temporary file owned by this process, for a file under ``root``."""
    return owner(root).path(hint)


def _alive(lock_path: Path) -> bool:
    """Is the lock held by a process (this one included)? Takes it briefly if not."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return True
    os.close(fd)  # closing drops the lock we just took
    return False


def sweep(root: Path) -> int:
    """Remove the scratch directories of dead processes from ``root``'s scratch area;
    returns the number of files removed. Directories of live processes (this one too)
    stay."""
    return sweep_area(area(root))


def sweep_area(base: Path) -> int:
    """``sweep`` of the scratch area ``base`` itself."""
    if not base.is_dir():
        return 0
    removed = 0
    for entry in list(base.iterdir()):
        if entry.name.endswith(LOCK_SUFFIX):
            directory = entry.with_name(entry.name.removesuffix(LOCK_SUFFIX))
        elif entry.is_dir():
            directory = entry
        else:
            continue
        lock_path = base / f"{directory.name}{LOCK_SUFFIX}"
        if _alive(lock_path):  # this process's own lock counts: flock is per open file
            continue
        if directory.is_dir():
            removed += sum(1 for p in directory.rglob("*") if p.is_file())
            shutil.rmtree(directory, ignore_errors=True)
        lock_path.unlink(missing_ok=True)
    return removed


def live_placements(root: Path) -> set[Path]:
    """Files (resolved paths; objects as ``Path(ObjectStore.uri(rel))``) that live
    processes placed and whose rows may not have committed yet, from ``root``'s
    scratch area: the start-up sweep must leave them."""
    base = area(root)
    found: set[Path] = set()
    if not base.is_dir():
        return found
    for owned in base.iterdir():
        if not owned.is_dir() or not _alive(base / f"{owned.name}{LOCK_SUFFIX}"):
            continue
        for marker in (owned / PLACED).glob("*"):
            with contextlib.suppress(FileNotFoundError):
                found.add(Path(marker.read_text(encoding="utf-8")))
    return found


def place(tmp: Path, root: Path, rel: str, session: Session | None = None) -> Path:
    """Rename the finished temporary file ``tmp`` to ``root/rel`` (fsynced), journalled;
    on object storage, upload it as ``rel`` (``objects``).

    With ``session`` the marker lives until its transaction ends: a commit keeps the
    file (its row now refers to it), a rollback removes it. Without one the caller
    calls ``settle`` itself.
    """
    dest = Path(root) / rel
    store = objects.at(root)
    if not store.remote:
        dest.parent.mkdir(parents=True, exist_ok=True)
    name = store.uri(rel)
    marker = owner(root).dir / PLACED / hashlib.sha256(name.encode()).hexdigest()[:32]
    _write_synced(marker, name.encode())
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    store.put(tmp, rel)  # local: renamed into place and fsynced; S3: uploaded whole
    if session is not None:
        session.info.setdefault(_PENDING, []).append((Path(root), rel, marker))
    return dest


def settle(markers: list[Path]) -> None:
    for marker in markers:
        marker.unlink(missing_ok=True)


def forget(session: Session, rel: str) -> None:
    """``rel`` was removed by its writer (a failed load cleaning up): no longer pending."""
    pending = session.info.get(_PENDING) or []
    for item in [p for p in pending if p[1] == rel]:
        pending.remove(item)
        item[2].unlink(missing_ok=True)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    settle([marker for _, _, marker in session.info.pop(_PENDING, [])])


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    for root, rel, marker in session.info.pop(_PENDING, []):
        objects.at(root).delete(rel)
        marker.unlink(missing_ok=True)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
