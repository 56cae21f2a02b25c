"""An open instance: settings, engine and session factory, built by entry points."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

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
    def open(cls, settings: Settings) -> Instance:
        engine = make_engine(settings.db_url)
        return cls(settings, engine, make_session_factory(engine))

    def close(self) -> None:
        self.engine.dispose()
