"""FileKeyStore: wrapped keys, file mode 0600, rotation, wrong secret refused."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from gongshu.config import Settings
from gongshu.protect.errors import InvalidParameter, KeyNotFound, KeyStoreLocked
from gongshu.protect.keystore import FileKeyStore, KeyStore

SECRET = "a-real-instance-secret-0f3c9"


@pytest.fixture
def store(tmp_path: Path) -> FileKeyStore:
    return FileKeyStore(tmp_path / "keys" / "keystore.json", SECRET)


def test_file_store_is_a_keystore(store: FileKeyStore) -> None:
    assert isinstance(store, KeyStore)


def test_current_creates_once_and_persists(store: FileKeyStore, tmp_path: Path) -> None:
    key_id, key = store.current("field")
    assert len(key) == 16
    assert store.current("field") == (key_id, key)
    reopened = FileKeyStore(store.path, SECRET)
    assert reopened.current("field") == (key_id, key)
    assert reopened.get(key_id) == key
    assert store.current("pseudonym")[1] != key


def test_file_holds_no_key_in_clear_and_is_private(store: FileKeyStore) -> None:
    key_id, key = store.current("field")
    raw = store.path.read_bytes()
    assert key not in raw and key.hex().encode() not in raw
    doc = json.loads(raw)
    assert set(doc["keys"][key_id]) == {"purpose", "created", "wrapped"}
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_rotate_keeps_old_keys_readable(store: FileKeyStore) -> None:
    old_id, old_key = store.current("field")
    new_id = store.rotate("field")
    assert new_id != old_id
    assert store.current("field")[0] == new_id
    assert store.get(old_id) == old_key
    assert store.key_ids("field") == [old_id, new_id]


def test_rotation_by_another_process_is_seen(store: FileKeyStore) -> None:
    store.current("field")
    other = FileKeyStore(store.path, SECRET)
    new_id = other.rotate("field")
    assert store.get(new_id) == other.get(new_id)
    assert store.current("field")[0] == new_id


def test_wrong_secret_is_refused(store: FileKeyStore) -> None:
    key_id, _ = store.current("field")
    intruder = FileKeyStore(store.path, "another-secret")
    with pytest.raises(KeyStoreLocked, match="密钥库"):
        intruder.get(key_id)
    with pytest.raises(KeyStoreLocked):
        intruder.rotate("field")
    assert FileKeyStore(store.path, SECRET).key_ids() == [key_id]


def test_unknown_key_and_bad_purpose(store: FileKeyStore) -> None:
    with pytest.raises(KeyNotFound, match="k0000"):
        store.get("k0000")
    with pytest.raises(InvalidParameter, match="purpose"):
        store.current("Bad Purpose!")


def test_from_settings_uses_keys_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SECRET)
    store = FileKeyStore.from_settings(settings)
    store.current("field")
    assert (tmp_path / "keys" / "keystore.json").exists()
