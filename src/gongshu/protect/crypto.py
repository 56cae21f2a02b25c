"""National cryptographic primitives (SEC-9): SM3, HMAC-SM3, SM4 and FF1 over SM4.

SM3 (GB/T 32905) and SM4 (GB/T 32907) come from OpenSSL through the
``cryptography`` package (and ``hashlib`` for SM3 where OpenSSL offers it,
which is several times faster per call). Nothing here is home-made except
the FF1 mode of NIST SP 800-38G, which is built from the SM4 block
function; its structure is checked against NIST's AES samples in the tests.
"""

from __future__ import annotations

import hashlib
import hmac as std_hmac
import math
import os
from collections.abc import Callable
from datetime import date, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gongshu.identifiers import ID_CHECK, ID_WEIGHTS
from gongshu.protect.errors import DecryptionFailed, InvalidParameter

NONCE_BYTES = 12
TAG_BYTES = 16
_HASHLIB_SM3 = "sm3" in hashlib.algorithms_available


def sm3(data: bytes) -> bytes:
    """SM3 digest (GB/T 32905), 32 bytes."""
    if _HASHLIB_SM3:
        return hashlib.new("sm3", data).digest()
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC (RFC 2104) with SM3 as the hash, 32 bytes."""
    if _HASHLIB_SM3:
        return std_hmac.new(key, data, "sm3").digest()
    h = crypto_hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize()


def hmac_sm3_keyed(key: bytes) -> Callable[[bytes], bytes]:
    """HMAC-SM3 with the key schedule done once: for many messages under one key."""
    if _HASHLIB_SM3:
        base = std_hmac.new(key, digestmod="sm3")
    else:
        base = crypto_hmac.HMAC(key, hashes.SM3())

    def mac(data: bytes) -> bytes:
        h = base.copy()
        h.update(data)
        return h.digest() if _HASHLIB_SM3 else h.finalize()

    return mac


def derive_key(master: bytes, label: str, length: int = 32, *, salt: bytes | None = None) -> bytes:
    """HKDF (RFC 5869) with SM3: an independent key per ``label`` (a purpose, a use).

    Keys for different labels cannot be computed from each other, so a
    pseudonym made for one purpose says nothing about another purpose's.
    """
    if not master:
        raise InvalidParameter("derive_key", "master", "主密钥不能为空")
    hkdf = HKDF(algorithm=hashes.SM3(), length=length, salt=salt, info=label.encode())
    return hkdf.derive(master)


def sm4_encrypt_block(key: bytes, block: bytes, *, times: int = 1) -> bytes:
    """SM4 on one 16-byte block, ``times`` times over (the GB/T 32907 check)."""
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    for _ in range(times):
        block = enc.update(block)
    return block


def sm4_gcm_encrypt(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """SM4-GCM with a random 96-bit nonce: nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_BYTES)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    body = enc.update(plaintext) + enc.finalize()
    return nonce + body + enc.tag


def sm4_gcm_decrypt(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    """Inverse of ``sm4_gcm_encrypt``; a wrong key or a changed byte raises."""
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionFailed("密文长度不足，无法解密")
    nonce, body, tag = blob[:NONCE_BYTES], blob[NONCE_BYTES:-TAG_BYTES], blob[-TAG_BYTES:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    try:
        return dec.update(body) + dec.finalize()
    except InvalidTag as exc:
        raise DecryptionFailed("密文校验失败：密钥不对或密文被改动") from exc


class FF1:
    """Format-preserving encryption, NIST SP 800-38G FF1, over decimal digits.

    The block cipher is SM4 by default (GB/T 32907); ``algorithm=algorithms.AES``
    exists so the construction can be checked against NIST's published samples.
    NIST requires radix**minlen >= 1,000,000, so strings shorter than 6 digits
    are refused.
    """

    MIN_LEN = 6
    MAX_LEN = 56

    def __init__(self, key: bytes, *, algorithm: type[CipherAlgorithm] = algorithms.SM4) -> None:
        self._ecb = Cipher(algorithm(key), modes.ECB()).encryptor()  # type: ignore[call-arg]
        self._p_state: dict[tuple[int, int], int] = {}  # CBC-MAC state after block P

    def _cbc_mac(self, r: int, data: bytes) -> bytes:
        # CBC-MAC continued from state ``r``, block by block on a reusable ECB context.
        for i in range(0, len(data), 16):
            block = r ^ int.from_bytes(data[i : i + 16], "big")
            r = int.from_bytes(self._ecb.update(block.to_bytes(16, "big")), "big")
        return r.to_bytes(16, "big")

    def _round_value(self, r0: int, tweak: bytes, i: int, num: int, b: int, d: int) -> int:
        pad = (-len(tweak) - b - 1) % 16
        r = self._cbc_mac(r0, tweak + bytes(pad) + bytes([i]) + num.to_bytes(b, "big"))
        s = r
        j = 1
        while len(s) < d:
            s += self._ecb.update((int.from_bytes(r, "big") ^ j).to_bytes(16, "big"))
            j += 1
        return int.from_bytes(s[:d], "big")

    def _setup(self, x: str, tweak: bytes) -> tuple[int, int, int, int, int]:
        n = len(x)
        if not x.isdigit() or not x.isascii():
            raise InvalidParameter("fpe_encrypt_digits", "values", f"只能加密纯数字串，收到 {x!r}")
        if not self.MIN_LEN <= n <= self.MAX_LEN:
            raise InvalidParameter(
                "fpe_encrypt_digits", "values", f"数字串长度须在 6 到 56 位之间，收到 {n} 位"
            )
        u, v = n // 2, n - n // 2
        b = math.ceil(math.ceil(v * math.log2(10)) / 8)
        d = 4 * math.ceil(b / 4) + 4
        cached = self._p_state.get((n, len(tweak)))
        if cached is None:
            p = bytes([1, 2, 1]) + (10).to_bytes(3, "big") + bytes([10, u % 256])
            p += n.to_bytes(4, "big") + len(tweak).to_bytes(4, "big")
            cached = self._p_state[(n, len(tweak))] = int.from_bytes(self._cbc_mac(0, p), "big")
        return u, v, b, d, cached

    def encrypt(self, x: str, tweak: bytes = b"") -> str:
        u, v, b, d, p = self._setup(x, tweak)
        a, bb = x[:u], x[u:]
        for i in range(10):
            m = u if i % 2 == 0 else v
            y = self._round_value(p, tweak, i, int(bb), b, d)
            c = (int(a) + y) % 10**m
            a, bb = bb, str(c).zfill(m)
        return a + bb

    def decrypt(self, x: str, tweak: bytes = b"") -> str:
        u, v, b, d, p = self._setup(x, tweak)
        a, bb = x[:u], x[u:]
        for i in reversed(range(10)):
            m = u if i % 2 == 0 else v
            y = self._round_value(p, tweak, i, int(a), b, d)
            c = (int(bb) - y) % 10**m
            a, bb = str(c).zfill(m), a
        return a + bb

    def encrypt_int(
        self, value: int, domain: int, width: int, tweak: bytes, *, decrypt: bool = False
    ) -> int:
        """Permute ``range(domain)`` by cycle-walking FF1 over ``width`` digits."""
        op = self.decrypt if decrypt else self.encrypt
        x = op(str(value).zfill(width), tweak)
        while int(x) >= domain:
            x = op(x, tweak)
        return int(x)


# ------------------------------------------------------- value-valid FPE


ID_EPOCH = date(1900, 1, 1)


def _id_domain(max_birth: date) -> tuple[int, int]:
    days = (max_birth - ID_EPOCH).days + 1
    domain = days * 1000
    return domain, max(FF1.MIN_LEN, len(str(domain - 1)))


def fpe_resident_id(ff1: FF1, value: str, *, max_birth: date, decrypt: bool = False) -> str | None:
    """Encrypt an 18-character GB 11643 number into another valid one.

    The region prefix is kept (it stays a valid GB/T 2260 code); birth date
    and sequence number are read as one integer ``days * 1000 + seq`` over
    births from 1900-01-01 to ``max_birth``, permuted by FF1 with cycle
    walking, and the check character is recomputed. Values that are not of
    that shape, or born after ``max_birth``, give ``None`` (fail closed).
    """
    v = value.strip().upper()
    if len(v) != 18 or not v[:17].isdigit():
        return None
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return None
    if not ID_EPOCH <= born <= max_birth:
        return None
    domain, width = _id_domain(max_birth)
    plain = (born - ID_EPOCH).days * 1000 + int(v[14:17])
    out = ff1.encrypt_int(plain, domain, width, v[:6].encode(), decrypt=decrypt)
    new_born = ID_EPOCH + timedelta(days=out // 1000)
    body = v[:6] + new_born.strftime("%Y%m%d") + f"{out % 1000:03d}"
    total = sum(int(c) * int(w) for c, w in zip(body, ID_WEIGHTS, strict=True))
    return body + ID_CHECK[total % 11]


def luhn_digit(body: str) -> str:
    """The Luhn check digit to append to ``body`` (bank cards, IMEI)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)
