"""No module but the egress door reads dataset contents for a recipient.

A code check: any module that opens stored Parquet or runs DuckDB must be on
this list with the reason it is not a read for someone else. A new reader
fails here until someone decides it belongs behind the door.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "gongshu"
READS = re.compile(r"read_parquet|pq\.read_table|ParquetFile\(|duckdb\.connect|iter_batches")
ALLOWED = {
    "egress/service.py": "the door itself",
    "datasets/storage.py": "opens stored versions (sealed columns decrypted) for the readers here",
    "egress/query.py": "the door's query, built and run only by egress/service.deliver",
    "datasets/service.py": "the providing agency's own preview (refuses anyone else)",
    "datasets/classify.py": "discovery sample for classification; nothing leaves",
    "tabular.py": "reads files being loaded or scanned, not stored versions",
    "discovery/jsoncells.py": "parses JSON cells of the batch being scanned, in memory; no file",
    "datasets/anonymized.py": "the PIP-9 re-identification check in the platform; nothing leaves",
    "operation/sandbox.py": (
        "the operator's SQL over granted, masked versions inside the platform (OPR-4); "
        "only results that pass the disclosure check become products, which leave through the door"
    ),
    "privacy/finder.py": "finds a person's rows for their rights request (PIP-5); row numbers only",
    "privacy/tombstones.py": "rewrites a version without a person's rows (PIP-6); nothing leaves",
    "quality/engine.py": "in-platform quality checks (QUA-1); only masked examples are shown",
    "quality/onesource.py": "in-platform duplicate finder (AGG-2); keyed hashes, only counts",
}


def test_only_the_door_reads_stored_data() -> None:
    readers = {
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if READS.search(p.read_text(encoding="utf-8"))
    }
    assert readers - set(ALLOWED) == set(), "a new reader of dataset contents"
    assert "egress/query.py" in readers  # the door reads through its query module
