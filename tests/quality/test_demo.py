"""The issue's check over the real demo build (300 rows per table): the planted
subsidy list shows each planted error under its dimension, a fixed version raises
the score, and the duplicate finder flags the planted pair and nothing else."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from gongshu.accounts.service import get_user
from gongshu.app.server import init_instance
from gongshu.catalog.models import CatalogEntry
from gongshu.config import Settings
from gongshu.datasets import service as datasets
from gongshu.db import transaction
from gongshu.demo.loader import ensure_demo
from gongshu.demo.people_rows import gljt
from gongshu.demo.province import build_province
from gongshu.demo.synth import Ctx, rng_for
from gongshu.quality import onesource, service
from gongshu.runtime import Instance

LIMIT = 300


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    data_dir = tmp_path_factory.mktemp("qdemo") / "var"
    instance = Instance.open(Settings(data_dir=data_dir, demo=True))
    init_instance(instance)
    ensure_demo(instance, echo=lambda _: None, limit=LIMIT)
    yield instance
    instance.close()


def _entry(session, code: str) -> CatalogEntry:  # noqa: ANN001
    return session.scalar(select(CatalogEntry).where(CatalogEntry.resource_code == code))


def test_planted_errors_show_under_their_dimensions(demo) -> None:  # noqa: ANN001
    with transaction(demo.session_factory) as session:
        entry = _entry(session, "360100-MZ-0003")
        (report,) = service.reports_of(session, entry.id)
        failed = {
            (r["expectation"], r["column"]): r["dimension"]
            for r in report.results
            if not r["passed"]
        }
    assert failed[("expect_column_values_to_not_be_null", "姓名")] == "completeness"
    assert failed[("expect_column_values_to_match_entity", "联系电话")] == "validity"
    assert failed[("expect_column_values_to_be_between", "补贴金额")] == "validity"
    assert failed[("expect_column_values_to_be_in_set", "性别")] == "validity"
    assert failed[("expect_column_values_to_be_unique", "公民身份号码")] == "uniqueness"
    assert failed[("expect_resident_id_to_match_birth_date", "公民身份号码")] == "consistency"
    assert failed[("expect_resident_id_to_match_gender", "公民身份号码")] == "consistency"
    assert failed[("expect_column_max_to_be_recent", "发放日期")] == "timeliness"
    # across entries: the same people as in the household register, recorded otherwise
    assert failed[("expect_column_values_to_match_reference", "公民身份号码")] == "consistency"
    assert set(failed.values()) == {
        "completeness",
        "validity",
        "uniqueness",
        "consistency",
        "timeliness",
    }


def test_loading_a_fixed_version_raises_the_score(demo, tmp_path: Path) -> None:  # noqa: ANN001
    spec = build_province().entry("gljt")
    cols = gljt(Ctx(2026, 0, LIMIT, rng_for(2026, "gljt", 0)), planted=False)
    cols["发放日期"] = pa.array([dt.date.today()] * LIMIT, pa.date32())
    path = tmp_path / "fixed.parquet"
    pq.write_table(pa.table({f.name: cols[f.name] for f in spec.fields}), path)
    settings = demo.settings
    with transaction(demo.session_factory) as session:
        entry = _entry(session, "360100-MZ-0003")
        clerk = get_user(session, "clerk_nc_mzj")
        before = service.reports_of(session, entry.id)[-1].overall
        version = datasets.load(
            session, entry.id, path, actor=clerk, datasets_dir=settings.datasets_dir
        )
        after = service.run_report(session, version.id, datasets_dir=settings.datasets_dir)
    assert after.overall > before
    assert after.overall == 100.0


def test_duplicate_finder_flags_the_planted_pair_only(demo) -> None:  # noqa: ANN001
    with transaction(demo.session_factory) as session:
        found = onesource.find_duplicates(
            session, get_user(session, "admin"), datasets_dir=demo.settings.datasets_dir
        )
        pairs = [{d.a.resource_code, d.b.resource_code} for d in found]
        assert pairs == [{"360000-GA-0001", "360100-MZ-0004"}], pairs
        assert found[0].overlap == 1.0 and "户籍地址" in found[0].shared_items


def test_authority_names_the_legal_collector_on_the_page(demo) -> None:  # noqa: ANN001
    """Runs last in this module: after it the pair is decided."""
    from gongshu.app.factory import create_app
    from gongshu.demo import DEMO_PASSWORD
    from tests.conftest import browser_client

    app = create_app(demo.settings)
    with browser_client(app) as client:
        r = client.post(
            "/login",
            data={"username": "reviewer", "password": DEMO_PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = client.get("/quality/duplicates")
        assert "南昌市居民户籍信息" in page.text and "户籍人口基本信息" in page.text
        with transaction(demo.session_factory) as session:
            a = _entry(session, "360000-GA-0001").id
            b = _entry(session, "360100-MZ-0004").id
        r = client.post(
            "/quality/duplicates/designate",
            data={"entries": f"{a},{b}", "legal_entry_id": str(a), "reason": "户籍由公安机关采集"},
        )
        assert (
            r.status_code == 200 and "未发现重复采集" in r.text and "户籍由公安机关采集" in r.text
        )
    app.state.instance.close()
    with transaction(demo.session_factory) as session:
        from gongshu.quality.models import OneSourceDecision

        (decision,) = session.scalars(select(OneSourceDecision)).all()
        assert decision.evidence["overlap"] == 1.0 and decision.legal_entry_id == a
