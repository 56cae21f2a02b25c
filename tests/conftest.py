"""Test harness: real SQLite by default, the real PostgreSQL when
``GONGSHU_TEST_DATABASE_URL`` is set (``make test`` runs both).

Each test runs inside an outer transaction that is rolled back at the end
(SQLAlchemy's "joining a Session into an external transaction" recipe), so
code that commits only releases a SAVEPOINT.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gongshu.config import Settings
from gongshu.db import Base, import_all_models, make_engine

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _test_url(tmp_dir: Path) -> str:
    return os.environ.get("GONGSHU_TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    import_all_models()
    eng = make_engine(_test_url(tmp_path_factory.mktemp("db")))
    Base.metadata.drop_all(eng)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine):
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory) -> Iterator[Session]:
    s = session_factory()
    yield s
    s.close()


@pytest.fixture
def settings(tmp_path: Path, engine: Engine) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        database_url=str(engine.url.render_as_string(hide_password=False)),
        secret_key="test-secret-key-not-for-production",
        checkpoint_every=8,
    )


@pytest.fixture
def shared_dir() -> Path:
    return SHARED
