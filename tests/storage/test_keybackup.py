"""``gongshu keys export | import``: keys wrapped under a passphrase, never overwritten."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from gongshu.config import Settings
from gongshu.errors import InvalidInput
from gongshu.ledger.keys import KEY_FILE, InstanceKey
from gongshu.protect.errors import KeysMismatch
from gongshu.protect.keystore import FileKeyStore
from gongshu.storage.keybackup import export_backup, import_backup

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'click.utils", DeprecationWarning)
    import typer
    from typer.testing import CliRunner

    from gongshu.storage.commands import mount

PASSPHRASE = "correct horse battery staple"


def _instance(tmp_path: Path, name: str, secret: str = "secret-one-0123456789") -> Settings:
    return Settings(data_dir=tmp_path / name, secret_key=secret)


@pytest.fixture
def source(tmp_path: Path) -> Settings:
    settings = _instance(tmp_path, "a")
    InstanceKey.load_or_create(settings.keys_dir)
    store = FileKeyStore.from_settings(settings)
    store.current("dataset-at-rest")
    store.rotate("dataset-at-rest")
    return settings


def test_a_backup_restores_both_keys_under_another_secret(source: Settings, tmp_path) -> None:
    blob = export_backup(source, PASSPHRASE)
    store = FileKeyStore.from_settings(source)
    for key_id in store.key_ids():  # no key in the clear in the file
        assert store.get(key_id).hex() not in blob.decode()
    assert b"PRIVATE KEY" not in blob
    target = _instance(tmp_path, "b", secret="a-new-secret-9876543210")
    report = import_backup(target, blob, PASSPHRASE)
    assert (report.signing_key, report.data_keys) == ("restored", "restored")
    assert InstanceKey.require(target.keys_dir).fingerprint == (
        InstanceKey.require(source.keys_dir).fingerprint
    )
    restored = FileKeyStore.from_settings(target)
    assert restored.key_ids() == store.key_ids()
    assert all(restored.get(k) == store.get(k) for k in store.key_ids())
    assert restored.current("dataset-at-rest") == store.current("dataset-at-rest")
    again = import_backup(target, blob, PASSPHRASE)  # the same keys again: nothing to do
    assert (again.signing_key, again.data_keys) == ("present", "present")


def test_wrong_passphrase_and_short_passphrase(source: Settings, tmp_path) -> None:
    blob = export_backup(source, PASSPHRASE)
    with pytest.raises(InvalidInput, match="备份口令不对"):
        import_backup(_instance(tmp_path, "b"), blob, PASSPHRASE + "!")
    tampered = json.loads(blob)
    tampered["kdf"]["n"] = 2**14
    with pytest.raises(InvalidInput, match="备份口令不对"):
        import_backup(_instance(tmp_path, "b"), json.dumps(tampered).encode(), PASSPHRASE)
    with pytest.raises(InvalidInput, match="备份口令至少"):
        export_backup(source, "short")


def test_import_never_overwrites_different_keys(source: Settings, tmp_path) -> None:
    blob = export_backup(source, PASSPHRASE)
    other = _instance(tmp_path, "b")
    InstanceKey.load_or_create(other.keys_dir)
    before = (other.keys_dir / KEY_FILE).read_bytes()
    with pytest.raises(KeysMismatch, match="已存在且与备份中的不同"):
        import_backup(other, blob, PASSPHRASE)
    assert (other.keys_dir / KEY_FILE).read_bytes() == before
    assert not FileKeyStore.from_settings(other).path.exists(), "nothing written on refusal"

    third = _instance(tmp_path, "c")
    FileKeyStore.from_settings(third).current("dataset-at-rest")  # a store of its own
    with pytest.raises(KeysMismatch, match="已存在且与备份不同"):
        import_backup(third, blob, PASSPHRASE)
    assert not (third.keys_dir / KEY_FILE).exists()


def test_cli_export_then_import(source: Settings, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    app = typer.Typer()
    mount(app)
    monkeypatch.setenv("GONGSHU_KEYS_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("GONGSHU_SECRET_KEY", "secret-one-0123456789")
    backup = tmp_path / "keys.backup"
    out = CliRunner().invoke(app, ["export", "-o", str(backup), "--data-dir", str(source.data_dir)])
    assert out.exit_code == 0, out.output
    assert "密钥已备份" in out.output and backup.stat().st_mode & 0o077 == 0
    (source.keys_dir / KEY_FILE).unlink()
    FileKeyStore.from_settings(source).path.unlink()
    out = CliRunner().invoke(app, ["import", str(backup), "--data-dir", str(source.data_dir)])
    assert out.exit_code == 0, out.output
    assert "签名密钥：已恢复；数据密钥：已恢复" in out.output
    assert (source.keys_dir / KEY_FILE).exists()
