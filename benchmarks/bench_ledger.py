"""Benchmarks of the ledger.

``verify`` (the default): time and peak memory of ``gongshu ledger verify`` over a
ledger of ``--entries`` entries with a signed checkpoint every 256, in a SQLite
instance built here (or reused with ``--data-dir``):

    PYTHONPATH=src .venv/bin/python benchmarks/bench_ledger.py verify --entries 10000000 \\
        --data-dir /tmp/ledger-10m

The ledger is written straight into the SQLite file (executemany, 50,000 rows a
transaction), each leaf hashed through ``service.entry_leaf_hash`` (the reference
encoding, not the verifier's shortcut), each checkpoint signed as ``checkpoint``
signs it. The command then runs in a child process, measured with ``wait4``
(wall time, peak resident set).

``checkpoint``: signing a checkpoint on a large ledger, re-reading every leaf (the
former way, still used below FULL_RECHECK_BELOW entries) against folding in only
the entries since the last checkpoint (ledger.service._extend):

    PYTHONPATH=src .venv/bin/python benchmarks/bench_ledger.py checkpoint --entries 200000
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from gmalglib.sm2 import SM2 as FastSm2

from gongshu.capabilities import import_all_models
from gongshu.db import Base, make_engine, make_session_factory, transaction
from gongshu.ledger import merkle, service
from gongshu.ledger.keys import InstanceKey
from gongshu.protect import sm2
from gongshu.timeutil import utcnow

EVERY = 256  # Settings.checkpoint_every's default
BATCH = 50_000
ACTIONS = ("egress.delivered", "catalog.published", "dataset.downloaded", "grant.issued")


def _stored_time(value) -> str:  # noqa: ANN001 - SQLAlchemy's SQLite DATETIME text
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def build(data_dir: Path, entries: int) -> None:
    """An instance directory whose SQLite ledger holds ``entries`` valid entries."""
    import_all_models()
    db = data_dir / "gongshu.db"
    engine = make_engine(f"sqlite:///{db}")
    tables = [t for name, t in Base.metadata.tables.items() if name.startswith("ledger_")]
    Base.metadata.create_all(engine, tables=tables)
    engine.dispose()
    key = InstanceKey.load_or_create(data_dir / "keys")
    # The checkpoints are signed through gmalglib's SM2 (C, about 0.2 ms) rather than
    # the server's own signing (gmssl, pure Python, about 17 ms: most of a 10M build):
    # the same GB/T 32918 signature under the same key and user id, which the verifier
    # checks like any other; the build is not what is measured.
    signer = FastSm2(sk=key.sm2_private, pk=key.public_key.point, uid=sm2.DEFAULT_USER_ID)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous=OFF")
    tree = merkle.Accumulator(service.ALGORITHM)
    prev, start, started = service.GENESIS, utcnow(), time.perf_counter()
    rows: list[tuple] = []
    checkpoints: list[tuple] = []
    for i in range(entries):
        created = start + timedelta(microseconds=37 * i)
        action, actor, subject = ACTIONS[i % 4], f"user:{i % 997}", f"entry:{i % 7919}"
        payload = {"dataset_version": i % 1000, "rows": i % 5000, "purpose": "统计分析"}
        leaf = service.entry_leaf_hash(i, created, action, actor, subject, payload, prev)
        rows.append(
            (i, _stored_time(created), action, actor, subject, json.dumps(payload), prev, leaf)
        )
        tree.add(bytes.fromhex(leaf))
        prev = leaf
        if tree.size % EVERY == 0:
            root = tree.root().hex()
            signed_at = created + timedelta(milliseconds=1)
            message = service.checkpoint_message(tree.size, root, signed_at)
            signature = base64.b64encode(signer.sign(message)).decode()
            peaks = json.dumps([p.hex() for p in tree.peaks])
            checkpoints.append(
                (
                    tree.size,
                    root,
                    _stored_time(signed_at),
                    signature,
                    key.fingerprint,
                    peaks,
                    key.algorithm,
                )
            )
        if len(rows) == BATCH or i == entries - 1:
            with conn:
                conn.executemany(
                    "INSERT INTO ledger_entries (position, created_at, action, actor, subject,"
                    " payload, prev_hash, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                conn.executemany(
                    "INSERT INTO ledger_checkpoints (tree_size, root_hash, signed_at,"
                    " signature, key_fingerprint, peaks, signature_algorithm)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    checkpoints,
                )
            rows, checkpoints = [], []
            if (i + 1) % 1_000_000 == 0:
                print(
                    f"  built {i + 1:,} entries, {time.perf_counter() - started:.0f} s", flush=True
                )
    with conn:
        conn.execute(
            "INSERT INTO ledger_head (id, size, last_hash) VALUES (1, ?, ?)", (entries, prev)
        )
    conn.close()
    print(f"built {entries:,} entries in {time.perf_counter() - started:.0f} s", flush=True)


def run_verify(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGSHU_")}
    command = [sys.executable, "-m", "gongshu", "ledger", "verify", "--data-dir", str(data_dir)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    output = proc.stdout.read().strip() if proc.stdout else ""
    print(output)
    print(
        f"gongshu ledger verify: {elapsed:.1f} s wall, {usage.ru_utime + usage.ru_stime:.1f} s"
        f" CPU, peak RSS {usage.ru_maxrss / 1024:.0f} MB, exit {os.waitstatus_to_exitcode(status)}"
    )


def verify_bench(args: argparse.Namespace) -> None:
    if args.data_dir is None:
        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp), args.entries)
            run_verify(Path(tmp))
        return
    data_dir = Path(args.data_dir)
    if not (data_dir / "gongshu.db").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        build(data_dir, args.entries)
    run_verify(data_dir)


def checkpoint_bench(args: argparse.Namespace) -> None:
    import_all_models()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'l.db'}")
        Base.metadata.create_all(engine)
        factory = make_session_factory(engine)
        key = InstanceKey.generate()
        started = time.perf_counter()
        for start in range(0, args.entries, 10_000):
            with transaction(factory) as s:
                for i in range(start, min(start + 10_000, args.entries)):
                    service.record(s, "egress.delivered", actor=f"user:{i % 97}", payload={"n": i})
        print(f"appended {args.entries:,} entries in {time.perf_counter() - started:.1f} s")
        with transaction(factory) as s:
            service.checkpoint(s, key)
        for name, threshold in (("full re-read", 1 << 62), ("incremental", 4096)):
            with transaction(factory) as s:
                for i in range(256):
                    service.record(s, "egress.delivered", actor="user:1", payload={"n": i})
            service.FULL_RECHECK_BELOW = threshold
            with transaction(factory) as s:
                t = time.perf_counter()
                cp = service.checkpoint(s, key)
                elapsed = time.perf_counter() - t
            print(f"{name:>13}: checkpoint at {cp.tree_size:,} entries in {elapsed * 1000:.1f} ms")
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", nargs="?", choices=("verify", "checkpoint"), default="verify")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--data-dir", help="keep (or reuse) the built instance here")
    args = parser.parse_args()
    (verify_bench if args.what == "verify" else checkpoint_bench)(args)


if __name__ == "__main__":
    main()
