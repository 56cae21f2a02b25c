"""k-anonymity, l-diversity and t-closeness measured, and generalization searched,
on Spark (issue 19 items 2 and 3).

Two forms:

- ``figures_version``, the PIP-9 check's (``datasets.anonymized``): k, distinct l,
  classes and rows, the integers ``measure_bounded`` gives in process. Each task hashes
  its batches' values with a keyed hash and counts their distinct (class, sensitive
  value) pairs; the pairs stay on the cluster as a DataFrame and Spark's shuffle
  groups them by class, so the driver collects one row per sensitive attribute, never
  a row per distinct pair (with the resident ID as sensitive attribute that is a row
  per table row: the merging driver died at 10M rows).
- ``measure_version``, ``measure_batches``, ``measure_parquet`` and
  ``generalize_parquet``, the full report (t, class sizes) and the generalization
  search: each task counts the distinct rows of its batches over the
  quasi-identifiers and sensitive attributes (Arrow's hash group-by); the driver
  merges the partial counts and ``gongshu.protect.anonymity.measure_counts`` computes
  k, l and t from them, the same report as ``measure`` over the whole table in
  process. Only counts travel, never rows, but the driver holds as many as there are
  distinct rows: for tables whose distinct rows fit in its memory.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pyarrow as pa

from gongshu.protect.anonymity import AnonymityReport, measure_counts
from gongshu.protect.generalization import GeneralizationResult, Hierarchy, generalize_counts
from gongshu.spark import tasks
from gongshu.spark.context import quiet_pyspark
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


# --- The PIP-9 check's figures with the driver holding O(1) (issue 19 item 3) -------

# What the tasks hand Spark: per sensitive attribute (``gs_set``), the distinct
# (class, value) pairs of a batch and their counts, each key a keyed 128-bit hash
# split into two longs. A check without a sensitive attribute has one set of classes.
PAIRS = "gs_set int, c_hi long, c_lo long, s_hi long, s_lo long, n long"
_PAIRS_ARROW = pa.schema(
    [("gs_set", pa.int32())] + [(n, pa.int64()) for n in ("c_hi", "c_lo", "s_hi", "s_lo", "n")]
)
# Rows of a batch hashed by one DuckDB query in a task (a row group can be larger).
KERNEL_ROWS = 131_072
# Distinct pairs per partition of Spark's shuffle: 50M pairs in 50 partitions.
PAIRS_PER_PARTITION = 1_000_000


class Figures(NamedTuple):
    """k, distinct l (None without a sensitive attribute or a row), equivalence
    classes and rows: what ``datasets.anonymized.measure_bounded`` gives."""

    rows: int
    k: int
    l: int | None  # noqa: E741 - the name the literature uses
    equivalence_classes: int


def value_text(column: str, kind: pa.DataType) -> str:
    """SQL (DuckDB) of a column's value as text to hash: equal values, equal text, and
    as grouped: floats -0.0 with 0.0 and every NaN alike, binary in hex. A null gives
    a null (the caller decides what a null is)."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_floating(kind):
        return f"CASE WHEN isnan({column}) THEN 'nan' ELSE CAST({column} + 0.0 AS VARCHAR) END"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return f"hex({column})"
    return f"CAST({column} AS VARCHAR)"


def _coded(name: str, kind: pa.DataType) -> str:
    """A value as unambiguous text: ``N`` for a null (a value of its own, as ``measure``
    has it), else ``V``, its length in bytes, ``:`` and its text, so that the codes of
    several columns concatenated tell their boundaries."""
    text = value_text(_q(name), kind)
    return (
        f"(CASE WHEN {_q(name)} IS NULL THEN 'N' ELSE 'V' || strlen({text}) || ':' || {text} END)"
    )


def _pairs_sql(qi: Sequence[str], sens: Sequence[str], kinds: Mapping[str, pa.DataType]) -> str:
    """The task's query over ``gs_batch``: its distinct (class, sensitive value) pairs
    per sensitive attribute with their counts, every key ``md5_number($salt || text)``."""
    cls = " || ".join(_coded(n, kinds[n]) for n in qi)
    hashed = [f"md5_number($salt || {cls}) AS gs_c"] + [
        f"md5_number($salt || {_coded(n, kinds[n])}) AS gs_s{i}" for i, n in enumerate(sens)
    ]
    if sens:
        pairs = " UNION ALL ".join(
            f"SELECT {i} AS gs_set, gs_c, gs_s{i} AS gs_s, count(*) AS n "
            f"FROM keyed GROUP BY gs_c, gs_s{i}"
            for i in range(len(sens))
        )
    else:
        pairs = (
            "SELECT 0 AS gs_set, gs_c, 0::UHUGEINT AS gs_s, count(*) AS n FROM keyed GROUP BY gs_c"
        )
    low = "18446744073709551615::UHUGEINT"
    return f"""
        WITH keyed AS (SELECT {", ".join(hashed)} FROM gs_batch), pairs AS ({pairs})
        SELECT gs_set::INTEGER AS gs_set,
            (gs_c >> 64)::UBIGINT AS c_hi, (gs_c & {low})::UBIGINT AS c_lo,
            (gs_s >> 64)::UBIGINT AS s_hi, (gs_s & {low})::UBIGINT AS s_lo, n
        FROM pairs
    """


def pairs_kernel(
    qi: Sequence[str], sens: Sequence[str], kinds: Mapping[str, pa.DataType], salt: str
) -> tasks.BatchKernel:
    """The task's kernel: a batch's hashed pairs (``PAIRS``), ``KERNEL_ROWS`` at a time.

    It runs in an executor's Python worker on a DuckDB of its own (one thread, no
    spilling: a slice of a batch is small). ``salt`` comes with the task, in memory,
    as the staging job key does; it is a query parameter, never in the SQL text."""
    sql = _pairs_sql(qi, sens, kinds)

    def kernel(batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
        import duckdb

        with duckdb.connect(
            config={"threads": 1, "memory_limit": "256MB", "temp_directory": ""}
        ) as con:
            con.execute("SET TimeZone = 'UTC'")  # timestamps as text alike on every executor
            for start in range(0, batch.num_rows, KERNEL_ROWS):
                con.register("gs_batch", batch.slice(start, KERNEL_ROWS))
                got = con.sql(sql, params={"salt": salt}).to_arrow_table()
                con.unregister("gs_batch")
                arrays = [got.column(n).combine_chunks() for n in _PAIRS_ARROW.names]
                arrays[1:5] = [a.view(pa.int64()) for a in arrays[1:5]]  # the bits as they are
                yield pa.RecordBatch.from_arrays(arrays, schema=_PAIRS_ARROW)

    return kernel


def _figures(frame: Any, rows: int, sensitive: bool) -> Figures:  # noqa: ANN401 - a DataFrame
    """k, l, classes and rows from the tasks' pairs, aggregated by Spark: one shuffle
    by class (every pair of a class in one partition), the pairs summed there, then
    per class its size (their counts' sum) and distinct l (their number), then per
    sensitive attribute the smallest of each. The driver collects a row per
    sensitive attribute."""
    from pyspark.sql import functions as F

    spark = frame.sparkSession
    parts = max(spark.sparkContext.defaultParallelism, -(-rows // PAIRS_PER_PARTITION))
    with quiet_pyspark():
        pairs = (
            frame.repartition(parts, "c_hi", "c_lo")
            .groupBy("gs_set", "c_hi", "c_lo", "s_hi", "s_lo")
            .agg(F.sum("n").alias("n"))
        )
        classes = pairs.groupBy("gs_set", "c_hi", "c_lo").agg(
            F.sum("n").alias("size"), F.count(F.lit(1)).alias("d")
        )
        got = (
            classes.groupBy("gs_set")
            .agg(
                F.sum("size").alias("rows"),
                F.count(F.lit(1)).alias("classes"),
                F.min("size").alias("k"),
                F.min("d").alias("l"),
            )
            .collect()
        )
    if not got:  # no rows, no class
        return Figures(0, 0, None, 0)
    first = min(got, key=lambda r: r["gs_set"])  # every set has the same classes
    l_value = min(int(r["l"]) for r in got) if sensitive else None
    return Figures(int(first["rows"]), int(first["k"]), l_value, int(first["classes"]))


def figures_version(
    datasets_dir: Path,
    version: object,
    quasi_identifiers: Sequence[str],
    sensitive: Sequence[str] | None = None,
) -> Figures:
    """k, distinct l, classes and rows of a stored version on the cluster: the same
    integers as ``datasets.anonymized.measure_bounded``, with the driver holding only
    a batch (the sealed path) and a row per sensitive attribute, whatever the rows.

    The executors read the version's plain Parquet file where it lies when no column
    measured is sealed; otherwise the driver streams the columns measured (a sealed
    frame decrypted at a time) and stages them sealed under a job key, as ``map_staged``.
    Each task replaces every value (quasi-identifiers and sensitive attributes, sealed
    or not) by a keyed 128-bit hash, ``md5_number`` of a salt drawn for this run (it
    travels with the tasks in memory only, never logged nor written) and the value's
    text, and counts its batch's distinct (class, sensitive value) pairs; Spark's
    shuffle then groups them by class (``_figures``). So the JVM, the shuffle files and
    anything Spark spills hold hashes and counts, never a value in the clear (SEC-9).

    A hash keeps equality; two values (or classes) would be confused only on a
    collision, whose chance among 50 million keys is near 10^-23 (n^2 / 2^129)."""
    from gongshu import storage
    from gongshu.errors import Conflict

    qi = list(quasi_identifiers)
    sens = list(sensitive or ())
    names = _columns(qi, sens)
    salt = secrets.token_hex(16)
    sealed = set((version.sealed or {}).get("columns") or ())  # type: ignore[attr-defined]
    if not sealed & set(names):
        where = storage.objects.at(Path(datasets_dir)).where(version.path)  # type: ignore[attr-defined]
        with tasks.parquet_file(where) as meta:
            schema, rows = meta.schema_arrow, meta.metadata.num_rows
        unknown = [n for n in names if n not in schema.names]
        if unknown:  # the same message as the stream's (measure_bounded)
            raise Conflict(f"数据版本中没有这些列：{'、'.join(unknown)}")
        kernel = pairs_kernel(qi, sens, {f.name: f.type for f in schema}, salt)
        with tasks.frame_parquet(where, names, kernel, PAIRS) as frame:
            return _figures(frame, rows, bool(sens))
    reader = storage.batch_reader(Path(datasets_dir), version, names)  # type: ignore[arg-type]
    kernel = pairs_kernel(qi, sens, {f.name: f.type for f in reader.schema}, salt)
    with tasks.frame_staged(reader, kernel, PAIRS) as frame:
        return _figures(frame, int(version.rows or 0), bool(sens))  # type: ignore[attr-defined]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
