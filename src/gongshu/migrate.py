"""Schema migrations with Alembic, driven from code (``gongshu init``, tests).

The scripts live in ``gongshu/migrations``; ``make migration m="..."`` writes a
new one by comparing the models with a scratch database at head.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema of ``engine``'s database to ``revision``."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def autogenerate(message: str) -> None:
    """Write a new migration: models compared with a scratch SQLite database at head."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cfg = alembic_config(f"sqlite:///{tmp}/scratch.db")
        command.upgrade(cfg, "head")
        command.revision(cfg, message=message, autogenerate=True)
