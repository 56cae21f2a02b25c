"""SM3/SM4 against the GB/T 32905 and 32907 vectors; FF1 against NIST SP 800-38G samples."""

from __future__ import annotations

import time
from datetime import date

import pytest
from cryptography.hazmat.primitives.ciphers import algorithms

from gongshu.identifiers import is_resident_id
from gongshu.protect.crypto import (
    FF1,
    derive_key,
    fpe_resident_id,
    hmac_sm3,
    luhn_digit,
    sm3,
    sm4_encrypt_block,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)
from gongshu.protect.errors import DecryptionFailed, InvalidParameter

SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def test_sm3_gbt32905_abc() -> None:
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_sm3_gbt32905_64_bytes() -> None:
    assert (
        sm3(b"abcd" * 16).hex()
        == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_sm4_gbt32907_single_block() -> None:
    assert sm4_encrypt_block(SM4_KEY, SM4_KEY).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_gbt32907_one_million_iterations() -> None:
    started = time.perf_counter()
    out = sm4_encrypt_block(SM4_KEY, SM4_KEY, times=1_000_000)
    assert out.hex() == "595298c7c6fd271f0402f804c33d3f66"
    assert time.perf_counter() - started < 10  # measured ~0.3 s; not marked slow


def test_hmac_sm3_is_keyed() -> None:
    a = hmac_sm3(b"k" * 32, b"110105194912310029")
    assert len(a) == 32
    assert a == hmac_sm3(b"k" * 32, b"110105194912310029")
    assert a != hmac_sm3(b"j" * 32, b"110105194912310029")
    assert a != sm3(b"110105194912310029")


def test_derive_key_separates_labels() -> None:
    master = b"m" * 32
    assert derive_key(master, "a") == derive_key(master, "a")
    assert derive_key(master, "a") != derive_key(master, "b")
    assert len(derive_key(master, "a", 16)) == 16
    with pytest.raises(InvalidParameter):
        derive_key(b"", "a")


def test_sm4_gcm_round_trip_and_tamper() -> None:
    key = bytes(range(16))
    blob = sm4_gcm_encrypt(key, "张三".encode(), b"aad")
    assert sm4_gcm_decrypt(key, blob, b"aad").decode() == "张三"
    assert sm4_gcm_encrypt(key, b"x") != sm4_gcm_encrypt(key, b"x")  # random nonce
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DecryptionFailed, match="密文校验失败"):
        sm4_gcm_decrypt(key, tampered, b"aad")
    with pytest.raises(DecryptionFailed):
        sm4_gcm_decrypt(key, blob, b"other aad")
    with pytest.raises(DecryptionFailed):
        sm4_gcm_decrypt(bytes(16), blob, b"aad")


# NIST SP 800-38G FF1 samples 1 and 2 (AES-128): the same construction runs with SM4.
NIST_KEY = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")


@pytest.mark.parametrize(
    ("tweak", "expected"),
    [(b"", "2433477484"), (bytes.fromhex("39383736353433323130"), "6124200773")],
)
def test_ff1_matches_nist_samples_with_aes(tweak: bytes, expected: str) -> None:
    ff1 = FF1(NIST_KEY, algorithm=algorithms.AES)
    assert ff1.encrypt("0123456789", tweak) == expected
    assert ff1.decrypt(expected, tweak) == "0123456789"


def test_ff1_sm4_round_trip_keeps_length() -> None:
    ff1 = FF1(bytes(range(16)))
    for plain in ("000000", "13812345678", "6222021234567890123"):
        enc = ff1.encrypt(plain)
        assert len(enc) == len(plain) and enc.isdigit() and enc != plain
        assert ff1.decrypt(enc) == plain
    assert ff1.encrypt("13812345678", b"a") != ff1.encrypt("13812345678", b"b")
    with pytest.raises(InvalidParameter, match="6 到 56"):
        ff1.encrypt("12345")


def test_fpe_resident_id_stays_valid_and_reverses() -> None:
    ff1 = FF1(bytes(range(16)))
    max_birth = date(2025, 12, 31)
    plain = "11010519491231002X"
    enc = fpe_resident_id(ff1, plain, max_birth=max_birth)
    assert enc is not None and enc != plain
    assert enc[:6] == "110105"
    assert is_resident_id(enc)
    assert fpe_resident_id(ff1, enc, max_birth=max_birth, decrypt=True) == plain
    assert fpe_resident_id(ff1, "110105202701010010", max_birth=max_birth) is None
    assert fpe_resident_id(ff1, "not an id", max_birth=max_birth) is None


def test_luhn_digit() -> None:
    assert luhn_digit("7992739871") == "3"  # the textbook example 79927398713
