"""Key stores for field encryption and pseudonymization (SEC-3, SEC-9).

``KeyStore`` is the extension point: an external KMS or HSM implements the
same three methods. ``FileKeyStore`` is the embedded default. Its file holds
each data key wrapped (SM4-GCM) under a master key derived from the
instance secret, so neither the file nor the metadata database ever holds a
key in the clear; the file is created with mode 0600 and replaced
atomically, so a reader never sees half a file.

Rotation never breaks old data: ``rotate`` adds a new current key and keeps
the old ones, every ciphertext names the key that made it, and
``operators.reencrypt`` moves data to the current key at leisure.

A store is created on first use, never again: once this object has read its
file, a missing file raises ``KeysMissing`` instead of starting an empty store
(every version sealed before would become unreadable for good). Start-up checks
the store against the data with ``check`` (runtime.check_keys).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

from gongshu.protect.crypto import derive_key, sm4_gcm_decrypt, sm4_gcm_encrypt
from gongshu.protect.errors import (
    DecryptionFailed,
    InvalidParameter,
    KeyNotFound,
    KeysMismatch,
    KeysMissing,
    KeyStoreLocked,
)
from gongshu.timeutil import utcnow

KEY_BYTES = 16  # SM4 keys are 128 bits
FORMAT_VERSION = 1
_PURPOSE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@runtime_checkable
class KeyStore(Protocol):
    """Where data keys live. Key ids are short ASCII tokens without ``$``."""

    def get(self, key_id: str) -> bytes:
        """The key with this id, current or retired; ``KeyNotFound`` otherwise."""
        ...

    def current(self, purpose: str) -> tuple[str, bytes]:
        """The key new data for ``purpose`` is protected with (created on first use)."""
        ...

    def rotate(self, purpose: str) -> str:
        """Make a fresh key current for ``purpose``; older keys stay readable."""
        ...


def check_purpose(purpose: str) -> str:
    if not isinstance(purpose, str) or not _PURPOSE.match(purpose):
        raise InvalidParameter(
            "keystore", "purpose", f"用途名须为小写字母、数字、._- 组成，收到 {purpose!r}"
        )
    return purpose


class FileKeyStore:
    """Keys in one JSON file, each wrapped under a master key from the instance secret."""

    def __init__(self, path: Path, secret: str | bytes) -> None:
        if not secret:
            raise InvalidParameter("FileKeyStore", "secret", "实例密钥不能为空")
        self.path = Path(path)
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._lock = threading.Lock()
        self._doc: dict | None = None
        self._master: bytes | None = None
        self._loaded_mtime: int | None = None
        self._seen = False  # read from its file once: never silently start afresh

    @classmethod
    def from_settings(cls, settings) -> FileKeyStore:  # noqa: ANN001 - gongshu.config.Settings
        return cls(settings.keys_dir / "keystore.json", settings.secret_key)

    # -- file ----------------------------------------------------------------

    def _mtime(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _load(self) -> dict:
        self._loaded_mtime = self._mtime()
        if self._loaded_mtime is not None:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            self._master = None
            self._seen = True
        elif self._seen:
            raise KeysMissing(
                f"密钥库文件 {self.path} 已不存在：不会重新生成，"
                "请用 gongshu keys import 从备份恢复"
            )
        else:
            doc = {
                "version": FORMAT_VERSION,
                "salt": base64.b64encode(os.urandom(16)).decode(),
                "keys": {},
                "current": {},
            }
        self._doc = doc
        return doc

    def _document(self) -> dict:
        # Another process (a rotation job) may have replaced the file: one stat per call.
        if self._doc is None or self._mtime() != self._loaded_mtime:
            return self._load()
        return self._doc

    def _master_key(self, doc: dict) -> bytes:
        if self._master is None:
            salt = base64.b64decode(doc["salt"])
            self._master = derive_key(self._secret, "gongshu/keystore/master", KEY_BYTES, salt=salt)
        return self._master

    def _save(self, doc: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        os.chmod(self.path, 0o600)
        self._loaded_mtime = self._mtime()
        self._seen = True

    def _unwrap(self, doc: dict, key_id: str) -> bytes:
        entry = doc["keys"][key_id]
        aad = f"{key_id}|{entry['purpose']}".encode()
        try:
            return sm4_gcm_decrypt(self._master_key(doc), base64.b64decode(entry["wrapped"]), aad)
        except DecryptionFailed as exc:
            raise KeyStoreLocked(
                "实例密钥无法解开密钥库：GONGSHU_SECRET_KEY 与创建时不同，或密钥文件被改动",
                detail={"key_id": key_id},
            ) from exc

    def _new_key(self, doc: dict, purpose: str) -> str:
        key_id = "k" + secrets.token_hex(8)
        key = os.urandom(KEY_BYTES)
        aad = f"{key_id}|{purpose}".encode()
        doc["keys"][key_id] = {
            "purpose": purpose,
            "created": utcnow().isoformat(),
            "wrapped": base64.b64encode(sm4_gcm_encrypt(self._master_key(doc), key, aad)).decode(),
        }
        doc["current"][purpose] = key_id
        return key_id

    # -- protocol ------------------------------------------------------------

    def get(self, key_id: str) -> bytes:
        with self._lock:
            doc = self._document()
            if key_id not in doc["keys"]:
                doc = self._load()  # another process may have rotated meanwhile
            if key_id not in doc["keys"]:
                raise KeyNotFound(f"密钥 {key_id} 不存在", detail={"key_id": key_id})
            return self._unwrap(doc, key_id)

    def current(self, purpose: str) -> tuple[str, bytes]:
        check_purpose(purpose)
        with self._lock:
            doc = self._document()
            key_id = doc["current"].get(purpose)
            if key_id is None:
                doc = self._load()
                key_id = doc["current"].get(purpose)
            if key_id is None:
                key_id = self._new_key(doc, purpose)
                self._save(doc)
            return key_id, self._unwrap(doc, key_id)

    def rotate(self, purpose: str) -> str:
        check_purpose(purpose)
        with self._lock:
            doc = self._load()
            if doc["keys"]:
                # Refuse to add a key under a different secret: it would split the store.
                self._unwrap(doc, next(iter(doc["keys"])))
            key_id = self._new_key(doc, purpose)
            self._save(doc)
            return key_id

    def key_ids(self, purpose: str | None = None) -> list[str]:
        """Ids of all keys (for ``purpose`` if given), oldest first."""
        with self._lock:
            doc = self._document()
            return [k for k, e in doc["keys"].items() if purpose is None or e["purpose"] == purpose]

    # -- start-up check and backup --------------------------------------------

    def check(self, key_ids: Iterable[str] = ()) -> None:
        """Refuse a store that is not the one the data was sealed with: a missing
        file (``KeysMissing``), a key the data names that it lacks, or keys the
        instance secret cannot unwrap (``KeysMismatch``); every message names the file."""
        with self._lock:
            if self._mtime() is None:
                raise KeysMissing(
                    f"实例已有加密存储的数据，但缺少密钥库文件 {self.path}："
                    "请用 gongshu keys import 从备份恢复"
                )
            doc = self._load()
            lacking = sorted(set(key_ids) - set(doc["keys"]))
            if lacking:
                raise KeysMismatch(
                    f"密钥库文件 {self.path} 缺少加密数据所用的密钥 {', '.join(lacking)}"
                    "：请用 gongshu keys import 恢复原密钥库",
                    detail={"missing": lacking},
                )
            try:
                for key_id in doc["keys"]:
                    self._unwrap(doc, key_id)
            except KeyStoreLocked as exc:
                raise KeysMismatch(
                    f"实例密钥 GONGSHU_SECRET_KEY 解不开密钥库文件 {self.path}"
                    "：密钥与创建时不同，或文件被改动"
                ) from exc

    def export_keys(self) -> dict:
        """Every key in the clear with its purpose and date, and the current ones:
        for a backup that ``keys export`` wraps under a passphrase at once."""
        with self._lock:
            doc = self._load()
            keys = {
                key_id: {
                    "purpose": entry["purpose"],
                    "created": entry["created"],
                    "key": base64.b64encode(self._unwrap(doc, key_id)).decode(),
                }
                for key_id, entry in doc["keys"].items()
            }
            return {"keys": keys, "current": dict(doc["current"])}

    def import_keys(self, exported: dict) -> None:
        """Write a new store holding ``exported`` keys, wrapped under this store's
        secret. Refuses when the file exists (the caller compares first)."""
        with self._lock:
            if self._mtime() is not None:
                raise KeysMismatch(f"密钥库文件 {self.path} 已存在，拒绝覆盖")
            doc = {
                "version": FORMAT_VERSION,
                "salt": base64.b64encode(os.urandom(16)).decode(),
                "keys": {},
                "current": dict(exported["current"]),
            }
            self._master = None
            master = self._master_key(doc)
            for key_id, entry in exported["keys"].items():
                aad = f"{key_id}|{entry['purpose']}".encode()
                key = base64.b64decode(entry["key"])
                doc["keys"][key_id] = {
                    "purpose": entry["purpose"],
                    "created": entry["created"],
                    "wrapped": base64.b64encode(sm4_gcm_encrypt(master, key, aad)).decode(),
                }
            self._save(doc)
            self._doc = doc
