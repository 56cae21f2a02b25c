"""Uploaded files are kept encrypted until they are read (AGG-1; SEC-9).

The routers that take uploads are built with ``web.uploads.SealedUploadRoute``, so
the upload was written as it arrived to an ``EphemeralFile``: SM4-GCM under a key
held only in this process's memory, in the process's own scratch directory. A
crash leaves ciphertext nobody can read and a scratch directory the next sweep
removes (issue 20 item 3); a finished load removes it at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from gongshu.errors import InvalidInput
from gongshu.storage import EphemeralFile
from gongshu.web.uploads import SealedSpool

ALLOWED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet", ".pq")
CHUNK = 1 << 20


@contextmanager
def spooled(upload: UploadFile, datasets_dir: Path) -> Iterator[EphemeralFile]:
    """The upload as an encrypted file in scratch (sealed as it arrived, or copied 1 MB
    at a time when a router without ``SealedUploadRoute`` took it); removed after.

    The file keeps the upload's name (its suffix decides how it is read)."""
    name = upload.filename or ""
    suffix = Path(name).suffix.lower()
    if not name:
        raise InvalidInput("请选择要上传的文件")
    if suffix not in ALLOWED_SUFFIXES:
        raise InvalidInput(f"不支持的文件格式：{suffix or name}，请上传 CSV、XLSX 或 Parquet")
    if isinstance(upload.file, SealedSpool):
        try:
            yield upload.file.ephemeral.close()
        finally:
            upload.file.close()
        return
    spool = EphemeralFile(datasets_dir, Path(name).name)
    try:
        while chunk := upload.file.read(CHUNK):
            spool.write(chunk)
        yield spool.close()
    finally:
        spool.discard()
