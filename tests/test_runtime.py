"""Start-up refuses an instance whose keys are missing or not the ones its data and
ledger were made with; nothing is regenerated (issue 20 item 2)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from gongshu.app.server import init_instance
from gongshu.config import Settings
from gongshu.db import transaction
from gongshu.ledger import checkpoint, record
from gongshu.ledger.keys import KEY_FILE, PUBLIC_KEY_FILE, InstanceKey
from gongshu.protect.errors import KeysMismatch, KeysMissing
from gongshu.protect.keystore import FileKeyStore
from gongshu.runtime import Instance, KeyFacts, check_keys

SECRET = "runtime-test-secret-0123456789"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("GONGSHU_DATABASE_URL", raising=False)
    return Settings(data_dir=tmp_path / "var", secret_key=SECRET)


def _with_ledger(settings: Settings) -> None:
    """A brand-new instance, initialised, then a ledger with a signed checkpoint."""
    instance = Instance.open(settings)
    init_instance(instance)
    with transaction(instance.session_factory) as session:
        record(session, "catalog.published", actor="user:1", subject="entry:1")
        checkpoint(session, InstanceKey.require(settings.keys_dir))
    instance.close()


def test_a_brand_new_instance_gets_its_signing_key(settings: Settings) -> None:
    instance = Instance.open(settings)
    init_instance(instance)
    instance.close()
    assert (settings.keys_dir / KEY_FILE).exists()
    Instance.open(settings).close()


def test_a_deleted_signing_key_is_refused_and_not_regenerated(settings: Settings) -> None:
    _with_ledger(settings)
    (settings.keys_dir / KEY_FILE).unlink()
    with pytest.raises(KeysMissing, match=str(settings.keys_dir / KEY_FILE)):
        Instance.open(settings)
    with pytest.raises(KeysMissing, match="缺少账本签名密钥文件"):
        init_instance(Instance.open(settings, check_keys=False))
    assert not (settings.keys_dir / KEY_FILE).exists(), "init did not make a new one"


def test_a_different_signing_key_is_refused(settings: Settings) -> None:
    _with_ledger(settings)
    (settings.keys_dir / KEY_FILE).unlink()
    (settings.keys_dir / PUBLIC_KEY_FILE).unlink()
    InstanceKey.generate().install(settings.keys_dir)
    with pytest.raises(KeysMismatch, match="与账本不符"):
        Instance.open(settings)


def test_a_public_key_file_that_does_not_match_is_refused(settings: Settings) -> None:
    _with_ledger(settings)
    other = InstanceKey.generate().public_pem()
    (settings.keys_dir / PUBLIC_KEY_FILE).write_text(other)
    with pytest.raises(KeysMismatch, match=PUBLIC_KEY_FILE):
        Instance.open(settings)


def test_sealed_data_needs_its_key_store(settings: Settings) -> None:
    store = FileKeyStore.from_settings(settings)
    key_id, _ = store.current("dataset-at-rest")
    facts = KeyFacts(False, None, True, frozenset({key_id}))
    check_keys(settings, facts)  # the store that sealed the data: fine
    with pytest.raises(KeysMismatch, match="解不开密钥库文件"):
        check_keys(settings.model_copy(update={"secret_key": "another-secret-abcdef"}), facts)
    with pytest.raises(KeysMismatch, match="k0000"):
        check_keys(settings, KeyFacts(False, None, True, frozenset({key_id, "k0000"})))
    store.path.unlink()
    with pytest.raises(KeysMissing, match=str(store.path)):
        check_keys(settings, facts)
    with pytest.raises(KeysMissing, match="已不存在"):
        store.current("dataset-at-rest")  # a store it has read is never started afresh
    assert not store.path.exists()


def test_facts_name_the_keys_of_sealed_versions(session, people, tmp_path: Path) -> None:  # noqa: ANN001
    test_storage = importlib.import_module("tests.datasets.test_storage")
    from gongshu import storage

    ds = tmp_path / "var" / "datasets"
    store = FileKeyStore(tmp_path / "var" / "keys" / "keystore.json", SECRET)
    storage.unlock(ds, store)
    assert KeyFacts.read(session.connection()).has_sealed is False
    entry = test_storage._entry(session, people)
    version = test_storage._load(session, people, entry, ds, tmp_path)
    session.flush()
    facts = KeyFacts.read(session.connection())
    assert facts.has_sealed and facts.sealed_key_ids == {version.sealed["key_id"]}
    assert facts.has_ledger
