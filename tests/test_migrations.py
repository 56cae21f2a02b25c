"""Alembic migrations create the same schema as the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from gongshu.capabilities import import_all_models
from gongshu.db import Base, make_engine
from gongshu.migrate import current_revision, head_revision, is_current, upgrade


@pytest.fixture
def scratch_engine(tmp_path) -> Iterator[Engine]:  # noqa: ANN001
    pg = os.environ.get("GONGSHU_TEST_DATABASE_URL")
    if not pg:
        engine = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
        yield engine
        engine.dispose()
        return
    # A database of its own: the suite's `test` database is built with create_all.
    name = "gongshu_migration_check"
    admin = make_engine(pg).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine = make_engine(make_url(pg).set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    admin.dispose()


def test_upgrade_to_head_matches_the_models(scratch_engine: Engine) -> None:
    import_all_models()
    assert not is_current(scratch_engine)
    upgrade(scratch_engine)
    assert current_revision(scratch_engine) == head_revision() is not None
    with scratch_engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == [], "models changed without a migration: run `make migration m=...`"
    upgrade(scratch_engine)  # running it again changes nothing
    assert is_current(scratch_engine)
