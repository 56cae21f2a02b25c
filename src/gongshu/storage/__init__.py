"""The storage layer: dataset versions at rest and their one lifecycle.

Below the egress door: version rows (``models``), stored files with sensitive
columns sealed (``store``), atomic writes (``atomic``) and the version lifecycle
(``versions``: newest, derived, superseded, orphans swept). Readers get rows through
``relation`` / ``read_table`` / ``stream``; who may call those is checked by
``tests/egress/test_one_door.py``.
"""

from __future__ import annotations

from gongshu.capability import Capability
from gongshu.storage.store import (
    KEY_PURPOSE,
    KeyStoreNotUnlocked,
    attach_sealed,
    columns_to_seal,
    keystore,
    open_file,
    read_table,
    relation,
    reseal,
    rotate,
    schema,
    seal,
    seal_file,
    seal_files,
    stream,
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
    "DatasetNotFound",
    "KeyStoreNotUnlocked",
    "add",
    "attach_sealed",
    "columns_to_seal",
    "derive",
    "get",
    "keystore",
    "newest",
    "newest_numbers",
    "newest_versions",
    "next_number",
    "open_file",
    "read_table",
    "relation",
    "reseal",
    "rotate",
    "schema",
    "seal",
    "seal_file",
    "seal_files",
    "stream",
    "supersede",
    "superseded_by_erasure",
    "sweep_orphans",
    "unlock",
    "unlock_default",
    "unlock_settings",
    "versions_of",
]
