"""Streaming load of an agency's file into a dataset version (AGG-1, AGG-3).

``ingest_file`` reads CSV (UTF-8, BOM, GBK/GB18030), XLSX or Parquet batch
by batch through :func:`gongshu.tabular.open_table`, matches the columns to
the catalog entry's fields, converts and validates each column vectorized
(resident ID, USCC and region code per AGG-3), and streams good rows into a
Parquet file that appears at ``dest`` only when the load is complete.

Row numbers are what the clerk sees in a spreadsheet: the header is row 1
and the first data row is row 2. For CSV they count *records*, not lines: a
quoted field with an embedded newline spans two lines but is one row.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from itertools import repeat
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.datasets.convert import ARROW_TYPES, KINDS, Converted, convert_column, diagnose
from gongshu.errors import InvalidInput
from gongshu.storage.atomic import AtomicParquetWriter, sweep_temp_files, write_parquet_table
from gongshu.storage.ephemeral import EphemeralFile, EphemeralParquetWriter
from gongshu.tabular import open_table

POLICIES = ("reject", "quarantine")
VALUE_CHARS = 64
ROW_COLUMN = "_row"
REASONS_COLUMN = "_reasons"


@dataclass(frozen=True)
class FieldSpec:
    name: str  # column name as in the catalog entry
    type: str  # one of 'string','integer','decimal','date','datetime','boolean'
    kind: str | None = None  # None | 'resident_id' | 'uscc' | 'region_code'
    required: bool = False


@dataclass
class BadValue:
    row: int  # 1-based spreadsheet row: header is row 1, first data row is 2
    column: str
    value: str  # the offending value, truncated to 64 characters
    reason: str  # Chinese, with the English key term


@dataclass
class LoadReport:
    rows_total: int
    rows_loaded: int
    rows_rejected: int
    bad_values: list[BadValue]
    bad_values_total: int
    encoding: str | None
    format: str
    missing_columns: list[str]
    extra_columns: list[str]
    policy: str = "reject"
    quarantine_file: str | None = None  # file name beside dest, when rows were quarantined
    rows_blank: int = 0  # rows with no value in any catalog column, skipped and not counted

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        parts = [f"共 {self.rows_total} 行，入库 {self.rows_loaded} 行"]
        if self.rows_rejected:
            action = "隔离" if self.quarantine_file else "拒绝"
            parts.append(f"{action} {self.rows_rejected} 行（{self.bad_values_total} 处错误）")
        if self.rows_blank:
            parts.append(f"跳过空行 {self.rows_blank} 行")
        if self.missing_columns:
            parts.append(f"缺少可选列：{'、'.join(self.missing_columns)}")
        if self.extra_columns:
            parts.append(f"已忽略多余列：{'、'.join(self.extra_columns)}")
        fmt = self.format.upper() + (f"（{self.encoding.upper()}）" if self.encoding else "")
        parts.append(f"格式 {fmt}")
        return "；".join(parts)


@dataclass
class IngestResult:
    report: LoadReport
    path: Path | None  # None when the output is ephemeral
    rows: int
    bytes: int
    sha256: str
    schema: list[dict] = field(default_factory=list)
    # With ``ephemeral``: the rows and the rejected rows, encrypted in scratch, and a
    # uniform sample of the rows kept (for classification, without reading back).
    output: EphemeralFile | None = None
    quarantine: EphemeralFile | None = None
    sample: pa.Table | None = None

    def discard(self) -> None:
        for f in (self.output, self.quarantine):
            if f is not None:
                f.discard()


class _Reservoir:
    """A uniform sample of ``size`` rows over every batch (bottom-k of random keys)."""

    def __init__(self, size: int, seed: int = 42) -> None:
        self.size = size
        self._rng = np.random.default_rng(seed)
        self._keys = np.empty(0)
        self.table: pa.Table | None = None

    def add(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        keys = self._rng.random(batch.num_rows)
        part = pa.Table.from_batches([batch])
        table = part if self.table is None else pa.concat_tables([self.table, part])
        keys = np.concatenate([self._keys, keys])
        if len(keys) > self.size:
            keep = np.sort(np.argpartition(keys, self.size)[: self.size])
            table, keys = table.take(pa.array(keep)), keys[keep]
        self.table, self._keys = table, keys


class LoadRejected(InvalidInput):
    """The file had bad values and the catalog entry's policy is 'reject'."""

    def __init__(self, report: LoadReport) -> None:
        first = report.bad_values[0]
        super().__init__(
            f"第 {first.row} 行「{first.column}」列：{first.reason}，"
            f"共 {report.bad_values_total} 处错误",
            detail=report.to_dict(),
        )
        self.report = report


class MissingColumns(InvalidInput):
    """Required columns of the catalog entry are absent from the file."""


def ingest_file(
    src: Path | EphemeralFile,
    fields: list[FieldSpec],
    dest: Path | None,
    *,
    ephemeral: Path | None = None,
    sample_rows: int = 20000,
    policy: str = "reject",
    today: date | None = None,
    max_reported: int = 1000,
    progress: Callable[[int], None] | None = None,
    block_size: int = 8 << 20,
    rows_per_batch: int = 65536,
    on_cluster: bool | None = None,
) -> IngestResult:
    """Load ``src`` into the Parquet file ``dest`` per the catalog ``fields``.

    ``policy='reject'`` raises :class:`LoadRejected` on any bad value and
    leaves nothing behind; ``'quarantine'`` loads the good rows and writes
    the bad ones, with row numbers and reasons, to
    ``dest.with_suffix('.quarantine.parquet')``. Missing required columns
    raise :class:`MissingColumns`. ``progress`` gets the number of rows read
    so far after each batch. Rows blank in every catalog column are skipped
    (counted in ``rows_blank``) but keep their place in the row numbering.
    ``dest`` appears only once complete.

    ``ephemeral`` (a directory, usually the datasets directory) writes the rows and
    the rejected rows encrypted in its scratch area instead (``result.output``,
    ``result.quarantine``; SEC-9: nothing in the clear on disk) and keeps a sample of
    ``sample_rows`` rows in ``result.sample``; ``dest`` is then unused.

    ``on_cluster`` converts the batches on the Spark executors (``datasets.cluster``):
    by default for a source of ``CLUSTER_BYTES`` or more when ``GONGSHU_ENGINE=spark``.
    The result is the same either way: rows, report, rejected rows, sample.
    """
    _check_specs(fields, policy)
    today = today or date.today()
    dest = Path(dest) if dest is not None else None
    if dest is None and ephemeral is None:
        raise ValueError("ingest_file needs dest or ephemeral")
    stream = open_table(src, block_size=block_size, rows_per_batch=rows_per_batch)
    index, missing, extra = _match_columns(stream.columns, fields)
    out_schema = pa.schema([(f.name, ARROW_TYPES[f.type]) for f in fields])
    q_schema = pa.schema(
        [(ROW_COLUMN, pa.int64()), (REASONS_COLUMN, pa.string())]
        + [(f.name, pa.string()) for f in fields]
    )
    rows_read = rows_blank = rows_rejected = bad_total = 0
    reported: list[BadValue] = []
    # Arrow compute and numpy release the GIL, so columns convert in parallel.
    pool = ThreadPoolExecutor(max_workers=min(len(fields), os.cpu_count() or 1))
    if ephemeral is not None:
        good = EphemeralParquetWriter(ephemeral, "rows.parquet", out_schema)
        sample: _Reservoir | None = _Reservoir(sample_rows)
    else:
        good, sample = AtomicParquetWriter(Path(dest), out_schema), None
    quarantine: AtomicParquetWriter | EphemeralParquetWriter | None = None
    convert = _BatchConverter(index, fields, out_schema, q_schema, policy, today, max_reported)
    if on_cluster is None:
        on_cluster = _large(src)
    try:
        if on_cluster:  # the conversion on the Spark executors, the batches back in order
            from gongshu.datasets import cluster as spark_load

            parts: Iterable[_Part] = spark_load.converted(stream.batches, convert)
        else:
            parts = _numbered(stream.batches, lambda b, first: convert(b, first, pool))
        for part in parts:
            rows_blank += part.blank
            if part.bad_rows:
                bad_total += part.bad_values
                rows_rejected += part.bad_rows
                need = max_reported - len(reported)
                if need > 0:
                    reported += part.reported[:need]
            if policy == "reject":
                if rows_rejected:
                    good.abort()  # nothing of this load may be kept; keep counting errors
                else:
                    good.write(part.kept)
            else:
                good.write(part.kept)
                if part.quarantined is not None:
                    quarantine = quarantine or _quarantine_writer(dest, ephemeral, q_schema)
                    quarantine.write(part.quarantined)
            if sample is not None and not (policy == "reject" and rows_rejected):
                sample.add(part.kept)
            rows_read += part.rows
            if progress is not None:
                progress(rows_read)
        rows_total = rows_read - rows_blank
        report = LoadReport(
            rows_total=rows_total,
            rows_loaded=rows_total - rows_rejected,
            rows_rejected=rows_rejected,
            bad_values=reported,
            bad_values_total=bad_total,
            encoding=stream.encoding,
            format=stream.format,
            missing_columns=missing,
            extra_columns=extra,
            policy=policy,
            rows_blank=rows_blank,
        )
        if rows_rejected and policy == "reject":
            report.rows_loaded = 0
            raise LoadRejected(report)
        if quarantine is not None:
            quarantine.commit()
            report.quarantine_file = quarantine.dest.name
        rows, size, sha = good.commit()
    finally:
        pool.shutdown()
        good.abort()
        if quarantine is not None:
            quarantine.abort()
    schema = [{"name": f.name, "type": f.type} for f in fields]
    if ephemeral is not None:
        return IngestResult(
            report=report,
            path=None,
            rows=rows,
            bytes=size,
            sha256=sha,
            schema=schema,
            output=good.file,
            quarantine=quarantine.file if quarantine is not None else None,
            sample=sample.table if sample is not None else None,
        )
    return IngestResult(report=report, path=dest, rows=rows, bytes=size, sha256=sha, schema=schema)


# A source file of this size or more is converted on the Spark cluster when it is the engine.
CLUSTER_BYTES = 256 << 20


def _large(src: Path | EphemeralFile) -> bool:
    from gongshu.spark.context import engine

    if engine() != "spark":
        return False
    size = src.size if isinstance(src, EphemeralFile) else Path(src).stat().st_size
    return size >= CLUSTER_BYTES


@dataclass
class _Part:
    """One source batch converted: its counts, its first bad values (at most the
    report's limit), the typed rows kept (None under reject once a value is bad) and
    the rejected rows (quarantine)."""

    rows: int
    blank: int
    bad_rows: int
    bad_values: int
    reported: list[BadValue]
    kept: pa.RecordBatch | None
    quarantined: pa.RecordBatch | None


@dataclass
class _BatchConverter:
    """What a load does to one source batch, given the batch's first row number: a value
    that can travel, called on this process's threads or on Spark executors alike. A
    batch's part depends on that batch and its first row alone."""

    index: dict
    fields: list[FieldSpec]
    out_schema: pa.Schema
    q_schema: pa.Schema
    policy: str
    today: date
    max_reported: int

    def __call__(
        self, batch: pa.RecordBatch, first_row: int, pool: ThreadPoolExecutor | None = None
    ) -> _Part:
        n = batch.num_rows
        columns = (pool.map if pool is not None else map)(
            _convert, repeat(batch), repeat(self.index), self.fields, repeat(self.today)
        )
        converted = list(columns)
        blank = _blank_rows(converted, n)
        bad_row = np.zeros(n, dtype=bool)
        for conv in converted:
            conv.bad &= ~blank
            bad_row |= conv.bad
        n_bad = int(bad_row.sum())
        bad_values, reported = 0, []
        if n_bad:
            bad_values = sum(int(c.bad.sum()) for c in converted)
            reported = _report_bad(self.fields, converted, first_row, self.max_reported, self.today)
        kept = quarantined = None
        if self.policy == "reject":
            if not n_bad:
                kept = _typed_batch(converted, self.out_schema, _keep(blank))
        else:
            kept = _typed_batch(converted, self.out_schema, _keep(bad_row | blank))
            if n_bad:
                quarantined = _quarantine_batch(converted, bad_row, first_row, self.q_schema)
        return _Part(n, int(blank.sum()), n_bad, bad_values, reported, kept, quarantined)


def _numbered(batches: Iterable[pa.RecordBatch], fn: Callable) -> Iterator[_Part]:
    """``fn(batch, first row)`` over the batches in order (the header is row 1)."""
    first = 2
    for batch in batches:
        yield fn(batch, first)
        first += batch.num_rows


def _quarantine_writer(
    dest: Path | None, ephemeral: Path | None, schema: pa.Schema
) -> AtomicParquetWriter | EphemeralParquetWriter:
    if ephemeral is not None:
        return EphemeralParquetWriter(ephemeral, "quarantine.parquet", schema)
    return AtomicParquetWriter(Path(dest).with_suffix(".quarantine.parquet"), schema)


def _check_specs(fields: list[FieldSpec], policy: str) -> None:
    if policy not in POLICIES:
        raise InvalidInput(f"不支持的入库策略：{policy}，应为 reject 或 quarantine")
    if not fields:
        raise InvalidInput("目录条目没有定义任何字段")
    names = [_clean(f.name) for f in fields]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"目录字段名重复：{'、'.join(dup)}")
    for f in fields:
        if f.type not in ARROW_TYPES:
            raise InvalidInput(f"字段「{f.name}」的类型不受支持：{f.type}")
        if f.kind is not None and f.kind not in KINDS:
            raise InvalidInput(f"字段「{f.name}」的标识类型不受支持：{f.kind}")


def _clean(name: str) -> str:
    return name.replace("\ufeff", "").strip()


def _match_columns(
    columns: list[str], fields: list[FieldSpec]
) -> tuple[dict[str, int], list[str], list[str]]:
    """field name -> source column index, optional fields missing, extra columns."""
    by_name: dict[str, int] = {}
    for i, col in enumerate(columns):
        clean = _clean(col)
        if clean in by_name:
            raise InvalidInput(f"文件表头有重复列名：{clean}")
        by_name[clean] = i
    wanted = {_clean(f.name): f for f in fields}
    index = {f.name: by_name[key] for key, f in wanted.items() if key in by_name}
    absent = [f for key, f in wanted.items() if key not in by_name]
    required = [f.name for f in absent if f.required]
    if required:
        shown = "、".join(_clean(c) for c in columns[:20]) or "（无）"
        raise MissingColumns(
            f"文件缺少必填列：{'、'.join(required)}；文件中的列为：{shown}",
            detail={"missing_columns": required},
        )
    extra = [_clean(c) for c in columns if _clean(c) not in wanted]
    return index, [f.name for f in absent], extra


def _convert(batch: pa.RecordBatch, index: dict, spec: FieldSpec, today: date) -> Converted:
    n = batch.num_rows
    raw = batch.column(index[spec.name]) if spec.name in index else pa.nulls(n)
    return convert_column(raw, spec.type, spec.kind, spec.required, today)


def _blank_rows(converted: list[Converted], n: int) -> np.ndarray:
    """Rows with no value in any catalog column (spreadsheet padding): skipped, not errors."""
    blank = np.ones(n, dtype=bool)
    for conv in converted:
        if conv.text.null_count == 0:
            return np.zeros(n, dtype=bool)
        blank &= pc.is_null(conv.text).to_numpy(zero_copy_only=False)
    return blank


def _keep(drop: np.ndarray) -> pa.Array | None:
    return pa.array(~drop) if drop.any() else None


def _typed_batch(converted: list, schema: pa.Schema, keep: pa.Array | None) -> pa.RecordBatch:
    batch = pa.RecordBatch.from_arrays([c.values for c in converted], schema=schema)
    return batch.filter(keep) if keep is not None else batch


def _quarantine_batch(
    converted: list, bad_row: np.ndarray, first_row: int, schema: pa.Schema
) -> pa.RecordBatch:
    idx = pa.array(np.flatnonzero(bad_row))
    rows = pc.add(pc.cast(idx, pa.int64()), first_row)
    # Each bad cell becomes "列：原因；"; blanks elsewhere. (Joining with
    # null_handling="skip" drops rows in pyarrow 26, so nulls are avoided.)
    labelled = [
        pc.fill_null(
            pc.binary_join_element_wise(
                pa.scalar(f"{name}："), pc.take(c.reasons, idx), pa.scalar("；"), ""
            ),
            "",
        )
        for name, c in zip(schema.names[2:], converted, strict=True)
    ]
    reasons = pc.utf8_rtrim(pc.binary_join_element_wise(*labelled, ""), characters="；")
    columns = [rows, reasons] + [pc.take(c.text, idx) for c in converted]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _report_bad(
    fields: list[FieldSpec], converted: list, first_row: int, need: int, today: date
) -> list[BadValue]:
    """The first ``need`` bad values of this batch in row order (few Python objects)."""
    hits: list[tuple[int, int]] = []
    for col, conv in enumerate(converted):
        rows = np.flatnonzero(conv.bad)[:need]
        hits += [(int(r), col) for r in rows]
    hits.sort()
    out = []
    for r, col in hits[:need]:
        spec = fields[col]
        value = converted[col].text[r].as_py()
        out.append(
            BadValue(
                row=first_row + r,
                column=spec.name,
                value=(value or "")[:VALUE_CHARS],
                reason=diagnose(value, spec.type, spec.kind, today),
            )
        )
    return out


__all__ = [
    "BadValue",
    "FieldSpec",
    "IngestResult",
    "LoadRejected",
    "LoadReport",
    "MissingColumns",
    "ingest_file",
    "sweep_temp_files",
    "write_parquet_table",
]
