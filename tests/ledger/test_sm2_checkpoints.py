"""Checkpoints signed with SM2 (SEC-9); those signed with Ed25519 before stay verifiable."""

from __future__ import annotations

import base64
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from gongshu.ledger import LedgerCheckpoint, checkpoint, export_checkpoints, verify
from gongshu.ledger.keys import (
    LEGACY_PUBLIC_KEY_FILE,
    PUBLIC_KEY_FILE,
    InstanceKey,
    fingerprint,
    load_public_keys,
)
from gongshu.ledger.service import checkpoint_message, sign_head
from gongshu.protect import sm2

CP = LedgerCheckpoint.__table__


def _ed25519_checkpoint(session: Session, key: InstanceKey) -> LedgerCheckpoint:
    """A checkpoint as the instance signed them before SM2 (Ed25519, algorithm column
    at its migration default)."""
    cp = sign_head(session, key)
    message = checkpoint_message(cp.tree_size, cp.root_hash, cp.signed_at)
    cp.signature = base64.b64encode(key.private_key.sign(message)).decode()
    cp.signature_algorithm = "ed25519"
    cp.key_fingerprint = fingerprint(key.ed25519_public_key)
    session.add(cp)
    session.flush()
    return cp


def test_a_new_checkpoint_is_signed_with_sm2(session: Session, fill, key) -> None:  # noqa: ANN001
    fill(5)
    cp = checkpoint(session, key)
    assert cp.signature_algorithm == "sm2-sm3"
    assert cp.key_fingerprint == key.fingerprint == sm2.fingerprint(key.public_key.point)
    signature = base64.b64decode(cp.signature)
    message = checkpoint_message(cp.tree_size, cp.root_hash, cp.signed_at)
    assert len(signature) == 64 and sm2.verify(key.public_key.point, message, signature)
    assert export_checkpoints(session)[0]["signature_algorithm"] == "sm2-sm3"
    assert verify(session, key.public_key).ok


def test_old_ed25519_checkpoints_stay_verifiable_beside_new_sm2_ones(
    session: Session, fill, key
) -> None:  # noqa: ANN001
    fill(6)
    old = _ed25519_checkpoint(session, key)
    fill(4, start=6)
    new = checkpoint(session, key)
    assert (old.signature_algorithm, new.signature_algorithm) == ("ed25519", "sm2-sm3")
    report = verify(session, [key.public_key, key.ed25519_public_key])
    assert report.ok and report.checkpoints == 2
    # Without the Ed25519 key the old checkpoint cannot be checked: named, not skipped.
    alone = verify(session, key.public_key)
    assert not alone.ok and "由其他密钥签名" in alone.problem


def test_a_checkpoint_relabelled_to_another_algorithm_fails(session: Session, fill, key) -> None:  # noqa: ANN001
    fill(3)
    checkpoint(session, key)
    session.execute(update(CP).values(signature_algorithm="ed25519"))
    session.expire_all()
    report = verify(session, [key.public_key, key.ed25519_public_key])
    assert not report.ok and "签名无效" in report.problem


def test_the_sm2_key_is_derived_from_the_key_file_and_both_public_keys_are_written(
    tmp_path: Path,
) -> None:
    key = InstanceKey.generate()
    assert key.install(tmp_path)
    again = InstanceKey.require(tmp_path)
    assert again.fingerprint == key.fingerprint  # same file, same SM2 key
    assert (tmp_path / PUBLIC_KEY_FILE).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert (tmp_path / LEGACY_PUBLIC_KEY_FILE).exists()
    found = load_public_keys(tmp_path)
    assert [fingerprint(k) for k in found] == [
        key.fingerprint,
        fingerprint(key.ed25519_public_key),
    ]
    assert key.fingerprints == {fingerprint(k) for k in found}
