"""The instance signing key, kept as a PEM file in the keys directory.

Checkpoints are signed with SM2 (GB/T 32918, SEC-9, ``protect.sm2``). The key file
holds a 32-byte Ed25519 seed (the format the instance has always had, so key export
and import, backups and restores carry it unchanged); the SM2 signing key is derived
from it with HKDF-SM3 under a label of its own, so it is never a separate file that
could be lost apart. Checkpoints signed before SM2 carry ``signature_algorithm``
"ed25519" and stay verifiable with the Ed25519 public key of the same file: the
verifier dispatches on the algorithm (``signature_valid``).

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
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gongshu.ledger.merkle import hash_function
from gongshu.protect import sm2
from gongshu.protect.crypto import derive_key

KEY_FILE = "instance-ed25519.pem"
PUBLIC_KEY_FILE = "instance-sm2.pub.pem"  # the SM2 checkpoint key, for auditors
LEGACY_PUBLIC_KEY_FILE = "instance-ed25519.pub.pem"  # checkpoints signed before SM2
SM2 = sm2.ALGORITHM  # "sm2-sm3"
ED25519 = "ed25519"
_SM2_LABEL = "gongshu/ledger/checkpoint-sm2/1"


@dataclass(frozen=True)
class Sm2PublicKey:
    """An SM2 public key, ``04 || x || y``."""

    point: bytes

    def __post_init__(self) -> None:
        sm2.z_value(self.point)  # on the curve, or InvalidKey (a ValueError)

    def pem(self) -> str:
        return sm2.public_pem(self.point)


PublicKey = Ed25519PublicKey | Sm2PublicKey


def algorithm_of(public_key: PublicKey) -> str:
    return SM2 if isinstance(public_key, Sm2PublicKey) else ED25519


def raw_public_bytes(public_key: PublicKey) -> bytes:
    if isinstance(public_key, Sm2PublicKey):
        return public_key.point
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_key: PublicKey) -> str:
    """Hex SM3 of the raw public key (32 bytes Ed25519, 65 bytes SM2), first 16 characters."""
    return hash_function("sm3")(raw_public_bytes(public_key)).hex()[:16]


def public_key_from(value: PublicKey | bytes | str) -> PublicKey:
    """Accept a key object, raw bytes (32 Ed25519, 65 SM2), or PEM text/bytes."""
    if isinstance(value, Ed25519PublicKey | Sm2PublicKey):
        return value
    data = value.encode() if isinstance(value, str) else value
    if len(data) == 32:
        return Ed25519PublicKey.from_public_bytes(data)
    if len(data) == 65 and data[0] == 4:
        return Sm2PublicKey(data)
    try:
        return Sm2PublicKey(sm2.public_from_pem(data))
    except (ValueError, UnicodeDecodeError):
        pass
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an SM2 or Ed25519 public key")
    return key


def signature_valid(
    public_key: PublicKey, signature_b64: str, message: bytes, algorithm: str | None = None
) -> bool:
    """Whether ``signature_b64`` is ``public_key``'s on ``message``; with ``algorithm``
    (the checkpoint's), a key of another algorithm never verifies."""
    if algorithm is not None and algorithm != algorithm_of(public_key):
        return False
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        if isinstance(public_key, Sm2PublicKey):
            return sm2.verify(public_key.point, message, signature)
        public_key.verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def load_public_key(keys_dir: Path) -> PublicKey | None:
    """The instance's current (SM2) public key from ``keys_dir`` (public PEM, else
    derived from the key file), or None."""
    public = keys_dir / PUBLIC_KEY_FILE
    if public.exists():
        return public_key_from(public.read_bytes())
    private = keys_dir / KEY_FILE
    if private.exists():
        return InstanceKey.load(private).public_key
    return None


def load_public_keys(keys_dir: Path) -> list[PublicKey]:
    """Every public key of the instance's key: SM2 (current) and Ed25519 (checkpoints
    signed before SM2), from the public files or derived from the key file."""
    private = keys_dir / KEY_FILE
    if private.exists():
        key = InstanceKey.load(private)
        return [key.public_key, key.ed25519_public_key]
    found = [keys_dir / name for name in (PUBLIC_KEY_FILE, LEGACY_PUBLIC_KEY_FILE)]
    return [public_key_from(path.read_bytes()) for path in found if path.exists()]


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
                f"缺少账本签名密钥文件 {path}：不会重新生成，请用 gongshu keys import 从备份恢复"
            )
        key = cls.load(path)
        public = keys_dir / PUBLIC_KEY_FILE
        if not public.exists():  # an instance from before SM2: publish its SM2 public key
            public.write_text(key.public_pem())
        return key

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
        (keys_dir / LEGACY_PUBLIC_KEY_FILE).write_text(self.ed25519_public_pem())
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

    @cached_property
    def sm2_private(self) -> bytes:
        """The SM2 signing key d in [1, n - 2], derived from the seed (HKDF-SM3)."""
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        okm = int.from_bytes(derive_key(seed, _SM2_LABEL, 48), "big")
        return (1 + okm % (sm2.RECOMMENDED.n - 2)).to_bytes(32, "big")

    @cached_property
    def public_key(self) -> Sm2PublicKey:
        """The current checkpoint key's public half (SM2)."""
        return Sm2PublicKey(sm2.public_key(self.sm2_private))

    @property
    def ed25519_public_key(self) -> Ed25519PublicKey:
        """The key of checkpoints signed before SM2."""
        return self.private_key.public_key()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    @property
    def fingerprints(self) -> frozenset[str]:
        """The fingerprints checkpoints by this key file carry (SM2, and Ed25519 before)."""
        return frozenset({self.fingerprint, fingerprint(self.ed25519_public_key)})

    algorithm = SM2

    def sign(self, data: bytes) -> bytes:
        """SM2 signature ``r || s`` over ``data`` (user id 1234567812345678)."""
        return sm2.sign(self.sm2_private, data, public=self.public_key.point)

    def public_pem(self) -> str:
        return self.public_key.pem()

    def ed25519_public_pem(self) -> str:
        return self.ed25519_public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
