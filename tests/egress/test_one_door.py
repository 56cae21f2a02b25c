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
    "egress/query.py": "the door's query, built and run only by egress/service.deliver",
    "datasets/service.py": "the providing agency's own preview (refuses anyone else)",
    "datasets/classify.py": "discovery sample for classification; nothing leaves",
    "tabular.py": "reads files being loaded or scanned, not stored versions",
    "datasets/anonymized.py": "the PIP-9 re-identification check in the platform; nothing leaves",
}


def test_only_the_door_reads_stored_data() -> None:
    readers = {
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if READS.search(p.read_text(encoding="utf-8"))
    }
    assert readers - set(ALLOWED) == set(), "a new reader of dataset contents"
    assert "egress/query.py" in readers  # the door reads through its query module
