"""The backup directory's format: what is in it, how it is sealed, how it is checked.

```
DEST/
  metadata.sqlite | metadata.pgdump   the metadata database at the snapshot point
  keys.sealed                         the keys directory, SM4-GCM under the instance secret
  files/<path in the data directory>  every stored file the snapshot refers to
  manifest.json                       written last: hashes of all the above, the ledger
                                      head and its signed checkpoint, HMAC-SM3 over it
```

The manifest is renamed into place only after every other file is written and
fsynced, so a backup killed half-way has no manifest and ``restore`` refuses it; a
manifest names the SHA-256 of every file, so a file cut short or changed is found
too. Its MAC and the sealed keys use keys derived (HKDF-SM3) from the instance
secret with the backup's own salt: a restore under another secret cannot open them
and says so (SEC-9).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import BinaryIO

from gongshu.protect.crypto import derive_key, hmac_sm3, sm4_gcm_decrypt, sm4_gcm_encrypt
from gongshu.protect.errors import DecryptionFailed

FORMAT = "gongshu-backup/1"
MANIFEST = "manifest.json"
KEYS = "keys.sealed"
FILES = "files"
SQLITE = "metadata.sqlite"
PGDUMP = "metadata.pgdump"
_KEYS_AAD = b"gongshu/backup/keys/1"


def _key(secret: str, label: str, salt: bytes) -> bytes:
    return derive_key(secret.encode(), f"gongshu/backup/{label}", 16, salt=salt)


def seal_keys(keys_dir: Path, secret: str, salt: bytes) -> bytes:
    """Every file of the keys directory (the key store, the instance signing key) as
    one SM4-GCM blob under the instance secret."""
    bundle = {
        p.name: base64.b64encode(p.read_bytes()).decode()
        for p in sorted(keys_dir.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }
    plain = json.dumps(bundle, sort_keys=True).encode()
    return sm4_gcm_encrypt(_key(secret, "keys", salt), plain, _KEYS_AAD)


def open_keys(blob: bytes, secret: str, salt: bytes) -> dict[str, bytes]:
    """The keys directory's files; ``DecryptionFailed`` under another secret."""
    plain = sm4_gcm_decrypt(_key(secret, "keys", salt), blob, _KEYS_AAD)
    return {name: base64.b64decode(data) for name, data in json.loads(plain).items()}


def canonical(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def mac(manifest: dict, secret: str) -> str:
    salt = base64.b64decode(manifest["salt"])
    return hmac_sm3(_key(secret, "manifest", salt), canonical(manifest)).hex()


def write_manifest(dest: Path, manifest: dict, secret: str) -> None:
    """Last step of a backup: the manifest appears whole, after everything it names."""
    manifest = {**manifest, "mac": mac(manifest, secret)}
    tmp = dest / f".{MANIFEST}.partial"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, dest / MANIFEST)
    fsync_dir(dest)


def copy_hashed(src: BinaryIO, dest: Path) -> dict:
    """Copy ``src`` to a new file ``dest`` (fsynced); its size and SHA-256."""
    digest, size = hashlib.sha256(), 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "xb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return {"sha256": digest.hexdigest(), "bytes": size}


def file_hash(path: Path) -> dict:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "bytes": size}


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = [
    "FILES",
    "FORMAT",
    "KEYS",
    "MANIFEST",
    "PGDUMP",
    "SQLITE",
    "DecryptionFailed",
    "canonical",
    "copy_hashed",
    "file_hash",
    "mac",
    "open_keys",
    "seal_keys",
    "write_manifest",
]
