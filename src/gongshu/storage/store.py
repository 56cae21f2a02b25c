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
from pathlib import Path
from typing import Any

import duckdb
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


def _write_sealed(datasets_dir: Path, rel: str, table: pa.Table, store: KeyStore) -> dict:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    info = encrypt_to(datasets_dir, rel, buf.getvalue(), store)
    return {**info, "columns": table.column_names}


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
        table = _open_sealed(datasets_dir, info)
        stem = version.path.removesuffix(".parquet")
        rel = f"{stem}.k{current[:8]}{SEALED_SUFFIX}"
        new = _write_sealed(datasets_dir, rel, table, store)
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


def _open_sealed(datasets_dir: Path, info: dict) -> pa.Table:
    blob = objects.at(datasets_dir).read_bytes(info["path"])
    if not blob.startswith(MAGIC):
        raise Conflict(f"加密数据文件格式无效：{info['path']}")
    header_end = blob.index(b"\n", len(MAGIC))
    key_id = blob[len(MAGIC) : header_end].decode()
    key = keystore(datasets_dir).get(key_id)
    plain = sm4_gcm_decrypt(key, blob[header_end + 1 :], _aad(info["path"], key_id))
    return pq.read_table(pa.BufferReader(plain))


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


def schema(datasets_dir: Path, version: DatasetVersion) -> pa.Schema:
    """The version's Arrow schema in the original column order (sealed columns included)."""
    plain = pq.read_schema(objects.at(datasets_dir).source(version.path))
    if not version.sealed:
        return plain
    fields = {f.name: f for f in plain}
    fields.update({f.name: f for f in _open_sealed(datasets_dir, version.sealed).schema})
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

    plain = pq.ParquetFile(objects.at(datasets_dir).source(version.path))
    if not version.sealed:
        names = plain.schema_arrow.names
        return TableStream(
            datasets_dir / version.path,
            "parquet",
            None,
            names,
            plain.iter_batches(batch_size=rows_per_batch),
        )
    sealed = _open_sealed(datasets_dir, version.sealed)
    order = version.sealed["order"]

    def batches():  # noqa: ANN202
        start = 0
        for batch in plain.iter_batches(batch_size=rows_per_batch):
            part = sealed.slice(start, batch.num_rows)
            start += batch.num_rows
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
