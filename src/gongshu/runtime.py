"""An open instance: settings, engine and session factory, built by entry points.

Serving it (``run_server``) and creating it (``init_instance``) are in
``gongshu.app.server``, above every capability."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
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
    def open(cls, settings: Settings) -> Instance:
        engine = make_engine(
            settings.db_url, pool_size=settings.pool_size, pool_timeout=settings.db_pool_timeout
        )
        unlock_settings(settings)  # sealed columns (SEC-9) need the instance key store
        return cls(settings, engine, make_session_factory(engine))

    def close(self) -> None:
        self.engine.dispose()


def require_current_schema(instance: Instance) -> None:
    from gongshu.errors import Conflict
    from gongshu.migrate import is_current

    if not is_current(instance.engine):
        raise Conflict("数据库结构不是最新版本 (schema not at head)，请先运行 gongshu init")


__all__ = ["Instance", "load_settings", "require_current_schema"]
