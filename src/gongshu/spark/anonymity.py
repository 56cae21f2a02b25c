"""k-anonymity, l-diversity and t-closeness measured, and generalization searched,
on Spark (issue 19 item 2).

Each task counts the distinct rows of its batches over the quasi-identifiers and
sensitive attributes (Arrow's hash group-by); the driver merges the partial counts
the same way and ``gongshu.protect.anonymity.measure_counts`` computes k, l
and t from them: the same report as ``measure`` over the whole table in process.
Only the counts travel, never rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from gongshu.protect.anonymity import AnonymityReport, measure_counts
from gongshu.protect.generalization import GeneralizationResult, Hierarchy, generalize_counts
from gongshu.spark import tasks
from gongshu.storage.objects import Remote

COUNT = "__gongshu_count"


def _columns(quasi_identifiers: Sequence[str], sensitive: str | Sequence[str] | None) -> list[str]:
    sens = [sensitive] if isinstance(sensitive, str) else list(sensitive or ())
    return list(dict.fromkeys([*quasi_identifiers, *sens]))


def count_rows(batch: pa.RecordBatch | pa.Table, keys: list[str]) -> pa.Table:
    """Distinct rows over ``keys`` with their counts."""
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    counted = table.select(keys).group_by(keys, use_threads=False).aggregate([([], "count_all")])
    return counted.rename_columns([*keys, COUNT])


def merge_counts(parts: list[pa.Table | None]) -> pa.Table | None:
    """Partial counts merged into one table of counts."""
    parts = [p for p in parts if p is not None]
    if not parts:  # a task over empty row groups
        return None
    if len(parts) == 1:
        return parts[0]
    table = pa.concat_tables(parts)
    keys = [n for n in table.column_names if n != COUNT]
    merged = table.group_by(keys, use_threads=False).aggregate([(COUNT, "sum")])
    return merged.rename_columns([*keys, COUNT])


def _report(
    parts: list[pa.Table],
    schema: pa.Schema,
    quasi_identifiers: Sequence[str],
    sensitive: str | Sequence[str] | None,
) -> AnonymityReport:
    keys = _columns(quasi_identifiers, sensitive)
    merged = merge_counts(parts)
    if merged is None:  # no rows: an empty table of counts
        merged = count_rows(schema.empty_table(), keys)
    return measure_counts(merged, quasi_identifiers, sensitive, count_column=COUNT)


def measure_batches(
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    quasi_identifiers: Sequence[str],
    sensitive: str | Sequence[str] | None = None,
) -> AnonymityReport:
    """``measure`` of the rows of ``batches`` (staged for the executors)."""
    keys = _columns(quasi_identifiers, sensitive)
    for name in keys:
        if name not in schema.names:  # the same message as in process, before staging
            return measure_counts(
                count_rows(schema.empty_table(), [k for k in keys if k in schema.names]),
                quasi_identifiers,
                sensitive,
                count_column=COUNT,
            )
    selected = (b.select(keys) for b in batches)
    parts = tasks.map_staged(selected, lambda b: count_rows(b, keys), merge_counts)
    return _report(parts, schema, quasi_identifiers, sensitive)


def measure_parquet(
    path: Path | Remote,
    quasi_identifiers: Sequence[str],
    sensitive: str | Sequence[str] | None = None,
) -> AnonymityReport:
    """``measure`` of a plain Parquet file, read by the executors row group by row group."""
    schema = tasks.parquet_file(path).schema_arrow
    keys = _columns(quasi_identifiers, sensitive)
    if any(k not in schema.names for k in keys):
        return measure_batches(iter(()), schema, quasi_identifiers, sensitive)
    parts = tasks.map_parquet(path, keys, lambda b: count_rows(b, keys), merge_counts)
    return _report(parts, schema, quasi_identifiers, sensitive)


def measure_version(
    datasets_dir: Path,
    version: object,
    quasi_identifiers: Sequence[str],
    sensitive: str | Sequence[str] | None = None,
) -> AnonymityReport:
    """``measure`` of a stored version: executors read its plain Parquet file when no
    column asked for is sealed; otherwise the driver streams the version (sealed
    columns decrypted batch by batch, only here) and stages the few columns needed."""
    from gongshu import storage

    keys = _columns(quasi_identifiers, sensitive)
    sealed = set((version.sealed or {}).get("columns", ()))  # type: ignore[attr-defined]
    if not sealed & set(keys):
        where = storage.objects.at(Path(datasets_dir)).where(version.path)  # type: ignore[attr-defined]
        return measure_parquet(where, quasi_identifiers, sensitive)
    stream = storage.stream(Path(datasets_dir), version)  # type: ignore[arg-type]
    schema = storage.schema(Path(datasets_dir), version)  # type: ignore[arg-type]
    return measure_batches(stream.batches, schema, quasi_identifiers, sensitive)


def generalize_parquet(
    path: Path | Remote,
    hierarchies: Mapping[str, Hierarchy],
    k: int,
    *,
    max_suppression: float = 0.02,
    sensitive: str | Sequence[str] | None = None,
) -> GeneralizationResult:
    """``protect.generalization.generalize`` of a plain Parquet file: the executors
    count distinct rows over the quasi-identifiers and sensitive attributes, the
    driver searches the lattice on the merged counts (the same levels, suppression,
    loss and report as in process; ``table`` is the released table's counts)."""
    schema = tasks.parquet_file(path).schema_arrow
    keys = [k_ for k_ in _columns(list(hierarchies), sensitive) if k_ in schema.names]
    parts = tasks.map_parquet(path, keys, lambda b: count_rows(b, keys), merge_counts)
    merged = merge_counts(parts)
    if merged is None:
        merged = count_rows(schema.empty_table(), keys)
    return generalize_counts(
        merged,
        hierarchies,
        k,
        max_suppression=max_suppression,
        sensitive=sensitive,
        count_column=COUNT,
    )
