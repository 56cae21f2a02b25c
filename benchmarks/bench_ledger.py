"""Benchmark: signing a ledger checkpoint on a large ledger, re-reading every leaf
(the former way, still used below FULL_RECHECK_BELOW entries) against folding in
only the entries since the last checkpoint (ledger.service._extend).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_ledger.py --entries 200000

Entries are appended through ``ledger.record`` into a throwaway SQLite file; then
``checkpoint_every`` (256) more entries, and one checkpoint each way, same process.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from gongshu.capabilities import import_all_models
from gongshu.db import Base, make_engine, make_session_factory, transaction
from gongshu.ledger import service
from gongshu.ledger.keys import InstanceKey


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=200_000)
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
