"""Backups of an instance's keys, wrapped under a passphrase (``gongshu keys export``).

One file holds the ledger signing key (Ed25519 PEM) and every data key of the key
store in the clear, the whole encrypted with SM4-GCM under a key derived from the
passphrase by scrypt (RFC 7914; n = 2**15, r = 8, p = 1: about 0.1 s and 32 MB a
guess). The data keys are stored unwrapped so that a backup restores onto an
instance whose ``GONGSHU_SECRET_KEY`` changed: ``import_backup`` wraps them again
under the current secret.

Import never overwrites a different key: a signing key with another fingerprint,
or a key store lacking or disagreeing with a key of the backup, is refused with
the file named. Keys already present and equal are left as they are.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from gongshu.errors import InvalidInput
from gongshu.ledger.keys import KEY_FILE, InstanceKey
from gongshu.protect.crypto import sm4_gcm_decrypt, sm4_gcm_encrypt
from gongshu.protect.errors import DecryptionFailed, KeysMismatch, KeyStoreLocked
from gongshu.protect.keystore import FileKeyStore

FORMAT = "gongshu-keys/1"
MIN_PASSPHRASE = 12
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_AAD = FORMAT.encode()


@dataclass(frozen=True)
class ImportReport:
    signing_key: str  # "restored", "present" or "absent" (not in the backup)
    data_keys: str


def _wrapping_key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=16, n=n, r=r, p=p).derive(passphrase.encode())


def export_backup(settings: Any, passphrase: str) -> bytes:  # noqa: ANN401 - Settings
    """The instance's keys as one JSON document, encrypted under ``passphrase``."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(f"备份口令至少 {MIN_PASSPHRASE} 个字符")
    contents: dict[str, Any] = {}
    key_path = settings.keys_dir / KEY_FILE
    if key_path.exists():
        contents["signing_key"] = key_path.read_text()
    store = FileKeyStore.from_settings(settings)
    if store.path.exists():
        try:
            contents["data_keys"] = store.export_keys()
        except KeyStoreLocked as exc:
            raise KeysMismatch(f"实例密钥解不开密钥库文件 {store.path}，无法备份") from exc
    if not contents:
        raise InvalidInput(f"{settings.keys_dir} 中没有可备份的密钥")
    salt = os.urandom(16)
    sealed = sm4_gcm_encrypt(
        _wrapping_key(passphrase, salt, **SCRYPT), json.dumps(contents).encode(), _AAD
    )
    document = {
        "format": FORMAT,
        "kdf": {"name": "scrypt", "salt": base64.b64encode(salt).decode(), **SCRYPT},
        "cipher": "SM4-GCM",
        "sealed": base64.b64encode(sealed).decode(),
    }
    return (json.dumps(document, indent=1) + "\n").encode()


def read_backup(blob: bytes, passphrase: str) -> dict[str, Any]:
    """The keys inside a backup; ``InvalidInput`` for a wrong passphrase or a changed file."""
    try:
        document = json.loads(blob)
        if document.get("format") != FORMAT or document["kdf"]["name"] != "scrypt":
            raise ValueError(document.get("format"))
        kdf = document["kdf"]
        key = _wrapping_key(
            passphrase, base64.b64decode(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        )
        plain = sm4_gcm_decrypt(key, base64.b64decode(document["sealed"]), _AAD)
    except DecryptionFailed as exc:
        raise InvalidInput("备份口令不对，或备份文件被改动") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput("不是公数密钥备份文件") from exc
    return json.loads(plain)


def import_backup(settings: Any, blob: bytes, passphrase: str) -> ImportReport:  # noqa: ANN401
    """Restore the keys of a backup into the instance's keys directory.

    Everything is checked before anything is written, so a refusal changes nothing."""
    contents = read_backup(blob, passphrase)
    key_path = settings.keys_dir / KEY_FILE
    signing = None
    if "signing_key" in contents:
        signing = InstanceKey(
            serialization.load_pem_private_key(contents["signing_key"].encode(), password=None)  # type: ignore[arg-type]
        )
        if key_path.exists() and InstanceKey.load(key_path).fingerprint != signing.fingerprint:
            raise KeysMismatch(f"签名密钥文件 {key_path} 已存在且与备份中的不同，拒绝覆盖")
    store = FileKeyStore.from_settings(settings)
    data_keys = contents.get("data_keys")
    store_present = store.path.exists()
    if data_keys is not None and store_present:
        _require_same(store, data_keys)
    signing_state = "absent"
    if signing is not None:
        signing_state = "restored" if signing.install(settings.keys_dir) else "present"
    data_state = "absent"
    if data_keys is not None:
        data_state = "present" if store_present else "restored"
        if not store_present:
            store.import_keys(data_keys)
    return ImportReport(signing_state, data_state)


def _require_same(store: FileKeyStore, data_keys: dict) -> None:
    """An existing store must hold every key of the backup, each the same."""
    try:
        present = store.export_keys()["keys"]
    except KeyStoreLocked as exc:
        raise KeysMismatch(f"实例密钥解不开已有的密钥库文件 {store.path}，拒绝覆盖") from exc
    for key_id, entry in data_keys["keys"].items():
        if key_id not in present or present[key_id]["key"] != entry["key"]:
            raise KeysMismatch(
                f"密钥库文件 {store.path} 已存在且与备份不同（密钥 {key_id}），拒绝覆盖"
            )
