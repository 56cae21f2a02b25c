"""PIP-9: a version is marked anonymized only after the re-identification check passes."""

from __future__ import annotations

import pytest

from gongshu.catalog import service as catalog
from gongshu.datasets import service
from gongshu.datasets.anonymized import NotAnonymous, check_and_mark
from gongshu.ledger import entries

FIELDS = ["出生年份", "性别", "街道", "诊断"]


def load(session, people, tmp_path, rows):  # noqa: ANN001, ANN201
    entry = catalog.create(
        session,
        {
            "resource_code": f"A-{len(rows)}",
            "name": "门诊统计",
            "summary": "匿名化门诊记录",
            "fields": [{"name": f} for f in FIELDS],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "unconditional",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    csv = tmp_path / "a.csv"
    csv.write_text(
        "\n".join([",".join(FIELDS)] + [",".join(r) for r in rows]) + "\n", encoding="utf-8"
    )
    version = service.load(
        session, entry.id, csv, actor=people.clerk_county, datasets_dir=tmp_path / "ds"
    )
    service.confirm_tags(
        session,
        version.id,
        {"出生年份": ["BIRTH_DATE"], "性别": ["GENDER"], "街道": ["ADDRESS"], "诊断": ["MEDICAL"]},
        actor=people.clerk_county,
    )
    return version


def rows(extra: list[tuple[str, ...]] = ()) -> list[tuple[str, ...]]:  # noqa: B006
    out = []
    for year in ("1950-1959", "1960-1969"):
        for sex in ("男", "女"):
            for i in range(6):
                out.append((year, sex, "八一街道", ["高血压", "糖尿病"][i % 2]))
    return out + list(extra)


QI = ["出生年份", "性别", "街道"]


def test_a_table_meeting_the_criteria_is_marked(session, people, tmp_path) -> None:
    version = load(session, people, tmp_path, rows())
    check_and_mark(
        session,
        version.id,
        quasi_identifiers=QI,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "ds",
    )
    assert version.anonymized["k"] == 6 and version.anonymized["l"] == 2
    logged = entries(session, action_prefix="dataset.anonymity", limit=1)[0]
    assert logged.payload["passed"] is True


def test_a_unique_person_fails_and_the_failure_is_recorded(session, people, tmp_path) -> None:
    version = load(session, people, tmp_path, rows([("1990-1999", "女", "豫章街道", "高血压")]))
    with pytest.raises(NotAnonymous, match="k=1"):
        check_and_mark(
            session,
            version.id,
            quasi_identifiers=QI,
            actor=people.clerk_county,
            datasets_dir=tmp_path / "ds",
        )
    assert version.anonymized is None
    assert (
        entries(session, action_prefix="dataset.anonymity", limit=1)[0].payload["passed"] is False
    )


def test_identifiers_and_left_out_quasi_identifiers_are_refused(session, people, tmp_path) -> None:
    version = load(session, people, tmp_path, rows())
    with pytest.raises(NotAnonymous, match="街道"):
        check_and_mark(
            session,
            version.id,
            quasi_identifiers=["出生年份", "性别"],
            actor=people.clerk_county,
            datasets_dir=tmp_path / "ds",
        )
    service.confirm_tags(
        session, version.id, {"诊断": ["MEDICAL", "PERSON_NAME"]}, actor=people.clerk_county
    )
    with pytest.raises(NotAnonymous, match="仍含直接标识符列"):
        check_and_mark(
            session,
            version.id,
            quasi_identifiers=QI,
            actor=people.clerk_county,
            datasets_dir=tmp_path / "ds",
        )
    with pytest.raises(Exception, match="匿名化门槛不得低于"):
        check_and_mark(
            session,
            version.id,
            quasi_identifiers=QI,
            actor=people.clerk_county,
            datasets_dir=tmp_path / "ds",
            k=2,
        )
