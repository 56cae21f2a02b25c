"""Reading tables from files as streams of Arrow record batches.

One reader for every capability that takes files: dataset loads, the
discovery scanner, imports. CSV (UTF-8, UTF-8 with BOM, GBK/GB18030,
detected), XLSX and Parquet. Every value of a CSV or XLSX comes back as a
string so that nothing is lost before validation ("0101" stays "0101").
Memory stays bounded by ``block_size`` whatever the file size.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gongshu.errors import InvalidInput

SNIFF_BYTES = 4 << 20
SAMPLE_BYTES = 1 << 20


@dataclass
class TableStream:
    """An open table: its format, its text encoding (for CSV), its columns, its batches."""

    path: Path
    format: str
    encoding: str | None
    columns: list[str]
    batches: Iterator[pa.RecordBatch]


def detect_encoding(path: Path) -> str:
    """utf-8-sig when a BOM is present, utf-8 when the sample decodes, else gbk/gb18030.

    The sample is the head of the file; when the head is plain ASCII (an
    export whose first rows have no Chinese), slices from further in are
    sampled too, so a GBK file is not mistaken for UTF-8.
    """
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    chunks = [head] + (list(_later_samples(path, len(head))) if head.isascii() else [])
    for enc in ("utf-8", "gbk", "gb18030"):
        try:
            for chunk in chunks:
                codecs.getincrementaldecoder(enc)().decode(chunk, final=False)
        except UnicodeDecodeError:
            continue
        return enc
    raise InvalidInput(f"无法识别文件编码 (encoding)：{path.name}，请使用 UTF-8 或 GBK/GB18030")


def _later_samples(path: Path, start: int) -> Iterator[bytes]:
    """1 MiB slices at the quarters of the file, each cut to begin after a newline
    (0x0A is never part of a multi-byte character in UTF-8 or GBK)."""
    size = path.stat().st_size
    if size <= start:
        return
    with open(path, "rb") as fh:
        for frac in (0.25, 0.5, 0.75, 1.0):
            fh.seek(max(start, int(size * frac) - SAMPLE_BYTES))
            chunk = fh.read(SAMPLE_BYTES)
            newline = chunk.find(b"\n")
            if newline >= 0:
                yield chunk[newline + 1 :]


def _csv_stream(path: Path, block_size: int) -> TableStream:
    encoding = detect_encoding(path)
    arrow_enc = "utf8" if encoding == "utf-8" else encoding
    if encoding == "utf-8-sig":
        arrow_enc = "utf8"  # pyarrow skips the UTF-8 BOM itself
    read = pacsv.ReadOptions(encoding=arrow_enc, block_size=block_size)
    try:
        with pacsv.open_csv(path, read_options=read) as probe:
            names = probe.schema.names
    except pa.ArrowInvalid as exc:
        raise InvalidInput(f"CSV 文件格式错误 (malformed CSV)：{path.name}：{exc}") from exc
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"CSV 表头有重复列名 (duplicate column)：{'、'.join(dup)}")
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=True,
        null_values=[""],
    )

    def batches() -> Iterator[pa.RecordBatch]:
        reader = pacsv.open_csv(path, read_options=read, convert_options=convert)
        try:
            yield from reader
        except pa.ArrowInvalid as exc:
            raise InvalidInput(f"CSV 文件格式错误 (malformed CSV)：{path.name}：{exc}") from exc
        finally:
            reader.close()

    return TableStream(path, "csv", encoding, list(names), batches())


def _xlsx_stream(path: Path, rows_per_batch: int) -> TableStream:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        raise InvalidInput(f"无法读取 XLSX 文件 (unreadable XLSX)：{path.name}：{exc}") from exc
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        wb.close()
        raise InvalidInput(f"XLSX 文件为空 (empty sheet)：{path.name}")
    names = [str(h).strip() if h is not None else f"col_{i + 1}" for i, h in enumerate(header)]
    schema = pa.schema([(n, pa.string()) for n in names])

    def cell(v: object) -> str | None:
        if v is None:
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            buf: list[tuple] = []
            for row in rows:
                buf.append(row)
                if len(buf) >= rows_per_batch:
                    yield _rows_to_batch(buf, names, schema, cell)
                    buf = []
            if buf:
                yield _rows_to_batch(buf, names, schema, cell)
        finally:
            wb.close()

    return TableStream(path, "xlsx", None, names, batches())


def _rows_to_batch(rows, names, schema, cell) -> pa.RecordBatch:  # noqa: ANN001
    cols = [[cell(r[i]) if i < len(r) else None for r in rows] for i in range(len(names))]
    return pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in cols], schema=schema)


def _parquet_stream(path: Path, rows_per_batch: int) -> TableStream:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(
            f"无法读取 Parquet 文件 (unreadable Parquet)：{path.name}：{exc}"
        ) from exc
    return TableStream(
        path, "parquet", None, pf.schema_arrow.names, pf.iter_batches(batch_size=rows_per_batch)
    )


def open_table(
    path: str | Path, *, block_size: int = 16 << 20, rows_per_batch: int = 65536
) -> TableStream:
    """Open ``path`` by its extension (.csv/.txt, .xlsx, .parquet)."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"文件不存在 (file not found)：{p}")
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _csv_stream(p, block_size)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_stream(p, rows_per_batch)
    if suffix in (".parquet", ".pq"):
        return _parquet_stream(p, rows_per_batch)
    raise InvalidInput(
        f"不支持的文件格式 (unsupported format)：{p.suffix}，请上传 CSV、XLSX 或 Parquet"
    )
