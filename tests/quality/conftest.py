"""A published subsidy list (东湖区民政局) with errors of every quality dimension planted
in its first load, and the helpers to load a corrected version."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.identifiers import id_check_char
from gongshu.quality.service import run_report

FIELDS = [
    {"name": "姓名", "type": "string"},
    {"name": "公民身份号码", "type": "string", "kind": "resident_id"},
    {"name": "性别", "type": "string"},
    {"name": "出生日期", "type": "date"},
    {"name": "联系电话", "type": "string"},
    {"name": "补贴金额", "type": "decimal"},
    {"name": "发放日期", "type": "date"},
]
HEADER = "姓名,公民身份号码,性别,出生日期,联系电话,补贴金额,发放日期"


def rid(i: int, birth: str = "19500101", male: bool = True) -> str:
    seq = f"{i:02d}{1 if male else 2}"
    base = f"360102{birth}{seq}"
    return base + id_check_char(base)


def good_rows(n: int, issued: dt.date) -> list[list[str]]:
    return [
        [
            f"张{'一二三四五六七八九十'[i % 10]}{i}",
            rid(i),
            "男",
            "1950-01-01",
            f"1381234{i:04d}",
            "300.00",
            issued.isoformat(),
        ]
        for i in range(n)
    ]


def planted_rows(issued_long_ago: dt.date) -> list[list[str]]:
    """20 rows: each dimension gets errors it alone should catch."""
    rows = good_rows(20, issued_long_ago)
    rows[1][0] = rows[9][0] = ""  # completeness: two missing names (90% < 95%)
    rows[2][4] = "12345"  # validity: not a mobile number
    rows[3][5] = "-50.00"  # validity: negative amount
    rows[4][2] = "未知"  # validity: not in the gender code set
    rows[5][1] = rows[6][1]  # uniqueness: the same person twice
    rows[7][3] = "1951-03-03"  # consistency: birth date against the ID number
    rows[8][2] = "女"  # consistency: gender against the ID number (odd = male)
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text(HEADER + "\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def subsidy(session, people):  # noqa: ANN001, ANN201
    clerk = people.clerk_county
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0301",
            "name": "高龄津贴发放名单",
            "summary": "高龄津贴发放名单",
            "fields": FIELDS,
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于履行法定职责",
            "opening_attr": "none",
        },
        actor=clerk,
    )
    catalog.submit(session, entry.id, actor=clerk)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    return entry


@pytest.fixture
def datasets_dir(tmp_path: Path) -> Path:
    return tmp_path / "var" / "datasets"


@pytest.fixture
def load(session, people, subsidy, datasets_dir, tmp_path):  # noqa: ANN001, ANN201
    """Load rows as the next version and run its quality report (as the job would)."""

    def go(rows: list[list[str]], name: str = "v.csv"):  # noqa: ANN202
        version = datasets.load(
            session,
            subsidy.id,
            write_csv(tmp_path / name, rows),
            actor=people.clerk_county,
            datasets_dir=datasets_dir,
        )
        return version, run_report(session, version.id, datasets_dir=datasets_dir)

    return go
