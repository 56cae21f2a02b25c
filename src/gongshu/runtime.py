"""An open instance: settings, engine and session factory, built by entry points.

Serving it (``run_server``) and creating it (``init_instance``) are in
``gongshu.app.server``, above every capability."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from gongshu.config import Settings, load_settings
from gongshu.db import make_engine, make_session_factory
from gongshu.storage import unlock_settings


@dataclass
class Instance:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]

    @classmethod
    def open(cls, settings: Settings, *, check_keys: bool = True) -> Instance:
        """Open the instance; refuse (``KeysMissing``, ``KeysMismatch``) when its keys
        are not the ones its sealed data and ledger were made with."""
        engine = make_engine(
            settings.db_url, pool_size=settings.pool_size, pool_timeout=settings.db_pool_timeout
        )
        try:
            if check_keys:
                check_instance_keys(settings, engine)
        except BaseException:
            engine.dispose()
            raise
        unlock_settings(settings)  # sealed columns (SEC-9) need the instance key store
        return cls(settings, engine, make_session_factory(engine))

    def close(self) -> None:
        self.engine.dispose()


def check_instance_keys(settings: Settings, engine: Engine) -> KeyFacts:
    """Start-up check of the keys against what the database says (``check_keys``)."""
    facts = KeyFacts.read(engine)
    check_keys(settings, facts)
    return facts


def check_keys(settings: Settings, facts: KeyFacts) -> None:
    """An instance with a ledger needs its signing key, the one its newest checkpoint
    was signed with; one with sealed data needs its key store, holding every key the
    data names, unwrapped by the instance secret. Nothing is ever regenerated here.
    A database without tables yet (before ``init``) needs nothing."""
    from gongshu.ledger.keys import (
        KEY_FILE,
        PUBLIC_KEY_FILE,
        InstanceKey,
        load_public_key,
        raw_public_bytes,
    )
    from gongshu.protect.errors import KeysMismatch
    from gongshu.protect.keystore import FileKeyStore

    if facts.has_ledger:
        key = InstanceKey.require(settings.keys_dir)
        signed_by = facts.signed_by
        if signed_by is not None and signed_by not in key.fingerprints:
            raise KeysMismatch(
                f"签名密钥文件 {settings.keys_dir / KEY_FILE} 与账本不符"
                f"：最新检查点由 {signed_by} 签名，此文件为 {key.fingerprint}"
            )
        public = load_public_key(settings.keys_dir)
        if public is not None and raw_public_bytes(public) != raw_public_bytes(key.public_key):
            raise KeysMismatch(f"公钥文件 {settings.keys_dir / PUBLIC_KEY_FILE} 与签名密钥不符")
    store = FileKeyStore.from_settings(settings)
    if facts.has_sealed or store.path.exists():
        store.check(facts.sealed_key_ids)


@dataclass(frozen=True)
class KeyFacts:
    """What the database says the keys must be."""

    has_ledger: bool
    signed_by: str | None  # fingerprint of the newest checkpoint's key
    has_sealed: bool
    sealed_key_ids: frozenset[str]

    @classmethod
    def read(cls, bind: Engine | Connection) -> KeyFacts:
        import json
        from contextlib import nullcontext

        from sqlalchemy import inspect, text

        tables = set(inspect(bind).get_table_names())
        has_ledger, signed_by, sealed, quarantined = False, None, [], False
        with bind.connect() if isinstance(bind, Engine) else nullcontext(bind) as conn:
            if {"ledger_entries", "ledger_checkpoints"} <= tables:
                has_ledger = conn.scalar(text("SELECT 1 FROM ledger_entries LIMIT 1")) is not None
                signed_by = conn.scalar(
                    text(
                        "SELECT key_fingerprint FROM ledger_checkpoints"
                        " ORDER BY tree_size DESC LIMIT 1"
                    )
                )
                has_ledger = has_ledger or signed_by is not None
            if "dataset_versions" in tables:
                sealed = conn.scalars(
                    text("SELECT sealed FROM dataset_versions WHERE sealed IS NOT NULL")
                ).all()
                quarantined = (
                    conn.scalar(
                        text(
                            "SELECT 1 FROM dataset_versions"
                            " WHERE quarantine_path LIKE '%.sealed' LIMIT 1"
                        )
                    )
                    is not None
                )
            signer_key_ids = []
            if "compliance_signer_keys" in tables:  # signers' SM2 keys, sealed (SEC-9)
                signer_key_ids = conn.scalars(
                    text("SELECT DISTINCT sealed_key_id FROM compliance_signer_keys")
                ).all()
        infos = [json.loads(v) if isinstance(v, str) else v for v in sealed]
        key_ids = frozenset(i["key_id"] for i in infos if isinstance(i, dict) and "key_id" in i)
        key_ids |= frozenset(signer_key_ids)
        return cls(has_ledger, signed_by, bool(key_ids) or quarantined, key_ids)


def require_current_schema(instance: Instance) -> None:
    from gongshu.errors import Conflict
    from gongshu.migrate import is_current

    if not is_current(instance.engine):
        raise Conflict("数据库结构不是最新版本，请先运行 gongshu init")


__all__ = [
    "Instance",
    "KeyFacts",
    "check_instance_keys",
    "check_keys",
    "load_settings",
    "require_current_schema",
]
