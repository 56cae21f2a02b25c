"""SM2 digital signatures (GB/T 32918.2-2016, GM/T 0003.2) with SM3, for SEC-9.

The elliptic-curve arithmetic comes from ``gmssl`` (pure Python); verification on the
recommended curve goes through ``gmalglib`` (the same algorithm in C, about 20 times
faster: ``ledger verify`` checks one signature per checkpoint), cross-checked against
``gmssl`` in the tests. This module adds
what a signature scheme needs around it and the library leaves out: the user
identity hash Z (GB/T 32918.2 §5.5, user id ``1234567812345678`` by default per
GM/T 0009), the per-signature random k drawn from ``secrets`` (the library's own
helper uses ``random``), range and on-curve checks before verifying, and the usual
encodings: a public key as ``04 || x || y`` (65 bytes, hex) or a SubjectPublicKeyInfo
PEM (OID 1.2.156.10197.1.301), a private key as 32 bytes, a signature as ``r || s``
(64 bytes). Curves are parameters, so the standard's worked example (Annex A, on its
own test curve) checks the code as well as the recommended curve of GB/T 32918.5.
"""

from __future__ import annotations

import base64
import secrets
import textwrap
from dataclasses import dataclass

from gmalglib.sm2 import SM2 as _FastSM2
from gmssl.sm2 import CryptSM2

from gongshu.protect.crypto import sm3

DEFAULT_USER_ID = b"1234567812345678"  # GM/T 0009-2012 §10 (default distinguishing id)
ALGORITHM = "sm2-sm3"
_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


@dataclass(frozen=True)
class Curve:
    """Short Weierstrass curve y² = x³ + ax + b over F_p with base point G of order n."""

    p: int
    a: int
    b: int
    gx: int
    gy: int
    n: int

    def table(self) -> dict[str, str]:
        """The parameters as ``gmssl`` takes them (hex strings)."""
        return {
            "p": f"{self.p:064x}",
            "a": f"{self.a:064x}",
            "b": f"{self.b:064x}",
            "g": f"{self.gx:064x}{self.gy:064x}",
            "n": f"{self.n:064x}",
        }

    def on_curve(self, x: int, y: int) -> bool:
        return (
            0 <= x < self.p
            and 0 <= y < self.p
            and (y * y - (x * x * x + self.a * x + self.b)) % self.p == 0
        )


# GB/T 32918.5-2017 (GM/T 0003.5): the recommended 256-bit curve.
RECOMMENDED = Curve(
    p=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF,
    a=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC,
    b=0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93,
    gx=0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    gy=0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
    n=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123,
)


class InvalidKey(ValueError):
    """A key that is not an SM2 key on the curve."""


def _engine(curve: Curve, private: int | None = None, public: bytes | None = None) -> CryptSM2:
    engine = CryptSM2(
        private_key=f"{private:064x}" if private is not None else "",
        public_key="",
        ecc_table=curve.table(),
    )
    # Set after construction: gmssl's constructor strips a leading "04" with
    # ``lstrip("04")``, which also eats any 0 or 4 digits that begin x (1 key in 256).
    engine.public_key = public[1:].hex() if public is not None else ""
    return engine


def generate_private_key(curve: Curve = RECOMMENDED) -> bytes:
    """A fresh private key d in [1, n - 2], 32 bytes big-endian."""
    return (1 + secrets.randbelow(curve.n - 2)).to_bytes(32, "big")


def public_key(private: bytes, curve: Curve = RECOMMENDED) -> bytes:
    """``04 || x || y`` of P = dG."""
    d = int.from_bytes(private, "big")
    if not 1 <= d <= curve.n - 2:
        raise InvalidKey("SM2 private key out of range")
    xy = _engine(curve)._kg(d, curve.table()["g"])
    return b"\x04" + bytes.fromhex(xy)


def _point(public: bytes, curve: Curve) -> tuple[int, int]:
    if len(public) != 65 or public[0] != 4:
        raise InvalidKey("SM2 公钥应为 65 字节的未压缩点：04 || x || y")
    x, y = int.from_bytes(public[1:33], "big"), int.from_bytes(public[33:], "big")
    if not curve.on_curve(x, y):
        raise InvalidKey("SM2 public key is not on the curve")
    return x, y


def z_value(public: bytes, user_id: bytes = DEFAULT_USER_ID, curve: Curve = RECOMMENDED) -> bytes:
    """Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A) (§5.5)."""
    _point(public, curve)
    entl = (len(user_id) * 8).to_bytes(2, "big")
    parts = [curve.a, curve.b, curve.gx, curve.gy]
    return sm3(entl + user_id + b"".join(v.to_bytes(32, "big") for v in parts) + public[1:])


def message_digest(
    message: bytes, public: bytes, user_id: bytes = DEFAULT_USER_ID, curve: Curve = RECOMMENDED
) -> bytes:
    """e = SM3(Z_A || M), the value actually signed (§6.1 A1-A2)."""
    return sm3(z_value(public, user_id, curve) + message)


def sign(
    private: bytes,
    message: bytes,
    *,
    user_id: bytes = DEFAULT_USER_ID,
    curve: Curve = RECOMMENDED,
    k: int | None = None,
    public: bytes | None = None,
) -> bytes:
    """The signature ``r || s`` (64 bytes) of ``message`` by ``private``.

    ``public`` saves recomputing the public key (it must be ``private``'s); ``k`` is for
    the standard's test vectors only, otherwise a fresh one per attempt."""
    pub = public if public is not None else public_key(private, curve)
    e = message_digest(message, pub, user_id, curve)
    engine = _engine(curve, int.from_bytes(private, "big"), pub)
    while True:
        nonce = k if k is not None else 1 + secrets.randbelow(curve.n - 1)
        signature = engine.sign(e, f"{nonce:064x}")
        if signature is not None:
            return bytes.fromhex(signature)
        if k is not None:
            raise ValueError("the given k yields r = 0, r + k = n or s = 0")


def verify(
    public: bytes,
    message: bytes,
    signature: bytes,
    *,
    user_id: bytes = DEFAULT_USER_ID,
    curve: Curve = RECOMMENDED,
) -> bool:
    """Whether ``signature`` (``r || s``) is ``public``'s on ``message`` (§7.1)."""
    try:
        _point(public, curve)
    except InvalidKey:
        return False
    if len(signature) != 64:
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (1 <= r < curve.n and 1 <= s < curve.n) or (r + s) % curve.n == 0:
        return False
    if curve is RECOMMENDED:
        return bool(_FastSM2(pk=public, uid=user_id).verify(message, signature))
    return verify_reference(public, message, signature, user_id=user_id, curve=curve)


def verify_reference(
    public: bytes,
    message: bytes,
    signature: bytes,
    *,
    user_id: bytes = DEFAULT_USER_ID,
    curve: Curve = RECOMMENDED,
) -> bool:
    """``verify`` through ``gmssl`` (pure Python), on any curve: the reference the fast
    path is tested against. The caller has checked the key and the ranges."""
    e = message_digest(message, public, user_id, curve)
    return bool(_engine(curve, None, public).verify(signature.hex(), e))


def public_pem(public: bytes) -> str:
    """SubjectPublicKeyInfo PEM (id-ecPublicKey with the SM2 curve OID)."""
    _point(public, RECOMMENDED)
    body = base64.b64encode(_SPKI_PREFIX + public[1:]).decode()
    lines = "\n".join(textwrap.wrap(body, 64))
    return f"-----BEGIN PUBLIC KEY-----\n{lines}\n-----END PUBLIC KEY-----\n"


def public_from_pem(pem: str | bytes) -> bytes:
    text = pem.decode() if isinstance(pem, bytes) else pem
    body = "".join(line for line in text.strip().splitlines() if not line.startswith("-----"))
    der = base64.b64decode(body)
    if not der.startswith(_SPKI_PREFIX) or len(der) != len(_SPKI_PREFIX) + 64:
        raise InvalidKey("不是 SM2 公钥：应为 SubjectPublicKeyInfo 格式")
    public = b"\x04" + der[len(_SPKI_PREFIX) :]
    _point(public, RECOMMENDED)
    return public


def fingerprint(public: bytes) -> str:
    """Hex SM3 of the 65-byte public key, first 16 characters."""
    return sm3(public).hex()[:16]
