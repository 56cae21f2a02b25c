"""Grading rules: defaults per GB/T 43697 / GB/T 35273, editable, checked on load."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from gongshu.discovery import Rules, classify_table, default_rules
from gongshu.discovery.grading import DEFAULT_RULES
from gongshu.errors import InvalidInput

from .conftest import TODAY, Gen

ENTITY_CODES = [
    "PERSON_NAME",
    "CN_RESIDENT_ID",
    "PASSPORT",
    "HK_MACAO_PERMIT",
    "CN_MOBILE",
    "CN_LANDLINE",
    "EMAIL",
    "ADDRESS",
    "BIRTH_DATE",
    "GENDER",
    "ETHNICITY",
    "RELIGION",
    "EDUCATION",
    "MEDICAL",
    "BANK_CARD",
    "ACCOUNT_ID",
    "IP_ADDRESS",
    "MAC_ADDRESS",
    "IMEI",
    "LICENSE_PLATE",
    "VEHICLE_VIN",
    "GEO_COORDINATE",
    "BIOMETRIC",
    "CN_USCC",
    "ORG_NAME",
]
SENSITIVE = {
    "CN_RESIDENT_ID",
    "PASSPORT",
    "HK_MACAO_PERMIT",
    "RELIGION",
    "MEDICAL",
    "BANK_CARD",
    "GEO_COORDINATE",
    "BIOMETRIC",
}


def test_default_rules_cover_every_entity_with_the_spec_sensitivity() -> None:
    rules = default_rules()
    assert set(rules.entities) == set(ENTITY_CODES)
    assert {e for e in ENTITY_CODES if rules.is_sensitive(e)} == SENSITIVE
    assert rules.grades[-2:] == ["important", "core"]


def test_columns_get_grade_category_and_masking_default(gen: Gen) -> None:
    table = pa.table(
        {
            "sfzh": [gen.resident_id() for _ in range(200)],
            "xm": [gen.name() for _ in range(200)],
            "remark": ["ok"] * 200,
        }
    )
    result = classify_table(table, today=TODAY)
    sfzh, xm, remark = result.columns
    assert (sfzh.grade, sfzh.masking, sfzh.category) == (
        "general-4",
        "mask_id_number",
        "个人身份信息",
    )
    assert (xm.grade, xm.masking) == ("general-3", "mask_name")
    assert (remark.grade, remark.masking, remark.category) == ("general-1", "none", None)
    assert result.grade == "general-4"
    assert not result.important_data_candidate  # 200 rows is not "at scale"


def edited_rules(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_RULES.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "rules.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_administrator_edits_flag_important_data_candidates(gen: Gen, tmp_path: Path) -> None:
    rules = Rules.load(
        edited_rules(
            tmp_path,
            'min_rows = 100000\nall_entities = ["LICENSE_PLATE"',
            'min_rows = 100\nall_entities = ["LICENSE_PLATE"',
        )
    )
    table = pa.table(
        {
            "hphm": [f"浙A{gen.digits(5)}" for _ in range(150)],
            "jd": [round(gen.r.uniform(119, 121), 6) for _ in range(150)],
            "wd": [round(gen.r.uniform(29, 31), 6) for _ in range(150)],
        }
    )
    result = classify_table(table, today=TODAY, rules=rules)
    assert result.important_data_candidate
    assert result.grade == "important"
    assert any("车辆轨迹" in r for r in result.reasons)
    assert not classify_table(table, today=TODAY).important_data_candidate


def test_administrator_can_relax_id_sensitivity(gen: Gen, tmp_path: Path) -> None:
    # GB/T 45574-2025 may treat an ID number alone as not sensitive (entities.md)
    path = edited_rules(
        tmp_path,
        'category = "个人身份信息"\nsensitive = true',
        'category = "个人身份信息"\nsensitive = false',
    )
    table = pa.table({"sfzh": [gen.resident_id() for _ in range(100)]})
    assert not classify_table(table, today=TODAY, rules=Rules.load(path)).columns[0].sensitive


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('grade = "general-4"', 'grade = "level-9"', "未定义的级别"),
        ("version = ", "versio = ", "缺少或多出字段"),
        ("[entities.IMEI]", "[entities.IMEI", "无法读取"),
    ],
)
def test_broken_rules_file_is_refused_with_a_clear_message(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        Rules.load(edited_rules(tmp_path, old, new))
    assert message in info.value.message and "rules.toml" in info.value.message
