"""Reading tables from files as streams of Arrow record batches.

One reader for every capability that takes files: dataset loads, the
discovery scanner, imports. CSV (UTF-8, UTF-8 with BOM, GBK/GB18030,
detected), XLSX and Parquet. Every value of a CSV or XLSX comes back as a
string so that nothing is lost before validation ("0101" stays "0101").
Memory stays bounded by ``block_size`` whatever the file size.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gongshu.errors import InvalidInput

SNIFF_BYTES = 4 << 20
SAMPLE_BYTES = 1 << 20


@runtime_checkable
class Readable(Protocol):
    """A file that is not a plain path: an upload kept encrypted in scratch
    (``gongshu.storage.ephemeral``). ``name`` gives the format by its suffix."""

    name: str
    size: int

    def open(self) -> BinaryIO: ...


Opener = Callable[[], BinaryIO]


def _source(src: str | Path | Readable) -> tuple[Path, Opener, int | None]:
    if isinstance(src, Readable):
        return Path(src.name), src.open, src.size
    p = Path(src)
    return p, lambda: open(p, "rb"), None


def _input(src: str | Path | Readable, opener: Opener) -> str | Path | BinaryIO:
    """What a reader library opens: the path itself (its own I/O), or our reader."""
    return opener() if isinstance(src, Readable) else Path(src)


@dataclass
class TableStream:
    """An open table: its format, its text encoding (for CSV), its columns, its batches."""

    path: Path
    format: str
    encoding: str | None
    columns: list[str]
    batches: Iterator[pa.RecordBatch]


def detect_encoding(path: str | Path | Readable) -> str:
    """utf-8-sig when a BOM is present, utf-8 when the sample decodes, else gbk/gb18030.

    The sample is the head of the file; when the head is plain ASCII (an
    export whose first rows have no Chinese), slices from further in are
    sampled too, so a GBK file is not mistaken for UTF-8.
    """
    name, opener, _ = _source(path)
    with opener() as fh:
        head = fh.read(SNIFF_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        chunks = [head] + (list(_later_samples(fh, len(head))) if head.isascii() else [])
    for enc in ("utf-8", "gbk", "gb18030"):
        try:
            for chunk in chunks:
                codecs.getincrementaldecoder(enc)().decode(chunk, final=False)
        except UnicodeDecodeError:
            continue
        return enc
    raise InvalidInput(f"无法识别文件编码：{name.name}，请使用 UTF-8 或 GBK/GB18030")


def _later_samples(fh: BinaryIO, start: int) -> Iterator[bytes]:
    """1 MiB slices at the quarters of the file, each cut to begin after a newline
    (0x0A is never part of a multi-byte character in UTF-8 or GBK)."""
    size = fh.seek(0, os.SEEK_END)
    if size <= start:
        return
    for frac in (0.25, 0.5, 0.75, 1.0):
        fh.seek(max(start, int(size * frac) - SAMPLE_BYTES))
        chunk = fh.read(SAMPLE_BYTES)
        newline = chunk.find(b"\n")
        if newline >= 0:
            yield chunk[newline + 1 :]


def _csv_stream(src: str | Path | Readable, block_size: int) -> TableStream:
    path, opener, _ = _source(src)
    encoding = detect_encoding(src)
    arrow_enc = "utf8" if encoding == "utf-8" else encoding
    if encoding == "utf-8-sig":
        arrow_enc = "utf8"  # pyarrow skips the UTF-8 BOM itself
    read = pacsv.ReadOptions(encoding=arrow_enc, block_size=block_size)
    try:
        with pacsv.open_csv(_input(src, opener), read_options=read) as probe:
            names = probe.schema.names
    except pa.ArrowInvalid as exc:
        raise InvalidInput(f"CSV 文件格式错误：{path.name}：{exc}") from exc
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"CSV 表头有重复列名：{'、'.join(dup)}")
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=True,
        null_values=[""],
    )

    def batches() -> Iterator[pa.RecordBatch]:
        reader = pacsv.open_csv(_input(src, opener), read_options=read, convert_options=convert)
        try:
            yield from reader
        except pa.ArrowInvalid as exc:
            raise InvalidInput(f"CSV 文件格式错误：{path.name}：{exc}") from exc
        finally:
            reader.close()

    return TableStream(path, "csv", encoding, list(names), batches())


def _xlsx_stream(src: str | Path | Readable, rows_per_batch: int) -> TableStream:
    from openpyxl import load_workbook

    path, opener, _ = _source(src)
    try:
        wb = load_workbook(_input(src, opener), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a bad file
        raise InvalidInput(f"无法读取 XLSX 文件：{path.name}：{exc}") from exc
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        wb.close()
        raise InvalidInput(f"XLSX 文件为空：{path.name}")
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


def _parquet_stream(src: str | Path | Readable, rows_per_batch: int) -> TableStream:
    path, opener, _ = _source(src)
    try:
        # pre_buffer=False: pyarrow's default buffers every row group's column chunks
        # before the first batch (the whole file in memory, issue 19 item 3)
        pf = pq.ParquetFile(_input(src, opener), pre_buffer=False)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"无法读取 Parquet 文件：{path.name}：{exc}") from exc
    return TableStream(
        path, "parquet", None, pf.schema_arrow.names, pf.iter_batches(batch_size=rows_per_batch)
    )


def open_table(
    path: str | Path | Readable, *, block_size: int = 16 << 20, rows_per_batch: int = 65536
) -> TableStream:
    """Open ``path`` (or a ``Readable``) by its extension (.csv/.txt, .xlsx, .parquet)."""
    p, _, _ = _source(path)
    if not isinstance(path, Readable) and not p.is_file():
        raise InvalidInput(f"文件不存在：{p}")
    src = path if isinstance(path, Readable) else p
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return _csv_stream(src, block_size)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_stream(src, rows_per_batch)
    if suffix in (".parquet", ".pq"):
        return _parquet_stream(src, rows_per_batch)
    raise InvalidInput(f"不支持的文件格式：{p.suffix}，请上传 CSV、XLSX 或 Parquet")
