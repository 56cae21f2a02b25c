"""Classify a stored version with the discovery engine (mechanism 4, SEC-1/SEC-2).

A sample of rows spread over the whole file is enough to decide each column's
entity codes (the classifier proves values by checksums and formats); the
result is kept on the version so masking, access and search read it without
scanning again.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

SAMPLE_ROWS = 20000


def sample(path: Path, rows: int = SAMPLE_ROWS) -> pa.Table:
    con = duckdb.connect()
    try:
        table = con.sql(
            f"SELECT * FROM read_parquet(?) USING SAMPLE {int(rows)} ROWS (reservoir, 42)",
            params=[str(path)],
        ).to_arrow_table()
    finally:
        con.close()
    return as_text(table)


def as_text(table: pa.Table) -> pa.Table:
    """The classifier reads values as text, as they appear in a register."""
    return pa.table({name: pc.cast(table.column(name), pa.string()) for name in table.column_names})


def classify_file(
    path: Path,
    *,
    today: date | None = None,
    rules=None,  # noqa: ANN001
    rules_version: int = 0,
) -> tuple[dict, dict]:
    """(column_tags, discovery summary) for a Parquet version, by the rules in force."""
    return classify_sample(sample(path), today=today, rules=rules, rules_version=rules_version)


def classify_sample(
    rows: pa.Table,
    *,
    today: date | None = None,
    rules=None,  # noqa: ANN001
    rules_version: int = 0,
) -> tuple[dict, dict]:
    """(column_tags, discovery summary) for a sample of a version's rows (a load keeps
    one while it converts, so its rows are never read back from disk to classify)."""
    from gongshu.discovery.classifier import classify_table

    result = classify_table(as_text(rows), today=today or date.today(), rules=rules)
    tags = {c.name: list(c.entities) for c in result.columns}
    summary = {
        "sampled_rows": result.rows,
        "rules_version": rules_version,
        "grade": result.grade,
        "important_data_candidate": result.important_data_candidate,
        "minors_under_14": result.minors_under_14,
        "reasons": list(result.reasons),
        "columns": [c.to_dict(grading=True) for c in result.columns],
    }
    return tags, summary


def full_scan(
    datasets_dir: Path,
    version,  # noqa: ANN001 - DatasetVersion
    *,
    today: date | None = None,
    rules=None,  # noqa: ANN001
    rules_version: int = 0,
) -> dict:
    """Every row through the discovery kernels: evidence counts for the whole version
    (sealed columns included: the version is read through gongshu.storage)."""
    from gongshu import storage
    from gongshu.discovery.grading import default_rules
    from gongshu.discovery.scanner import _today, scan_table, table_report

    today = today or _today()
    rules = rules or default_rules()
    from gongshu.spark import engine

    stream = storage.stream(datasets_dir, version)
    # GONGSHU_ENGINE=spark: the counting on the cluster, the same result (issue 19 item 2)
    on = "spark" if engine() == "spark" else "local"
    result, encoding = scan_table(stream, today=today, rules=rules, engine=on)
    # the path relative to the datasets directory: stored paths never name the instance's place
    table = table_report(version.path, result, encoding, grading=True)
    table["scanned_at"] = today.isoformat()
    table["mode"] = "full"
    table["rules_version"] = rules_version
    return table
