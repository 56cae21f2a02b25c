"""Uploaded files are streamed to disk before they are read (AGG-1)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from gongshu.errors import InvalidInput

ALLOWED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet", ".pq")


@contextmanager
def spooled(upload: UploadFile, directory: Path) -> Iterator[Path]:
    """Copy an upload to a temporary file in ``directory`` in 1 MB chunks; remove it after."""
    name = upload.filename or ""
    suffix = Path(name).suffix.lower()
    if not name:
        raise InvalidInput("请选择要上传的文件 (file)")
    if suffix not in ALLOWED_SUFFIXES:
        raise InvalidInput(
            f"不支持的文件格式 (unsupported format)：{suffix or name}，请上传 CSV、XLSX 或 Parquet"
        )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f".tmp-upload-{uuid.uuid4().hex}{suffix}"
    try:
        with open(path, "wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)
        yield path
    finally:
        path.unlink(missing_ok=True)
