"""Stored versions at rest: sensitive columns sealed with SM4 (issue 4 item 4; SEC-3, SEC-9).

A version is one plain Parquet file (``version.path``) of its ordinary columns
and, when it holds sensitive personal information, a sealed companion file of
those columns: their Parquet bytes encrypted with SM4-GCM under a data key of
the instance key store (``KeyStore`` protocol; ``FileKeyStore`` by default, an
external KMS or HSM implements the same three methods). The metadata names the
key id only; no key is stored in the clear anywhere.

Which columns: those whose discovery tags carry an entity the grading rules in
force flag ``sensitive`` (GB/T 35273 annex B, PIPL art. 28: identity document
numbers, bank cards, health, biometrics, precise location...) and columns the
catalog declares as resident ID numbers.

Every in-platform reader gets rows through ``relation`` (DuckDB) or
``read_table`` (Arrow), never by opening ``version.path`` itself: they put the
sealed columns back beside the plain ones by position (DuckDB ``POSITIONAL
JOIN``), so a reader sees one table in the original column order.

The sealed file is a header (magic, key id) and a run of frames, each the Parquet
bytes of at most ``FRAME_ROWS`` rows sealed on its own (``GSSEAL2``), with the
frame's number and whether it is the last in the associated data, so frames cannot
be dropped, reordered or cut off unnoticed: a reader decrypts one frame at a time
(``stream``; ``batch_reader`` / ``streamed`` for DuckDB) and never holds a whole sealed
column (issue 19 item 3). Files of the
first format (``GSSEAL1``, one blob) stay readable; quarantines are sealed whole.

Key rotation without downtime: ``rotate`` makes a new current key; versions
sealed under older keys stay readable because each names its key, and
``reseal`` re-encrypts them under the current key one at a time (new file,
then the metadata, then the old file goes), while readers go on.

The key store needs the instance secret. Entry points unlock it once per
process for their data directory (``unlock``); a reader that meets a sealed
version in a directory nobody unlocked gets a clear error.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.errors import Conflict
from gongshu.ledger import record
from gongshu.protect.crypto import sm4_gcm_decrypt, sm4_gcm_encrypt
from gongshu.protect.keystore import FileKeyStore, KeyStore
from gongshu.storage import objects, scratch
from gongshu.storage.models import DatasetVersion

KEY_PURPOSE = "dataset-at-rest"
MAGIC = b"GSSEAL1\n"
MAGIC_FRAMED = b"GSSEAL2\n"
# Rows of one sealed frame: what a reader holds decrypted at a time.
FRAME_ROWS = 131_072
_FRAME_LEN = 4  # bytes of a frame's length, big-endian
SEALED_SUFFIX = ".sealed"
# Catalog field kinds sealed whatever discovery says (GB 11643 numbers are sensitive
# personal information under GB/T 35273 annex B).
SEALED_KINDS = ("resident_id",)

_keyring: dict[Path, KeyStore] = {}
_default: KeyStore | None = None
_lock = threading.Lock()
_names = itertools.count(1)


class KeyStoreNotUnlocked(Conflict):
    pass


# ---------------------------------------------------------------- keys


def unlock(datasets_dir: Path, keystore: KeyStore) -> None:
    """Make ``keystore`` the one that opens sealed versions under ``datasets_dir``."""
    with _lock:
        _keyring[Path(datasets_dir).resolve()] = keystore


def unlock_settings(settings: Any) -> KeyStore:  # noqa: ANN401 - gongshu.config.Settings
    """Unlock the instance's file key store for its data directory, and mount its stored
    files on the store its settings name (``objects.configure``; entry points call this)."""
    objects.configure(settings)
    store = FileKeyStore.from_settings(settings)
    unlock(settings.datasets_dir, store)
    return store


def unlock_default(keystore: KeyStore | None) -> None:
    """A key store for directories nobody unlocked (the test harness; never production)."""
    global _default
    _default = keystore


def keystore(datasets_dir: Path) -> KeyStore:
    store = _keyring.get(Path(datasets_dir).resolve()) or _default
    if store is None:
        raise KeyStoreNotUnlocked("加密存储的数据需要实例密钥库，当前进程尚未解锁")
    return store


def rotate(datasets_dir: Path) -> str:
    """A new current data key for sealing; returns its id. Old keys stay for reading."""
    return keystore(datasets_dir).rotate(KEY_PURPOSE)


# ---------------------------------------------------------------- sealing


def columns_to_seal(
    fields: list[dict], tags: dict[str, list[str]], rules: Any, stored: list[str]
) -> list[str]:
    """Stored columns holding sensitive personal information, in stored order."""
    chosen = {f["name"] for f in fields if f.get("kind") in SEALED_KINDS}
    for column, codes in (tags or {}).items():
        if any(rules.is_sensitive(code) for code in codes):
            chosen.add(column)
    return [c for c in stored if c in chosen]


def _aad(rel: str, key_id: str) -> bytes:
    return f"gongshu/dataset/{rel}|{key_id}".encode()


def encrypt_to(
    datasets_dir: Path,
    rel: str,
    plaintext: bytes,
    store: KeyStore,
    *,
    session: Session | None = None,
) -> dict:
    """Seal ``plaintext`` into ``datasets_dir/rel`` (through scratch, renamed into place)."""
    key_id, key = store.current(KEY_PURPOSE)
    blob = MAGIC + key_id.encode() + b"\n" + sm4_gcm_encrypt(key, plaintext, _aad(rel, key_id))
    tmp = scratch.new_path(datasets_dir, Path(rel).name)
    try:
        with open(tmp, "xb") as fh:
            fh.write(blob)
        scratch.place(tmp, datasets_dir, rel, session)
    finally:
        tmp.unlink(missing_ok=True)
    return {
        "path": rel,
        "key_id": key_id,
        "algorithm": "SM4-GCM",
        "sha256": hashlib.sha256(blob).hexdigest(),
    }


def _frame_aad(rel: str, key_id: str, number: int, last: bool) -> bytes:
    return _aad(rel, key_id) + f"|frame {number}|{'last' if last else 'more'}".encode()


class SealedWriter:
    """Write rows to ``datasets_dir/rel`` sealed frame by frame (through scratch,
    renamed into place by ``close``): only one frame's rows are held in memory."""

    def __init__(
        self,
        datasets_dir: Path,
        rel: str,
        schema: pa.Schema,
        store: KeyStore,
        *,
        session: Session | None = None,
    ) -> None:
        self.datasets_dir, self.rel, self.schema, self.session = datasets_dir, rel, schema, session
        self.key_id, self._key = store.current(KEY_PURPOSE)
        self._tmp = scratch.new_path(datasets_dir, Path(rel).name)
        self._fh = open(self._tmp, "xb")  # noqa: SIM115 - closed by close/abort
        self._digest = hashlib.sha256()
        self._rows: list[pa.Table] = []
        self._held = 0
        self._pending: bytes | None = None  # the previous frame's plaintext
        self._frames = 0
        self._put(MAGIC_FRAMED + self.key_id.encode() + b"\n")

    def _put(self, data: bytes) -> None:
        self._fh.write(data)
        self._digest.update(data)

    def _seal(self, last: bool) -> None:
        assert self._pending is not None
        aad = _frame_aad(self.rel, self.key_id, self._frames, last)
        blob = sm4_gcm_encrypt(self._key, self._pending, aad)
        self._put(len(blob).to_bytes(_FRAME_LEN, "big") + blob)
        self._frames += 1
        self._pending = None

    def _frame(self, table: pa.Table) -> None:
        if self._pending is not None:
            self._seal(last=False)
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd")
        self._pending = buf.getvalue()

    def write(self, table: pa.Table) -> None:
        self._rows.append(table)
        self._held += table.num_rows
        while self._held >= FRAME_ROWS:
            rows = pa.concat_tables(self._rows)
            self._frame(rows.slice(0, FRAME_ROWS))
            rest = rows.slice(FRAME_ROWS)
            self._rows, self._held = [rest], rest.num_rows

    def close(self) -> dict:
        """Seal the last frame, place the file; the metadata of ``DatasetVersion.sealed``
        (path, key id, algorithm, sha256; the caller adds columns and order)."""
        try:
            if self._held or self._pending is None:
                rows = pa.concat_tables(self._rows) if self._rows else self.schema.empty_table()
                self._frame(rows)
            self._seal(last=True)
            self._fh.close()
            scratch.place(self._tmp, self.datasets_dir, self.rel, self.session)
        finally:
            self.abort()
        return {
            "path": self.rel,
            "key_id": self.key_id,
            "algorithm": "SM4-GCM",
            "sha256": self._digest.hexdigest(),
        }

    def abort(self) -> None:
        self._fh.close()
        self._tmp.unlink(missing_ok=True)


def _write_sealed(
    datasets_dir: Path, rel: str, tables: Any, schema: pa.Schema, store: KeyStore
) -> dict:
    writer = SealedWriter(datasets_dir, rel, schema, store)
    try:
        for table in tables:
            writer.write(table)
    except BaseException:
        writer.abort()
        raise
    return {**writer.close(), "columns": schema.names}


def record_sealed(session: Session, version: DatasetVersion, by: str) -> None:
    """The ledger entry of a version's columns sealed at rest."""
    record(
        session,
        "storage.sealed",
        actor=by,
        subject=f"entry:{version.entry_id}",
        payload={
            "dataset_version": version.id,
            "columns": version.sealed["columns"],
            "key_id": version.sealed["key_id"],
            "algorithm": "SM4-GCM",
        },
    )


def reseal(session: Session, *, datasets_dir: Path, by: str) -> int:
    """Re-encrypt every version sealed under a key that is no longer current."""
    store = keystore(datasets_dir)
    current, _ = store.current(KEY_PURPOSE)
    moved = 0
    for version in session.scalars(
        select(DatasetVersion).where(DatasetVersion.sealed.is_not(None))
    ):
        info = dict(version.sealed)
        if info["key_id"] == current:
            continue
        stem = version.path.removesuffix(".parquet")
        rel = f"{stem}.k{current[:8]}{SEALED_SUFFIX}"
        frames = _sealed_frames(datasets_dir, info)
        first = next(frames)
        new = _write_sealed(
            datasets_dir, rel, itertools.chain([first], frames), first.schema, store
        )
        version.sealed = {**info, **new}
        session.flush()
        record(
            session,
            "storage.resealed",
            actor=by,
            subject=f"entry:{version.entry_id}",
            payload={"dataset_version": version.id, "from": info["key_id"], "to": current},
        )
        # The old file stays until the next start-up's sweep (no longer referenced):
        # a reader that read the old metadata finishes on it.
        moved += 1
    return moved


# ---------------------------------------------------------------- reading


def _sealed_frames(  # noqa: ANN202 - Iterator[pa.Table]
    datasets_dir: Path, info: dict, columns: list[str] | None = None
):
    """The sealed file's rows as tables, one decrypted frame at a time (a file of the
    first format is one frame), only ``columns`` of them decoded when given. At least
    one table, however few rows."""
    rel = info["path"]
    store = objects.at(datasets_dir)
    total = store.size(rel)
    with store.open(rel) as raw:  # a stream (S3 objects cannot seek or tell)
        fh = pa.BufferedInputStream(raw, 1 << 20) if isinstance(raw, pa.NativeFile) else raw
        header = fh.read(len(MAGIC))
        if header not in (MAGIC, MAGIC_FRAMED):
            raise Conflict(f"加密数据文件格式无效：{rel}")
        key_line = b""
        while not key_line.endswith(b"\n"):
            byte = fh.read(1)
            if not byte or len(key_line) > 200:
                raise Conflict(f"加密数据文件格式无效：{rel}")
            key_line += byte
        key_id = key_line[:-1].decode()
        key = keystore(datasets_dir).get(key_id)
        if header == MAGIC:
            plain = sm4_gcm_decrypt(key, fh.read(), _aad(rel, key_id))
            _frame_decrypted(0, len(plain))
            yield pq.read_table(pa.BufferReader(plain), columns=columns)
            return
        position = len(header) + len(key_line)
        number, last = 0, False
        while not last:
            size = fh.read(_FRAME_LEN)
            if len(size) < _FRAME_LEN:
                raise Conflict(f"加密数据文件不完整：{rel}")
            length = int.from_bytes(size, "big")
            blob = fh.read(length)
            position += _FRAME_LEN + len(blob)
            last = position >= total  # the end of the file: this frame must say "last"
            plain = sm4_gcm_decrypt(key, blob, _frame_aad(rel, key_id, number, last))
            del blob
            _frame_decrypted(number, len(plain))
            number += 1
            yield pq.read_table(pa.BufferReader(plain), columns=columns)


# Called with (frame number, plaintext bytes) each time a sealed frame is decrypted:
# tests bound how much is held at once through it.
frame_hooks: list[Callable[[int, int], None]] = []


def _frame_decrypted(number: int, size: int) -> None:
    for hook in frame_hooks:
        hook(number, size)


def _open_sealed(datasets_dir: Path, info: dict) -> pa.Table:
    return pa.concat_tables(_sealed_frames(datasets_dir, info))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def relation(
    con: duckdb.DuckDBPyConnection,
    datasets_dir: Path,
    version: DatasetVersion,
    *,
    row_numbers: bool = False,
) -> str:
    """SQL text for ``FROM``: the version's whole table, sealed columns included.

    ``row_numbers`` adds ``file_row_number`` (0-based position in the version).
    Registers the decrypted columns on ``con`` (they live in this connection's
    memory only, for its lifetime).
    """
    numbered = ", file_row_number = true" if row_numbers else ""
    local = objects.at(datasets_dir).local(version.path)
    plain = f"read_parquet({_literal(local)}{numbered})"
    if not version.sealed:
        return plain
    info = version.sealed
    name = f"gs_sealed_{version.id}_{next(_names)}"
    con.register(name, _open_sealed(datasets_dir, info))
    order = ", ".join(_quote(c) for c in info["order"])
    if row_numbers:
        order = "file_row_number, " + order
    return f"(SELECT {order} FROM {plain} POSITIONAL JOIN {name})"


ROW_NUMBER = "file_row_number"  # the name DuckDB's read_parquet gives a row's position


def batch_reader(
    datasets_dir: Path,
    version: DatasetVersion,
    columns: list[str] | None = None,
    *,
    row_numbers: bool = False,
    rows_per_batch: int = 65536,
) -> pa.RecordBatchReader:
    """The version's ``columns`` (all when None) as an Arrow stream, read as it is
    consumed: the plain file batch by batch, the sealed columns beside them one
    decrypted frame at a time, so memory stays at a frame whatever the version's size
    (issue 19 item 3). Only the columns asked for are read: the sealed file is not
    opened when none of them is sealed. ``row_numbers`` puts ``file_row_number``
    (0-based position in the version, int64) first, as ``relation`` does.

    A stream is read once: for a query that scans its source once (``streamed``).
    """
    # pre_buffer=False: pyarrow's default reads every row group's column chunks up front,
    # the whole file in memory before the first batch (issue 19 item 3)
    plain = pq.ParquetFile(objects.at(datasets_dir).source(version.path), pre_buffer=False)
    info = version.sealed or {}
    sealed = set(info.get("columns") or ())
    names = list(info.get("order") or plain.schema_arrow.names) if columns is None else columns
    fields = {f.name: f for f in plain.schema_arrow}
    unknown = [n for n in names if n not in fields and n not in sealed]
    if unknown:
        raise Conflict(f"数据版本中没有这些列：{'、'.join(unknown)}")
    want_sealed = [n for n in names if n in sealed]
    want_plain = [n for n in names if n not in sealed]
    frames = _sealed_frames(datasets_dir, info, want_sealed) if want_sealed else None
    held: pa.Table | None = next(frames) if frames is not None else None
    if held is not None:
        fields.update({f.name: f for f in held.schema})
    out = [fields[n] for n in names]
    if row_numbers:
        out.insert(0, pa.field(ROW_NUMBER, pa.int64(), nullable=False))
    out_schema = pa.schema(out)
    # the plain file drives the batches, no longer than a frame so that at most two
    # frames' rows are held at once; the frames do when only sealed columns are asked
    # for, and one plain column when nothing is (a count of rows)
    drive = want_plain or ([] if frames is not None else plain.schema_arrow.names[:1])
    if frames is not None:
        rows_per_batch = min(rows_per_batch, FRAME_ROWS)

    def pieces() -> Any:  # noqa: ANN401 - Iterator[(plain batch | None, sealed part | None)]
        nonlocal held
        if not drive:  # every column sealed: the frames give the rows
            while held is not None:
                for b in held.to_batches(rows_per_batch):
                    if b.num_rows:
                        yield None, pa.Table.from_batches([b])
                held = next(frames, None) if frames is not None else None
            return
        for batch in plain.iter_batches(batch_size=rows_per_batch, columns=drive):
            part = None
            if held is not None:
                while held.num_rows < batch.num_rows:
                    more = next(frames, None) if frames is not None else None
                    if more is None:
                        raise Conflict(f"加密数据文件行数与明文文件不符：{info['path']}")
                    held = pa.concat_tables([held, more])
                part, held = held.slice(0, batch.num_rows), held.slice(batch.num_rows)
            yield batch, part

    def batches() -> Any:  # noqa: ANN401 - Iterator[pa.RecordBatch]
        start = 0
        try:
            for batch, part in pieces():
                cols = {} if batch is None else {c: batch.column(c) for c in want_plain}
                if part is not None:
                    cols.update({c: part.column(c).combine_chunks() for c in want_sealed})
                n = batch.num_rows if batch is not None else part.num_rows
                arrays = [cols[c] for c in names]
                if row_numbers:
                    arrays.insert(0, pa.array(np.arange(start, start + n, dtype=np.int64)))
                start += n
                yield pa.RecordBatch.from_arrays(arrays, schema=out_schema)
        finally:
            if frames is not None:
                frames.close()

    return pa.RecordBatchReader.from_batches(out_schema, batches())


def streamed(
    con: duckdb.DuckDBPyConnection,
    datasets_dir: Path,
    version: DatasetVersion,
    columns: list[str] | None = None,
    *,
    row_numbers: bool = False,
) -> str:
    """SQL text for ``FROM``: the version's ``columns`` (all when None) as a stream
    DuckDB scans as it goes (``batch_reader``): the same rows, in the same order, as
    ``relation``, with at most a sealed frame decrypted at a time. Registered on
    ``con``; it can be scanned once only, so only for a query that reads its source
    once (a second scan fails loudly rather than reading nothing)."""
    name = f"gs_stream_{version.id}_{next(_names)}"
    con.register(name, batch_reader(datasets_dir, version, columns, row_numbers=row_numbers))
    return name


def schema(datasets_dir: Path, version: DatasetVersion) -> pa.Schema:
    """The version's Arrow schema in the original column order (sealed columns included)."""
    plain = pq.read_schema(objects.at(datasets_dir).source(version.path))
    if not version.sealed:
        return plain
    fields = {f.name: f for f in plain}
    frames = _sealed_frames(datasets_dir, version.sealed)
    try:
        fields.update({f.name: f for f in next(frames).schema})
    finally:
        frames.close()
    return pa.schema([fields[n] for n in version.sealed["order"]])


def read_table(
    datasets_dir: Path, version: DatasetVersion, columns: list[str] | None = None
) -> pa.Table:
    """The version as one Arrow table (``columns`` in that order, or all)."""
    plain = pq.read_table(objects.at(datasets_dir).source(version.path))
    if version.sealed:
        sealed = _open_sealed(datasets_dir, version.sealed)
        by_name = {n: plain.column(n) for n in plain.column_names}
        by_name.update({n: sealed.column(n) for n in sealed.column_names})
        order = version.sealed["order"]
        plain = pa.table({n: by_name[n] for n in order})
    return plain.select(columns) if columns is not None else plain


def stream(datasets_dir: Path, version: DatasetVersion, *, rows_per_batch: int = 65536):  # noqa: ANN201
    """The version as a ``TableStream`` of batches in the original column order."""
    from gongshu.tabular import TableStream

    plain = pq.ParquetFile(objects.at(datasets_dir).source(version.path), pre_buffer=False)
    if not version.sealed:
        names = plain.schema_arrow.names
        return TableStream(
            datasets_dir / version.path,
            "parquet",
            None,
            names,
            plain.iter_batches(batch_size=rows_per_batch),
        )
    order = version.sealed["order"]

    def batches():  # noqa: ANN202 - one sealed frame decrypted at a time
        frames = _sealed_frames(datasets_dir, version.sealed)
        held = next(frames)
        for batch in plain.iter_batches(batch_size=rows_per_batch):
            while held.num_rows < batch.num_rows:
                more = next(frames, None)
                if more is None:
                    raise Conflict(f"加密数据文件行数与明文文件不符：{version.sealed['path']}")
                held = pa.concat_tables([held, more])
            part, held = held.slice(0, batch.num_rows), held.slice(batch.num_rows)
            cols = {n: batch.column(n) for n in batch.schema.names}
            cols.update({n: part.column(n).combine_chunks() for n in part.column_names})
            yield pa.RecordBatch.from_arrays([cols[n] for n in order], names=order)

    return TableStream(datasets_dir / version.path, "parquet", None, list(order), batches())


def seal_file(datasets_dir: Path, rel: str) -> str:
    """Encrypt a whole stored file and remove the plain one; returns the sealed file's
    path. (A load seals its quarantine from memory: ``seal_bytes``.)"""
    store = objects.at(datasets_dir)
    sealed_rel = seal_bytes(datasets_dir, rel, store.read_bytes(rel))
    store.delete(rel)
    return sealed_rel


def seal_bytes(
    datasets_dir: Path, rel: str, plaintext: bytes, *, session: Session | None = None
) -> str:
    """Store ``plaintext`` (a load's quarantine of rejected rows, which keeps every
    column as text) sealed whole as ``rel`` with the ``.sealed`` suffix; returns that path."""
    sealed_rel = rel.removesuffix(".parquet") + SEALED_SUFFIX
    encrypt_to(datasets_dir, sealed_rel, plaintext, keystore(datasets_dir), session=session)
    return sealed_rel


def open_file(datasets_dir: Path, rel: str) -> pa.Table:
    """A file sealed by ``seal_file`` (or a plain Parquet file), as a table."""
    if rel.endswith(SEALED_SUFFIX):
        return _open_sealed(datasets_dir, {"path": rel})
    return pq.read_table(objects.at(datasets_dir).source(rel))


def stored_files(version: DatasetVersion) -> list[str]:
    """Every file of the version, relative to the datasets directory (backups)."""
    files = [version.path]
    if version.quarantine_path:
        files.append(version.quarantine_path)
    if version.sealed:
        files.append(version.sealed["path"])
    return files
