"""A restored demo answers the CKAN calls as the original did (issue 20 item 4)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gongshu.accounts import service as accounts
from gongshu.accounts.models import User
from gongshu.app.factory import create_app
from gongshu.app.server import init_instance
from gongshu.backup.restore import restore
from gongshu.backup.snapshot import take
from gongshu.capabilities import activate
from gongshu.catalog.models import CatalogEntry
from gongshu.config import Settings
from gongshu.db import transaction
from gongshu.demo.loader import ensure_demo
from gongshu.opendata import service as opendata
from gongshu.runtime import Instance
from gongshu.timeutil import utcnow
from tests.instances import fresh_database

MARKABLE = re.compile(r"^-?\d+(\.\d+)?$|\d:\d\d|\*")  # numbers, times, star runs


def _unmarked(value: object) -> bool:
    return isinstance(value, str) and not MARKABLE.search(value)


def _answers(settings: Settings, token: str, resource: str) -> dict:
    calls = {
        "package_list": {},
        "package_search": {"q": "", "rows": 1000},
        "organization_list": {},
    }
    with TestClient(create_app(settings)) as client:
        got = {
            name: client.get(f"/api/3/action/{name}", params=params).json()
            for name, params in calls.items()
        }
        for name in got["package_list"]["result"][:8]:
            shown = client.get("/api/3/action/package_show", params={"id": name}).json()
            got[f"package_show:{name}"] = shown
        page = client.get(
            "/api/3/action/datastore_search",
            params={"resource_id": resource, "limit": 50},
            headers={"Authorization": token},
        ).json()
    assert page["success"], page
    result = page["result"]
    # Watermarks live in low-order digits, seconds and star runs, and differ by
    # delivery: what must match is everything they leave alone.
    got["datastore_search"] = {
        "total": result["total"],
        "fields": result["fields"],
        # open pages are reordered within blocks of rows (a watermark channel): by _id
        "records": sorted(
            (
                {k: v for k, v in r.items() if _unmarked(v)} | {"_id": r["_id"]}
                for r in result["records"]
            ),
            key=lambda r: r["_id"],
        ),
    }
    return got


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    activate()
    base = tmp_path_factory.mktemp("demo-backup")
    with fresh_database("bdemo") as url:
        settings = Settings(data_dir=base / "var", database_url=url, demo=True)
        instance = Instance.open(settings)
        init_instance(instance)
        ensure_demo(instance, echo=lambda _line: None, limit=60)
        with transaction(instance.session_factory) as session:
            entry = session.scalars(
                select(CatalogEntry)
                .where(CatalogEntry.opening_attr == "unconditional")
                .order_by(CatalogEntry.id)
                .limit(1)
            ).one()
            person = session.scalar(select(User).where(User.username == "public"))
            person.identity_verified_at = person.identity_verified_at or utcnow()
            opendata.declare_use(session, entry.id, actor=person, use="研究", scenario="备份核对")
            token, _ = accounts.issue_token(session, person, kind="api", ttl=timedelta(hours=2))
            assert session.scalar(select(func.count()).select_from(CatalogEntry)) > 10
            name = entry.resource_code.lower()
        instance.close()
        yield settings, token, name


def test_a_restored_demo_answers_the_ckan_calls_as_the_original(demo, tmp_path: Path) -> None:
    settings, token, name = demo
    with TestClient(create_app(settings)) as client:
        shown = client.get("/api/3/action/package_show", params={"id": name}).json()
    resource = shown["result"]["resources"][0]["id"]
    original = _answers(settings, token, resource)
    take(settings, tmp_path / "backup")
    with fresh_database("bdemo2") as url:
        moved = Settings(data_dir=tmp_path / "other" / "place", database_url=url, demo=True)
        restore(tmp_path / "backup", moved)
        assert _answers(moved, token, resource) == original
