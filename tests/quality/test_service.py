"""Quality reports per version (QUA-1): each planted error under its dimension, masked
examples, a better score after a fixed version, edited rules versioned in the ledger."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.ledger.models import LedgerEntry
from gongshu.quality import service
from gongshu.quality.errors import NotQualityOwner
from tests.quality.conftest import good_rows, planted_rows, rid

TODAY = dt.date.today()


def failed(report) -> dict[tuple[str, str | None], dict]:  # noqa: ANN001
    return {(r["expectation"], r["column"]): r for r in report.results if not r["passed"]}


def test_each_planted_error_shows_under_its_dimension(load) -> None:  # noqa: ANN001
    _, report = load(planted_rows(TODAY - dt.timedelta(days=120)))
    bad = failed(report)
    expected = {
        ("expect_column_values_to_not_be_null", "姓名"): "completeness",
        ("expect_column_values_to_match_entity", "联系电话"): "validity",
        ("expect_column_values_to_be_between", "补贴金额"): "validity",
        ("expect_column_values_to_be_in_set", "性别"): "validity",
        ("expect_resident_id_to_match_birth_date", "公民身份号码"): "consistency",
        ("expect_resident_id_to_match_gender", "公民身份号码"): "consistency",
        ("expect_column_max_to_be_recent", "发放日期"): "timeliness",
    }
    for key, dim in expected.items():
        assert key in bad, key
        assert bad[key]["dimension"] == dim
        assert bad[key]["failed"] >= 1
    assert bad[("expect_column_values_to_not_be_null", "姓名")]["examples"][0]["row"] == 1
    for dim in ("completeness", "validity", "consistency", "timeliness"):
        assert report.scores[dim] < 100
    assert report.overall < 100


def test_duplicate_person_fails_uniqueness_once_the_key_is_known(load) -> None:  # noqa: ANN001
    load(good_rows(20, TODAY))  # first version: the ID column is distinct, so it is a key
    rows = good_rows(20, TODAY)
    rows[5][1] = rows[6][1]
    _, report = load(rows, "v2.csv")
    bad = failed(report)
    unique = bad[("expect_column_values_to_be_unique", "公民身份号码")]
    assert unique["dimension"] == "uniqueness" and unique["failed"] == 1
    assert report.scores["uniqueness"] < 100


def test_examples_never_show_a_raw_identifier(load) -> None:  # noqa: ANN001
    _, report = load(planted_rows(TODAY - dt.timedelta(days=120)))
    gender = failed(report)[("expect_resident_id_to_match_gender", "公民身份号码")]
    shown = gender["examples"][0]["公民身份号码"]
    assert shown != rid(8) and "*" in shown
    text = str(report.results)
    assert rid(8) not in text and rid(7) not in text


def test_a_fixed_version_raises_the_score(load) -> None:  # noqa: ANN001
    _, first = load(planted_rows(TODAY - dt.timedelta(days=120)))
    _, second = load(good_rows(20, TODAY), "fixed.csv")
    assert second.overall > first.overall
    assert second.overall == 100.0


def test_trend_lists_every_version(session, load, subsidy) -> None:  # noqa: ANN001
    load(planted_rows(TODAY - dt.timedelta(days=120)))
    load(good_rows(20, TODAY), "fixed.csv")
    trend = service.trend(session, subsidy.id)
    assert [t["version"] for t in trend] == [1, 2]
    assert trend[0]["overall"] < trend[1]["overall"]


def test_agency_edits_rules_as_a_new_version(session, people, subsidy, load) -> None:  # noqa: ANN001
    load(good_rows(20, TODAY))
    current = service.current_rules(session, subsidy.id)
    rules = [r for r in current.rules if r["column"] != "联系电话"]
    edited = service.update_rules(
        session, subsidy.id, rules, actor=people.clerk_county, reason="联系电话不再采集"
    )
    assert edited.version_no == current.version_no + 1
    assert session.query(LedgerEntry).filter_by(action="quality.rules_set").count() == 2
    with pytest.raises(NotQualityOwner):
        service.update_rules(session, subsidy.id, rules, actor=people.clerk_prov, reason="x")


def test_cross_entry_rule_finds_the_same_person_recorded_differently(
    session, people, subsidy, load, datasets_dir, tmp_path
) -> None:  # noqa: ANN001
    """Consistency across entries: the same resident ID with another gender elsewhere."""
    from gongshu.catalog import service as catalog
    from gongshu.datasets import service as datasets
    from tests.quality.conftest import FIELDS, write_csv

    register = catalog.create(
        session,
        {
            "resource_code": "360000-GA-0401",
            "name": "户籍人口",
            "summary": "户籍人口",
            "fields": FIELDS,
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于履行法定职责",
            "opening_attr": "none",
        },
        actor=people.clerk_prov,
    )
    catalog.submit(session, register.id, actor=people.clerk_prov)
    catalog.approve(session, register.id, actor=people.reviewer_prov)
    rows = good_rows(20, TODAY)
    datasets.load(
        session,
        register.id,
        write_csv(tmp_path / "reg.csv", rows),
        actor=people.clerk_prov,
        datasets_dir=datasets_dir,
    )
    load(rows)
    rules = service.current_rules(session, subsidy.id).rules
    rules.append(
        {
            "id": "x1",
            "expectation": "expect_column_values_to_match_reference",
            "column": "公民身份号码",
            "ref_entry_id": register.id,
            "ref_column": "公民身份号码",
            "compare": [["姓名", "姓名"], ["出生日期", "出生日期"]],
        }
    )
    service.update_rules(session, subsidy.id, rules, actor=people.clerk_county, reason="与户籍比对")
    changed = [list(r) for r in rows]
    changed[3][0] = "李四"
    _, report = load(changed, "v2.csv")
    cross = next(r for r in report.results if r["id"] == "x1")
    assert cross["dimension"] == "consistency" and cross["checked"] == 20 and cross["failed"] == 1
    assert cross["examples"][0]["不一致字段"] == "姓名" and cross["examples"][0]["row"] == 3
