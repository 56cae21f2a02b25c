"""Writers for what leaves the door: CSV (UTF-8 with BOM, opens in Excel), JSON, Parquet.

Each writes to a file path, or to a binary stream it leaves open (an API page that
is answered from memory and never lies on disk).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

EXTENSIONS = {"csv": "csv", "json": "json", "parquet": "parquet"}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}


class _CSV:
    """The writer takes the schema of the first masked batch (masking may change types)."""

    def __init__(self, target: Path | BinaryIO, schema: pa.Schema) -> None:
        self.fh, self.owned = _open(target)
        self.fh.write(b"\xef\xbb\xbf")
        self.writer = None
        self.fallback = schema

    def write(self, batch: pa.RecordBatch) -> None:
        if self.writer is None:
            self.writer = pacsv.CSVWriter(self.fh, batch.schema)
        self.writer.write_batch(batch)

    def __enter__(self) -> _CSV:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.writer is None:
            self.writer = pacsv.CSVWriter(self.fh, self.fallback)
        self.writer.close()
        if self.owned:
            self.fh.close()


def _open(target: Path | BinaryIO) -> tuple[BinaryIO, bool]:
    """The stream to write and whether this writer closes it."""
    if isinstance(target, Path):
        return open(target, "wb"), True
    return target, False


def dumps(value: Any) -> bytes:
    """JSON as the door and the open API write it: decimals, dates and times as their
    str(), as the stdlib encoder with default=str wrote them; NaN and infinities
    become null (they are not JSON)."""
    return orjson.dumps(value, default=str, option=orjson.OPT_PASSTHROUGH_DATETIME)


class _JSON:
    """``{"columns": [...], "rows": [[...], ...]}`` written batch by batch."""

    def __init__(self, target: Path | BinaryIO, schema: pa.Schema) -> None:
        self.fh, self.owned = _open(target)
        names = json.dumps(schema.names, ensure_ascii=False)
        self.fh.write(('{"columns": ' + names + ', "rows": [').encode())
        self.first = True

    def write(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        rows = list(zip(*(c.to_pylist() for c in batch.columns), strict=True))
        # one encoder call a batch: "[[...], [...]]" less its brackets
        self.fh.write((b"" if self.first else b",") + dumps(rows)[1:-1])
        self.first = False

    def __enter__(self) -> _JSON:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.write(b"]}")
        if self.owned:
            self.fh.close()


class _Parquet:
    def __init__(self, target: Path | BinaryIO, schema: pa.Schema) -> None:
        self.path, self.writer, self.fallback = target, None, schema

    def write(self, batch: pa.RecordBatch) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, batch.schema)
        self.writer.write_batch(batch)

    def __enter__(self) -> _Parquet:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.writer is not None:
            self.writer.close()
        else:
            pq.write_table(self.fallback.empty_table(), self.path)


WRITERS = {"csv": _CSV, "json": _JSON, "parquet": _Parquet}
