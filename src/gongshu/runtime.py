"""An open instance: settings, engine and session factory, built by entry points."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from gongshu import serving
from gongshu.config import Settings
from gongshu.db import make_engine, make_session_factory


def load_settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment; ``--data-dir`` wins over GONGSHU_DATA_DIR."""
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)  # type: ignore[arg-type]


@dataclass
class Instance:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]

    @classmethod
    def open(cls, settings: Settings, *, check_keys: bool = True) -> Instance:
        """Open the instance; refuse (``KeysMissing``, ``KeysMismatch``) when its keys
        are not the ones its sealed data and ledger were made with."""
        from gongshu.datasets.storage import unlock_settings

        engine = make_engine(settings.db_url)
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
        if signed_by is not None and key.fingerprint != signed_by:
            raise KeysMismatch(
                f"签名密钥文件 {settings.keys_dir / KEY_FILE} 与账本不符 "
                f"(signing key mismatch)：最新检查点由 {signed_by} 签名，此文件为 {key.fingerprint}"
            )
        public = load_public_key(settings.keys_dir)
        if public is not None and raw_public_bytes(public) != raw_public_bytes(key.public_key):
            raise KeysMismatch(
                f"公钥文件 {settings.keys_dir / PUBLIC_KEY_FILE} 与签名密钥不符 "
                "(public key mismatch)"
            )
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
        infos = [json.loads(v) if isinstance(v, str) else v for v in sealed]
        key_ids = frozenset(i["key_id"] for i in infos if isinstance(i, dict) and "key_id" in i)
        return cls(has_ledger, signed_by, bool(key_ids) or quarantined, key_ids)


def init_instance(instance: Instance) -> None:
    """Create or upgrade everything an instance needs; safe to run again.

    The signing key is created only for a brand-new instance (no ledger entries or
    checkpoints); otherwise it must be there already (``check_instance_keys``)."""
    from gongshu.ledger.keys import InstanceKey
    from gongshu.migrate import upgrade

    settings = instance.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.datasets_dir.mkdir(parents=True, exist_ok=True)
    upgrade(instance.engine)
    facts = check_instance_keys(settings, instance.engine)
    if not facts.has_ledger:
        InstanceKey.load_or_create(settings.keys_dir)


def require_current_schema(instance: Instance) -> None:
    from gongshu.errors import Conflict
    from gongshu.migrate import is_current

    if not is_current(instance.engine):
        raise Conflict("数据库结构不是最新版本 (schema not at head)，请先运行 gongshu init")


def run_server(instance: Instance) -> None:
    """Serve the web app with uvicorn after start-up housekeeping."""
    import uvicorn

    from gongshu.datasets.service import sweep_orphans
    from gongshu.db import transaction
    from gongshu.jobs import Worker, load_handler_modules
    from gongshu.web import create_app

    settings = instance.settings
    settings.check_secret()
    require_current_schema(instance)
    with transaction(instance.session_factory) as session:
        sweep_orphans(session, settings.datasets_dir)
    # The embedded default runs one job worker beside the server; production adds
    # `gongshu worker` processes (PostgreSQL SKIP LOCKED lets them share the queue).
    load_handler_modules()
    thread, stop = Worker(instance.session_factory).start_thread()
    print(f"公数已启动 (serving)：http://{settings.host}:{settings.port}", flush=True)
    try:
        options = {
            "host": settings.host,
            "port": settings.port,
            "log_level": "warning",
            "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        }
        if settings.workers > 1 and serving.available():  # a socket each (serving.py)
            serving.run(settings.model_dump_json(), settings.workers, options)
        elif settings.workers > 1:  # processes sharing uvicorn's one socket
            os.environ[serving.PROCESS_SETTINGS] = settings.model_dump_json()
            uvicorn.run(
                "gongshu.runtime:worker_app", factory=True, workers=settings.workers, **options
            )
        else:
            app = create_app(settings, session_factory=instance.session_factory)
            settle_heap()
            uvicorn.run(app, **options)
    finally:
        stop.set()
        thread.join(10)


# Idle keep-alive connections stay open this long (uvicorn's default is 5 s; API
# clients and harvesters pause longer between pages; nginx keeps 75 s).
KEEP_ALIVE_SECONDS = 75


def worker_app():  # noqa: ANN201
    """The app of one server process when ``workers`` > 1 (uvicorn calls this in each);
    start-up housekeeping and the job worker stay with the parent."""
    from gongshu.web import create_app

    app = create_app(Settings.model_validate_json(os.environ[serving.PROCESS_SETTINGS]))
    settle_heap()
    return app


def settle_heap() -> None:
    """Move what start-up built (modules, the app, SQLAlchemy's mappers, lookup tables)
    out of the garbage collector's sight: a full collection walked all of it in 100-160
    ms (measured while a server process started); after the freeze, 16 ms under load.
    Every request in flight waits out a collection's pause."""
    import gc

    gc.collect()
    gc.freeze()
