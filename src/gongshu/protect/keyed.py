"""Keyed operators: pseudonyms (HMAC-SM3), SM4 field encryption, FPE (SEC-9).

These call Python once per *distinct* value (the column is dictionary-encoded
first, so repeated values cost one call): HMAC-SM3, SM4-GCM and FF1 have no
vectorized kernel in pyarrow or numpy.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from gongshu.protect.crypto import (
    FF1,
    derive_key,
    fpe_resident_id,
    hmac_sm3_keyed,
    luhn_digit,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)
from gongshu.protect.errors import DecryptionFailed, InvalidParameter
from gongshu.protect.keystore import KeyStore, check_purpose

ArrayLike = pa.Array | pa.ChunkedArray
TOKEN_PREFIX = "sm4g1"
# Births after this date cannot be format-preserving encrypted (the FF1 domain
# of birth dates must be fixed for decryption to work); they come out null.
ID_MAX_BIRTH = date(2025, 12, 31)


def _strings(values: ArrayLike, op: str) -> pa.Array:
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    try:
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidParameter(op, "values", f"无法把 {arr.type} 类型的列当作文本处理") from exc


def _map_distinct(s: pa.Array, fn: Callable[[str], str | None]) -> pa.Array:
    """Apply ``fn`` once per distinct non-null value and spread the results back."""
    encoded = pc.dictionary_encode(s)
    dictionary = encoded.dictionary.to_pylist()
    mapped = pa.array([fn(v) for v in dictionary], type=pa.string())
    return pc.take(mapped, encoded.indices)


def pseudonymize(values: ArrayLike, key: bytes, purpose: str, *, length: int = 16) -> pa.Array:
    """Keyed pseudonyms: hex prefix of HMAC-SM3 under a per-purpose key.

    The same value gives the same pseudonym in every table for one
    ``purpose`` (so joins still work) and an unrelated one for another
    purpose. Surrounding whitespace is ignored. ``length`` hex characters
    (8..64) are kept; 16 (64 bits) keeps collisions below 1e-7 at a million values.
    """
    op = "pseudonymize"
    if not isinstance(key, bytes) or len(key) < 16:
        raise InvalidParameter(op, "key", "密钥须为至少 16 字节")
    check_purpose(purpose)
    if isinstance(length, bool) or not isinstance(length, int) or not 8 <= length <= 64:
        raise InvalidParameter(op, "length", f"须为 8 到 64 之间的整数，收到 {length!r}")
    mac = hmac_sm3_keyed(derive_key(key, f"gongshu/pseudonym/{purpose}"))
    s = pc.utf8_trim_whitespace(_strings(values, op))
    return _map_distinct(s, lambda v: mac(v.encode()).hex()[:length])


def encrypt_field(values: ArrayLike, keystore: KeyStore, purpose: str = "field") -> pa.Array:
    """SM4-GCM encrypt each value into ``sm4g1$<key_id>$<base64url>`` text.

    Each value gets a random nonce, so equal values give different
    ciphertexts (use ``pseudonymize`` where equality must survive). The
    key id travels with the ciphertext, so old data stays readable after
    ``keystore.rotate(purpose)``.
    """
    check_purpose(purpose)
    key_id, key = keystore.current(purpose)
    s = _strings(values, "encrypt_field")
    aad = key_id.encode()
    out = [
        None
        if v is None
        else f"{TOKEN_PREFIX}${key_id}$"
        + base64.urlsafe_b64encode(sm4_gcm_encrypt(key, v.encode(), aad)).decode()
        for v in s.to_pylist()
    ]
    return pa.array(out, type=pa.string())


def token_key_id(token: str) -> str:
    parts = token.split("$")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise DecryptionFailed(f"不是本平台的字段密文：{token[:24]!r}")
    return parts[1]


def decrypt_field(values: ArrayLike, keystore: KeyStore) -> pa.Array:
    """Inverse of ``encrypt_field`` under whichever key each value names."""
    s = _strings(values, "decrypt_field")
    keys: dict[str, bytes] = {}

    def one(token: str) -> str:
        key_id = token_key_id(token)
        if key_id not in keys:
            keys[key_id] = keystore.get(key_id)
        blob = base64.urlsafe_b64decode(token.split("$")[2])
        return sm4_gcm_decrypt(keys[key_id], blob, key_id.encode()).decode()

    return _map_distinct(s, one)


def reencrypt(values: ArrayLike, keystore: KeyStore, purpose: str = "field") -> pa.Array:
    """Move ciphertexts made under retired keys to ``purpose``'s current key.

    Values already under the current key are returned unchanged, so the job
    can run (and be interrupted) while readers keep decrypting.
    """
    s = _strings(values, "reencrypt")
    current_id, _ = keystore.current(purpose)
    ids = [None if v is None else token_key_id(v) for v in s.to_pylist()]
    stale = pa.array([i is not None and i != current_id for i in ids])
    if not pc.any(stale).as_py():
        return s
    idx = pc.indices_nonzero(stale)
    fresh = encrypt_field(decrypt_field(pc.take(s, idx), keystore), keystore, purpose)
    out = s.to_pylist()
    for i, v in zip(idx.to_pylist(), fresh.to_pylist(), strict=True):
        out[i] = v
    return pa.array(out, type=pa.string())


# ------------------------------------------------------- format-preserving

# entity -> (digits kept at the start, Luhn check digit at the end)
FPE_DEFAULTS: dict[str, tuple[int, bool]] = {
    "CN_MOBILE": (3, False),
    "BANK_CARD": (6, True),
    "IMEI": (8, True),
}


def _fpe(
    values: ArrayLike,
    key: bytes,
    purpose: str,
    entity: str | None,
    keep_start: int | None,
    max_birth: date,
    *,
    decrypt: bool,
) -> pa.Array:
    op = "fpe_decrypt_digits" if decrypt else "fpe_encrypt_digits"
    if not isinstance(key, bytes) or len(key) < 16:
        raise InvalidParameter(op, "key", "密钥须为至少 16 字节")
    check_purpose(purpose)
    ff1 = FF1(derive_key(key, f"gongshu/fpe/{purpose}", 16))
    s = pc.replace_substring_regex(_strings(values, op), r"[\s\-]", "")
    if entity == "CN_RESIDENT_ID":
        return _map_distinct(
            s, lambda v: fpe_resident_id(ff1, v, max_birth=max_birth, decrypt=decrypt)
        )
    start, luhn = FPE_DEFAULTS.get(entity or "", (0, False))
    if keep_start is not None:
        if isinstance(keep_start, bool) or not isinstance(keep_start, int) or keep_start < 0:
            raise InvalidParameter(op, "keep_start", f"须为非负整数，收到 {keep_start!r}")
        start = keep_start
    cipher = ff1.decrypt if decrypt else ff1.encrypt

    def one(v: str) -> str | None:
        end = len(v) - 1 if luhn else len(v)
        body = v[start:end]
        if not v.isascii() or not v.isdigit() or len(body) < FF1.MIN_LEN or len(body) > FF1.MAX_LEN:
            return None  # fail closed: not a digit string this operator can keep valid
        head = v[:start] + cipher(body, v[:start].encode())
        return head + luhn_digit(head) if luhn else head

    return _map_distinct(s, one)


def fpe_encrypt_digits(
    values: ArrayLike,
    key: bytes,
    *,
    purpose: str = "fpe",
    entity: str | None = None,
    keep_start: int | None = None,
    max_birth: date = ID_MAX_BIRTH,
) -> pa.Array:
    """Format-preserving encryption of digit strings (FF1 over SM4), reversible.

    Output has the same length and stays valid: CN_RESIDENT_ID keeps its
    region prefix and gets a real birth date and a recomputed GB 11643 check
    character; CN_MOBILE keeps its 3-digit prefix; BANK_CARD keeps its
    6-digit BIN and gets a fresh Luhn digit. Values the rule cannot keep
    valid (or that are shorter than 6 encrypted digits) become null.
    """
    return _fpe(values, key, purpose, entity, keep_start, max_birth, decrypt=False)


def fpe_decrypt_digits(
    values: ArrayLike,
    key: bytes,
    *,
    purpose: str = "fpe",
    entity: str | None = None,
    keep_start: int | None = None,
    max_birth: date = ID_MAX_BIRTH,
) -> pa.Array:
    """Inverse of ``fpe_encrypt_digits`` with the same key, purpose and entity."""
    return _fpe(values, key, purpose, entity, keep_start, max_birth, decrypt=True)
