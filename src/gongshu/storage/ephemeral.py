"""Temporary files nobody can read after a crash (issue 20 item 3; SEC-9).

An ``EphemeralFile`` is written through SM4-GCM under a key drawn for that file and
held only in this process's memory: an upload as it arrives, a load's converted
rows before they are split into the stored files, an export before it is sent.
When the process dies the key dies with it, so what a crash leaves on disk is
ciphertext with no key anywhere. The file lives in the process's scratch directory
(``storage.scratch``) and goes at the next sweep.

Format: the plaintext cut into ``CHUNK`` bytes, each sealed on its own (nonce = the
file's random prefix and the chunk number), so a reader can seek: Parquet and XLSX
readers jump to the footer first. Writing is sequential only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gongshu.protect.errors import DecryptionFailed
from gongshu.storage import scratch

CHUNK = 256 << 10
TAG = 16
_CACHED_CHUNKS = 4


class EphemeralFile:
    """Write once through :meth:`write` (or as a binary file object), then :meth:`open`
    to read it back (seekable) as often as needed; :meth:`discard` removes it.

    ``name`` is what readers see as the file's name (its suffix picks the format of
    an upload). ``size`` and ``sha256`` are of the plaintext.
    """

    def __init__(self, root: Path, name: str = "tmp") -> None:
        self.name = name
        self.path = scratch.new_path(root, Path(name).suffix or ".bin")
        self._key = os.urandom(16)
        self._prefix = os.urandom(4)
        self._fh: BinaryIO | None = open(self.path, "xb")  # noqa: SIM115 - closed in close()
        self._buf = bytearray()
        self._chunks = 0
        self._digest = hashlib.sha256()
        self.size = 0
        self.sha256: str | None = None

    # ---------------------------------------------------------------- writing

    def _nonce(self, index: int) -> bytes:
        return self._prefix + index.to_bytes(8, "big")

    def _seal(self, plain: bytes | bytearray) -> None:
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(self._nonce(self._chunks))).encryptor()
        assert self._fh is not None
        self._fh.write(enc.update(plain) + enc.finalize() + enc.tag)
        self._chunks += 1

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._fh is None:
            raise ValueError("ephemeral file already closed for writing")
        n = len(data)
        self._digest.update(data)
        self.size += n
        self._buf += data
        while len(self._buf) >= CHUNK:
            self._seal(self._buf[:CHUNK])
            del self._buf[:CHUNK]
        return n

    def writer(self) -> BinaryIO:
        """A file object for writers that want one (pyarrow, csv, json)."""
        return _Writer(self)  # type: ignore[return-value]

    def close(self) -> EphemeralFile:
        """Finish writing (idempotent); returns self."""
        if self._fh is not None:
            if self._buf or self._chunks == 0:
                self._seal(bytes(self._buf))
            self._buf = bytearray()
            self._fh.close()
            self._fh = None
            self.sha256 = self._digest.hexdigest()
        return self

    # ---------------------------------------------------------------- reading

    def open(self) -> BinaryIO:
        """A seekable, buffered reader of the plaintext."""
        self.close()
        return io.BufferedReader(_Reader(self), buffer_size=64 << 10)  # type: ignore[return-value]

    def _chunk(self, fh: BinaryIO, index: int) -> bytes:
        fh.seek(index * (CHUNK + TAG))
        blob = fh.read(CHUNK + TAG)
        body, tag = blob[:-TAG], blob[-TAG:]
        dec = Cipher(algorithms.SM4(self._key), modes.GCM(self._nonce(index), tag)).decryptor()
        try:
            return dec.update(body) + dec.finalize()
        except Exception as exc:  # InvalidTag: changed on disk under us
            raise DecryptionFailed(f"临时文件校验失败：{self.path.name}") from exc

    def iter_chunks(self) -> Iterator[bytes]:
        """The plaintext in chunks, in order (for streaming to a client)."""
        self.close()
        with open(self.path, "rb") as fh:
            for index in range(self._chunks):
                chunk = self._chunk(fh, index)
                if chunk:
                    yield chunk

    def read_bytes(self) -> bytes:
        return b"".join(self.iter_chunks())

    def copy_to(self, out: BinaryIO) -> None:
        for chunk in self.iter_chunks():
            out.write(chunk)

    def discard(self) -> None:
        """Remove the file (idempotent); the key is dropped with the object."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> EphemeralFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


class _Writer(io.RawIOBase):
    def __init__(self, target: EphemeralFile) -> None:
        self._target = target

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # noqa: ANN001 - bytes-like
        return self._target.write(bytes(data))

    def tell(self) -> int:
        return self._target.size

    def close(self) -> None:  # the owner finishes the file, not the writer library
        super().close()


class _Reader(io.RawIOBase):
    def __init__(self, source: EphemeralFile) -> None:
        self._source = source
        self._fh = open(source.path, "rb")  # noqa: SIM115 - closed in close()
        self._pos = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._source.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _get(self, index: int) -> bytes:
        chunk = self._cache.get(index)
        if chunk is None:
            chunk = self._source._chunk(self._fh, index)
            self._cache[index] = chunk
            if len(self._cache) > _CACHED_CHUNKS:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(index)
        return chunk

    def readinto(self, buffer) -> int:  # noqa: ANN001 - writable buffer
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._source.size:
            index, start = divmod(self._pos, CHUNK)
            part = self._get(index)[start : start + len(view) - done]
            view[done : done + len(part)] = part
            done += len(part)
            self._pos += len(part)
        return done

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


class EphemeralParquetWriter:
    """``AtomicParquetWriter``'s interface over an ``EphemeralFile``: Parquet written
    encrypted; :meth:`commit` finishes it and returns (rows, bytes, sha256 hex) of
    the plaintext; ``file`` is then read back with ``file.open()``."""

    def __init__(self, root: Path, name: str, schema: pa.Schema) -> None:
        self.file = EphemeralFile(root, name)
        self.dest = Path(name)
        self.rows = 0
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            self.file.writer(), schema, compression="zstd"
        )

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        if self._writer is None:
            raise RuntimeError("writer already closed")
        if data.num_rows:
            self._writer.write(data)
            self.rows += data.num_rows

    def commit(self) -> tuple[int, int, str]:
        if self._writer is None:
            raise RuntimeError("writer already closed")
        self._writer.close()
        self._writer = None
        self.file.close()
        return self.rows, self.file.size, self.file.sha256 or ""

    def abort(self) -> None:
        """Drop what was written unless committed; idempotent."""
        if self._writer is not None:
            with contextlib.suppress(Exception):  # the file is being thrown away anyway
                self._writer.close()
            self._writer = None
            self.file.discard()
