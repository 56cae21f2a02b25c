"""The storage layer: dataset versions at rest and their one lifecycle.

Below the egress door: version rows (``models``), stored files with sensitive
columns sealed (``store``, written by ``files``), atomic writes (``atomic``), the
process-owned temporary files (``scratch``, ``ephemeral``) and the version lifecycle
(``versions``: newest, derived, superseded, orphans swept). Readers get rows through
``relation`` / ``read_table`` / ``stream`` (or, for a query that scans its source
once, ``streamed`` / ``batch_reader``: sealed columns decrypted a frame at a time);
who may call those is checked by ``tests/egress/test_one_door.py``.
"""

from __future__ import annotations

from gongshu.capability import Capability
from gongshu.storage import objects
from gongshu.storage.ephemeral import EphemeralFile
from gongshu.storage.files import StoredFiles, seal, write_file, write_version
from gongshu.storage.store import (
    KEY_PURPOSE,
    KeyStoreNotUnlocked,
    batch_reader,
    columns_to_seal,
    keystore,
    open_file,
    read_table,
    record_sealed,
    relation,
    reseal,
    rotate,
    schema,
    seal_bytes,
    seal_file,
    stream,
    streamed,
    unlock,
    unlock_default,
    unlock_settings,
)
from gongshu.storage.versions import (
    DatasetNotFound,
    add,
    derive,
    get,
    newest,
    newest_numbers,
    newest_versions,
    next_number,
    supersede,
    superseded_by_erasure,
    sweep_orphans,
    versions_of,
)

CAPABILITY = Capability(
    name="storage",
    label="数据存储",
    models=("gongshu.storage.models",),
)

__all__ = [
    "CAPABILITY",
    "KEY_PURPOSE",
    "EphemeralFile",
    "StoredFiles",
    "DatasetNotFound",
    "KeyStoreNotUnlocked",
    "batch_reader",
    "add",
    "columns_to_seal",
    "derive",
    "get",
    "keystore",
    "newest",
    "newest_numbers",
    "newest_versions",
    "next_number",
    "objects",
    "open_file",
    "read_table",
    "record_sealed",
    "relation",
    "reseal",
    "rotate",
    "schema",
    "seal",
    "seal_bytes",
    "seal_file",
    "stream",
    "streamed",
    "supersede",
    "superseded_by_erasure",
    "sweep_orphans",
    "unlock",
    "unlock_default",
    "unlock_settings",
    "versions_of",
    "write_file",
    "write_version",
]
