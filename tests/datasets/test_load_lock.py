"""A long load holds SQLite's write lock only for its rows (issue 20 item 1): writes
from elsewhere go on while the file is converted, classified and sealed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import func, select

from gongshu.accounts.models import User
from gongshu.capabilities import import_all_models
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.config import Settings
from gongshu.datasets import service
from gongshu.db import Base, make_engine, make_session_factory, read_first_factory, transaction
from gongshu.identifiers import id_check_char
from gongshu.ledger import entries
from gongshu.storage import unlock_settings
from gongshu.storage.models import DatasetVersion
from tests.conftest import seed_people
from tests.datasets.test_service import approved_entry

ROWS = 600_000


def big_csv(path: Path) -> Path:
    rng = np.random.default_rng(7)
    seq = rng.integers(0, 999, ROWS)
    bodies = [f"360102198001{(i % 28) + 1:02d}{s:03d}" for i, s in enumerate(seq)]
    table = pa.table(
        {
            "姓名": pa.array([f"张{i}" for i in range(ROWS)]),
            "公民身份号码": pa.array([b + id_check_char(b) for b in bodies]),
            "认定日期": pa.array(["2024-01-02"] * ROWS),
        }
    )
    pacsv.write_csv(table, path)
    return path


def test_writes_go_on_while_a_large_load_converts_its_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", secret_key="test-secret-key-not-for-production")
    unlock_settings(settings)
    engine = make_engine(settings.db_url, pool_size=8)
    import_all_models()
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        people = seed_people(s)
        entry_id = approved_entry(s, people).id
        clerk_id = people.clerk_county.id
    src = big_csv(tmp_path / "big.csv")
    outcome: dict = {}

    def load() -> None:
        started = time.perf_counter()
        try:  # as `gongshu load` does: a read-first unit of work
            with transaction(read_first_factory(factory)) as s:
                version = service.load(
                    s,
                    entry_id,
                    src,
                    actor=s.get(User, clerk_id),
                    datasets_dir=settings.datasets_dir,
                )
                outcome["version"] = version.id
        except BaseException as exc:  # reported by the assertions below
            outcome["error"] = exc
        outcome["seconds"] = time.perf_counter() - started
        outcome["ended"] = time.perf_counter()

    loader = threading.Thread(target=load)
    loader.start()
    deadline = time.monotonic() + 60
    scratch = settings.data_dir / "tmp"  # the load converts into its encrypted scratch file
    while not any(p.is_file() for p in scratch.glob("*/*")):
        assert loader.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.005)
    waits = []
    for i in range(5):
        t = time.perf_counter()
        with transaction(factory) as s:
            clerk = s.get(User, clerk_id)
            catalog.create(s, {"resource_code": f"LOCK-{i}", "name": f"并发草稿{i}"}, actor=clerk)
        waits.append(time.perf_counter() - t)
        time.sleep(0.05)
    last_write = time.perf_counter()
    loader.join(120)
    assert "error" not in outcome, outcome.get("error")
    # Every write came through while the load was still running, each quickly.
    assert outcome["ended"] > last_write, (outcome["seconds"], waits)
    assert max(waits) < 0.5, waits
    with transaction(factory) as s:
        version = s.get(DatasetVersion, outcome["version"])
        assert version.rows == ROWS and version.sealed is not None
        assert s.scalar(select(func.count()).where(DatasetVersion.entry_id == entry_id)) == 1
        actions = [e.action for e in entries(s)]
        assert "dataset.loaded" in actions and "storage.sealed" in actions
        drafts = s.scalar(select(func.count()).where(CatalogEntry.resource_code.like("LOCK-%")))
        assert drafts == 5
    engine.dispose()
