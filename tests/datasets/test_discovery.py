"""Every new version is classified (mechanism 4): a sample at load, every row in a
job, and the provider confirms or corrects what masking will read (issue 3 item 6)."""

from __future__ import annotations

import pytest

from gongshu.config import Settings
from gongshu.datasets import service
from gongshu.datasets.jobs import run_full_scan
from gongshu.errors import InvalidInput
from gongshu.jobs import Job, attach
from gongshu.ledger import entries

from .test_service import GOOD, approved_entry, gbk_csv  # noqa: TID252


@pytest.fixture
def version(session, people, tmp_path):  # noqa: ANN001, ANN201
    # Job payloads hold no paths: a worker runs them for its instance (jobs.attach).
    attach(session, Settings(data_dir=tmp_path / "var"))
    entry = approved_entry(session, people)
    return service.load(
        session,
        entry.id,
        gbk_csv(tmp_path / "x.csv", GOOD * 20),
        actor=people.clerk_county,
        datasets_dir=tmp_path / "var" / "datasets",
    )


def test_load_classifies_a_sample_and_queues_the_full_scan(session, version) -> None:
    assert "CN_RESIDENT_ID" in version.column_tags["公民身份号码"]
    assert version.discovery["mode"] == "sample"
    job = session.query(Job).filter_by(dedupe_key=f"scan:dataset_version:{version.id}").one()
    assert job.kind == "dataset.full_scan" and job.status == "queued"

    run_full_scan(session, job.payload)
    assert version.discovery["mode"] == "full" and version.discovery["rows"] == version.rows
    col = next(c for c in version.discovery["columns"] if c["name"] == "公民身份号码")
    assert col["evidence"]["CN_RESIDENT_ID"]["matched"] == version.rows
    assert any(e.action == "dataset.scanned" for e in entries(session, limit=5))


def test_the_provider_confirms_or_corrects_and_the_scan_keeps_it(session, people, version) -> None:
    service.confirm_tags(
        session, version.id, {"姓名": ["PERSON_NAME"], "认定日期": []}, actor=people.clerk_county
    )
    assert version.column_tags["姓名"] == ["PERSON_NAME"]
    assert version.discovery["confirmed_by"] == "user:clerk_county"
    logged = entries(session, action_prefix="dataset.tags", limit=1)[0]
    assert logged.payload["dataset_version"] == version.id
    job = session.query(Job).filter_by(kind="dataset.full_scan").one()
    run_full_scan(session, job.payload)
    assert version.column_tags["姓名"] == ["PERSON_NAME"]  # the person's decision stands

    with pytest.raises(InvalidInput, match="实体类型无效"):
        service.confirm_tags(session, version.id, {"姓名": ["NAME"]}, actor=people.clerk_county)
    with pytest.raises(Exception, match="只有数据提供单位可以确认识别结果"):
        service.confirm_tags(session, version.id, {}, actor=people.clerk_prov)


def test_version_page_shows_tags_and_takes_corrections(
    client, login, people, version, session
) -> None:  # noqa: ANN001
    login("clerk_county")
    page = client.get(f"/datasets/{version.id}").text
    assert "敏感数据识别" in page and "居民身份证号" in page and "确认识别结果" in page
    assert "360102******" in page  # the open-data look of an ID, masked
    r = client.post(
        f"/datasets/{version.id}/tags",
        data={"tag:姓名": "PERSON_NAME", "tag:公民身份号码": "居民身份证号", "tag:认定日期": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/datasets/{version.id}").text
    assert "已由 clerk_county 确认" in page and "user:clerk_county" not in page
    session.expire_all()
    assert version.column_tags["公民身份号码"] == ["CN_RESIDENT_ID"]  # typed by its name


def test_a_wrong_entity_comes_back_beside_its_column(
    client, login, people, version, session
) -> None:  # noqa: ANN001
    from gongshu.ledger.models import LedgerEntry

    login("clerk_county")
    before = dict(version.column_tags)
    written = session.query(LedgerEntry).count()
    r = client.post(
        f"/datasets/{version.id}/tags",
        data={"tag:姓名": "外星人编号", "tag:公民身份号码": "居民身份证号"},
    )
    assert r.status_code == 400 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert "error-summary" in r.text and "「姓名」列的实体类型无效：外星人编号" in r.text
    assert 'class="field-error" id="tag-' in r.text and 'value="外星人编号"' in r.text
    assert 'aria-describedby="tag-' in r.text
    session.expire_all()
    assert version.column_tags == before
    assert session.query(LedgerEntry).count() == written


def test_confirmed_tags_raise_the_entry_grade_never_lower_it(session, people, version) -> None:
    from gongshu.catalog import service as catalog
    from gongshu.catalog import versions as catalog_versions

    entry = catalog.get(session, version.entry_id)
    assert entry.security_grade == "一般数据-3级"
    service.confirm_tags(
        session, version.id, {"公民身份号码": ["CN_RESIDENT_ID"]}, actor=people.clerk_county
    )
    assert entry.security_grade == "一般数据-4级"
    assert catalog_versions.versions(session, entry.id)[0].action == "regraded"
    service.confirm_tags(session, version.id, {"公民身份号码": []}, actor=people.clerk_county)
    assert entry.security_grade == "一般数据-4级"  # lowering is an edit for review, not automatic


def test_entry_page_shows_the_latest_versions_tags(client, login, people, version) -> None:
    login("reviewer_county")  # not the provider: sees tags and counts, not rows
    page = client.get(f"/catalog/{version.entry_id}").text
    assert "敏感数据识别" in page and "居民身份证号" in page and "待数据提供单位确认" in page
