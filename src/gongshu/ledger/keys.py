"""The instance signing key: Ed25519, kept as a PEM file in the keys directory.

Created once, by ``gongshu init`` on a brand-new instance (runtime.init_instance),
and only loaded afterwards (``InstanceKey.require``): a missing key is never
regenerated, since checkpoints signed by the old one would then fail verification
for good. The file is readable by the owner only (mode 600). The public key is
also written beside it so auditors can copy it out and verify checkpoints without
the private key.
"""

from __future__ import annotations

import base64
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gongshu.ledger.merkle import hash_function

KEY_FILE = "instance-ed25519.pem"
PUBLIC_KEY_FILE = "instance-ed25519.pub.pem"


def raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """Hex SM3 of the raw 32-byte public key, first 16 characters."""
    return hash_function("sm3")(raw_public_bytes(public_key)).hex()[:16]


def public_key_from(value: Ed25519PublicKey | bytes | str) -> Ed25519PublicKey:
    """Accept a key object, 32 raw bytes, or PEM text/bytes."""
    if isinstance(value, Ed25519PublicKey):
        return value
    data = value.encode() if isinstance(value, str) else value
    if len(data) == 32:
        return Ed25519PublicKey.from_public_bytes(data)
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def signature_valid(public_key: Ed25519PublicKey, signature_b64: str, message: bytes) -> bool:
    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def load_public_key(keys_dir: Path) -> Ed25519PublicKey | None:
    """The instance public key from ``keys_dir`` (public PEM, else derived), or None."""
    public = keys_dir / PUBLIC_KEY_FILE
    if public.exists():
        return public_key_from(public.read_bytes())
    private = keys_dir / KEY_FILE
    if private.exists():
        return InstanceKey.load(private).public_key
    return None


@dataclass(frozen=True)
class InstanceKey:
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> InstanceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> InstanceKey:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return cls(key)

    @classmethod
    def require(cls, keys_dir: Path) -> InstanceKey:
        """The instance signing key; ``KeysMissing`` naming the file when it is gone."""
        from gongshu.protect.errors import KeysMissing

        path = keys_dir / KEY_FILE
        if not path.exists():
            raise KeysMissing(
                f"缺少账本签名密钥文件 {path} (signing key missing)：不会重新生成，"
                "请用 gongshu keys import 从备份恢复"
            )
        return cls.load(path)

    def install(self, keys_dir: Path) -> bool:
        """Write this key as the instance key (mode 600, atomically, never over
        another): False when a key file exists already. Writes the public key too."""
        path = keys_dir / KEY_FILE
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd, tmp = tempfile.mkstemp(dir=keys_dir, prefix=".key-")  # mkstemp: mode 600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        finally:
            os.unlink(tmp)
        (keys_dir / PUBLIC_KEY_FILE).write_text(self.public_pem())
        return True

    @classmethod
    def load_or_create(cls, keys_dir: Path) -> InstanceKey:
        """Load ``keys_dir/instance-ed25519.pem``, creating it (mode 600) the first time.
        Only for a brand-new instance (``init_instance`` decides); elsewhere ``require``.

        Creation is atomic: the key is written to a private temporary file and
        hard-linked into place, so two processes starting together end up
        sharing one key instead of overwriting each other's."""
        path = keys_dir / KEY_FILE
        if path.exists():
            return cls.load(path)
        key = cls.generate()
        if not key.install(keys_dir):  # another process won the race: use its key
            return cls.load(path)
        return key

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
