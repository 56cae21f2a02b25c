"""The instance key is created once, kept private, and reused."""

from __future__ import annotations

import stat
from pathlib import Path

from gongshu.ledger import merkle
from gongshu.ledger.keys import (
    KEY_FILE,
    InstanceKey,
    load_public_key,
    public_key_from,
    raw_public_bytes,
    signature_valid,
)


def test_key_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    keys = tmp_path / "var" / "keys"
    first = InstanceKey.load_or_create(keys)
    mode = stat.S_IMODE((keys / KEY_FILE).stat().st_mode)
    assert mode == 0o600
    again = InstanceKey.load_or_create(keys)
    assert again.fingerprint == first.fingerprint
    assert b"PRIVATE KEY" in (keys / KEY_FILE).read_bytes()
    assert [p.name for p in keys.iterdir() if p.name.startswith(".key-")] == []


def test_fingerprint_is_sm3_of_the_raw_public_key(tmp_path: Path) -> None:
    key = InstanceKey.load_or_create(tmp_path)
    digest = merkle.hash_function("sm3")(raw_public_bytes(key.public_key)).hex()
    assert key.fingerprint == digest[:16] and len(key.fingerprint) == 16


def test_signatures_verify_with_the_published_public_key(tmp_path: Path) -> None:
    import base64

    key = InstanceKey.load_or_create(tmp_path)
    sig = base64.b64encode(key.sign(b"tree head")).decode()
    published = load_public_key(tmp_path)
    assert published is not None and signature_valid(published, sig, b"tree head")
    assert not signature_valid(published, sig, b"another head")
    assert signature_valid(public_key_from(key.public_pem()), sig, b"tree head")
    assert signature_valid(public_key_from(raw_public_bytes(key.public_key)), sig, b"tree head")
    assert not signature_valid(published, "not base64!", b"tree head")


def test_no_key_means_no_public_key(tmp_path: Path) -> None:
    assert load_public_key(tmp_path / "missing") is None
