"""Whole instances for tests that need committed data another process can see: the
crash tests (a child process loads, is killed, a restart sweeps) and backup/restore.

SQLite by default (a file in the data directory); with ``GONGSHU_TEST_DATABASE_URL``
each instance gets a fresh PostgreSQL database of its own beside the test database
(``<test db>_<suffix>``), dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gongshu.app.server import init_instance
from gongshu.config import Settings
from gongshu.db import transaction
from gongshu.runtime import Instance

SECRET = "instance-test-secret-not-for-production"


def postgres() -> bool:
    return bool(os.environ.get("GONGSHU_TEST_DATABASE_URL"))


@contextmanager
def fresh_database(suffix: str) -> Iterator[str | None]:
    """A URL of an empty PostgreSQL database (None on SQLite: the instance's own file)."""
    base = os.environ.get("GONGSHU_TEST_DATABASE_URL")
    if not base:
        yield None
        return
    url = make_url(base)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def settings_for(data_dir: Path, database_url: str | None, **extra: object) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url, secret_key=SECRET, **extra)  # type: ignore[arg-type]


def new_instance(settings: Settings):  # noqa: ANN201 - (Instance, people namespace)
    """Create the instance (migrations, keys) and seed the test people, committed."""
    from gongshu.capabilities import activate
    from tests.conftest import seed_people

    activate()  # as every entry point does (the door's gates)
    instance = Instance.open(settings)
    init_instance(instance)
    with transaction(instance.session_factory) as session:
        people = seed_people(session)
        ids = {k: v.id for k, v in vars(people).items() if k != "org"}
    return instance, ids
