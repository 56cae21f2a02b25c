"""Quality rules: the vocabulary, the defaults and the validation of an edited set
(their compilation to DuckDB SQL is ``quality.sql``).

The names follow Great Expectations (``expect_column_values_to_not_be_null``,
``..._to_be_between``, ``..._to_be_in_set``, ``..._to_be_unique``) with a few
of our own for the national identifiers (AGG-3) and the cross-field checks the
resident ID number allows. A rule is a plain dict, so the agency's edits are
stored and versioned as JSON:

    {"id": "r3", "expectation": "expect_column_values_to_be_valid_resident_id",
     "column": "公民身份号码", "mostly": 1.0}

All row rules of a version compile into ONE aggregate query over the Parquet
file (checked and failed counts per rule, plus up to three failing rows per
rule through ``arg_min(..., n)``), so the rules cost one pass whatever their
number. Uniqueness examples and cross-entry checks need a GROUP BY or a join
and run as extra queries only when they are asked for.
"""

from __future__ import annotations

import re

from gongshu.discovery.detectors import EMAIL, MOBILE
from gongshu.errors import InvalidInput

DIMENSIONS = {
    "completeness": "完整性",
    "validity": "有效性",
    "uniqueness": "唯一性",
    "consistency": "一致性",
    "timeliness": "及时性",
}
# expectation -> (dimension, label for people)
EXPECTATIONS = {
    "expect_column_values_to_not_be_null": ("completeness", "非空"),
    "expect_column_values_to_be_of_type": ("validity", "类型符合目录"),
    "expect_column_values_to_be_between": ("validity", "取值范围"),
    "expect_column_values_to_be_in_set": ("validity", "取值在代码集内"),
    "expect_column_values_to_be_valid_resident_id": ("validity", "居民身份证号校验（GB 11643）"),
    "expect_column_values_to_be_valid_uscc": ("validity", "统一社会信用代码校验（GB 32100）"),
    "expect_column_values_to_be_valid_region_code": ("validity", "行政区划代码（GB/T 2260）"),
    "expect_column_values_to_match_entity": ("validity", "符合识别出的实体格式"),
    "expect_column_values_to_be_unique": ("uniqueness", "值唯一"),
    "expect_compound_columns_to_be_unique": ("uniqueness", "多字段组合唯一"),
    "expect_resident_id_to_match_birth_date": ("consistency", "出生日期与身份证号一致"),
    "expect_resident_id_to_match_gender": ("consistency", "性别与身份证号一致"),
    "expect_column_values_to_match_reference": ("consistency", "与其他目录同一对象一致"),
    "expect_column_max_to_be_recent": ("timeliness", "最新记录时间符合更新频率"),
    "expect_version_on_schedule": ("timeliness", "按更新频率加载"),
}
# Discovery entity checks (validity) as DuckDB regular expressions (RE2).
ENTITY_PATTERNS = {
    "CN_MOBILE": rf"(?:\+?86|0086)?{MOBILE}",
    "EMAIL": EMAIL,
}
# How many days an entry's data may age, by declared update frequency (as GOV-2 uses).
FREQUENCY_DAYS = {"实时": 1, "每日": 1, "每周": 7, "每月": 31, "每季度": 92, "每年": 366}
KEY_NAME = re.compile(r"(编号|流水号|证号|证书号|标识码|学籍号|单元号)$")
NON_NEGATIVE = re.compile(r"(金额|费用|费|数|面积|资本|资金|基数|价|浓度|指数)$")
NOT_RECORD_DATE = re.compile(r"(出生|有效期|截止|到期|成立)")
GENDER_SETS = {"男": ("男", "1", "M"), "女": ("女", "2", "F")}
TYPE_OK = {
    "string": ("VARCHAR",),
    "integer": ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT"),
    "decimal": ("DOUBLE", "FLOAT", "DECIMAL"),
    "date": ("DATE",),
    "datetime": ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"),
    "boolean": ("BOOLEAN",),
}
EXAMPLES = 3
COMPOUND = "expect_compound_columns_to_be_unique"


def dimension_of(rule: dict) -> str:
    return EXPECTATIONS[rule["expectation"]][0]


def default_rules(
    fields: list[dict],
    tags: dict[str, list[str]],
    *,
    update_frequency: str,
    distinct: dict[str, bool] | None = None,
) -> list[dict]:
    """Rules generated from the entry's fields and discovery tags (QUA-1).

    ``distinct`` says, for the key candidates, whether the first version held
    each value once: a resident ID column is a key in a register of people but
    not in a list of insurance policies, and only the data can tell which.
    """
    rules: list[dict] = []

    def add(expectation: str, column: str | None = None, **params: object) -> None:
        rules.append(
            {"id": f"r{len(rules) + 1}", "expectation": expectation, "column": column, **params}
        )

    names = [f["name"] for f in fields]
    for f in fields:
        name, type_, kind = f["name"], f.get("type") or "string", f.get("kind")
        codes = set(tags.get(name) or [])
        add("expect_column_values_to_not_be_null", name, mostly=1.0 if f.get("required") else 0.95)
        add("expect_column_values_to_be_of_type", name, type=type_)
        if kind == "resident_id" or (type_ == "string" and "CN_RESIDENT_ID" in codes):
            add("expect_column_values_to_be_valid_resident_id", name, mostly=1.0)
        elif kind == "uscc" or (type_ == "string" and "CN_USCC" in codes):
            add("expect_column_values_to_be_valid_uscc", name, mostly=1.0)
        elif kind == "region_code":
            add("expect_column_values_to_be_valid_region_code", name, mostly=1.0)
        for code in sorted(codes & set(ENTITY_PATTERNS)):
            add("expect_column_values_to_match_entity", name, entity=code, mostly=0.99)
        if "GENDER" in codes or name.endswith("性别"):
            add("expect_column_values_to_be_in_set", name, value_set=["男", "女"], mostly=1.0)
        if type_ in ("integer", "decimal") and NON_NEGATIVE.search(name):
            add("expect_column_values_to_be_between", name, min_value=0, mostly=1.0)
    ids = [f["name"] for f in fields if f.get("kind") == "resident_id"]
    if ids:
        births = [
            n for n in names if n.endswith("出生日期") and _field(fields, n).get("type") == "date"
        ]
        genders = [n for n in names if n.endswith("性别")]
        if births:
            add("expect_resident_id_to_match_birth_date", ids[0], birth_column=births[0])
        if genders:
            add("expect_resident_id_to_match_gender", ids[0], gender_column=genders[0])
    for key in key_candidates(fields):
        if (distinct or {}).get(key):
            add("expect_column_values_to_be_unique", key, mostly=1.0)
    days = FREQUENCY_DAYS.get(update_frequency)
    if days is not None:
        record_dates = [
            f["name"]
            for f in fields
            if f.get("type") in ("date", "datetime") and not NOT_RECORD_DATE.search(f["name"])
        ]
        if record_dates:
            add("expect_column_max_to_be_recent", record_dates[-1], max_age_days=days)
        add("expect_version_on_schedule", None, max_interval_days=days)
    return rules


def key_candidates(fields: list[dict]) -> list[str]:
    """Columns that may be keys: an identifier-like first field, else identifier kinds."""
    if fields and KEY_NAME.search(fields[0]["name"]):
        return [fields[0]["name"]]
    return [f["name"] for f in fields if f.get("kind") in ("resident_id", "uscc")][:1]


def _field(fields: list[dict], name: str) -> dict:
    return next((f for f in fields if f["name"] == name), {})


def validate(rules: list[dict], columns: set[str]) -> list[dict]:
    """Check an edited rule set; messages name the rule and field."""
    clean, seen = [], set()
    for i, rule in enumerate(rules, start=1):
        exp = rule.get("expectation")
        if exp not in EXPECTATIONS:
            raise InvalidInput(f"第 {i} 条规则的检查项无效：{exp}")
        rid = str(rule.get("id") or f"r{i}")
        if rid in seen:
            raise InvalidInput(f"规则编号重复：{rid}")
        seen.add(rid)
        col = rule.get("column")
        if exp == COMPOUND:
            names = rule.get("column_list")
            if not isinstance(names, list) or len(set(map(str, names))) < 2:
                raise InvalidInput(f"第 {i} 条规则（{exp}）须给出至少两个不同的字段")
            for name in names:
                if name not in columns:
                    raise InvalidInput(f"第 {i} 条规则的字段不在目录中：{name}")
        elif exp != "expect_version_on_schedule" and col not in columns:
            raise InvalidInput(f"第 {i} 条规则的字段不在目录中：{col}")
        for extra in ("birth_column", "gender_column"):
            if extra in rule and rule[extra] not in columns:
                raise InvalidInput(f"第 {i} 条规则 {extra} 中的字段不在目录中：{rule[extra]}")
        mostly = rule.get("mostly", 1.0)
        if not isinstance(mostly, int | float) or not 0 <= mostly <= 1:
            raise InvalidInput(f"第 {i} 条规则的合格率阈值须在 0 到 1 之间")
        if exp == "expect_column_values_to_be_in_set" and not rule.get("value_set"):
            raise InvalidInput(f"第 {i} 条规则须给出代码集")
        if exp == "expect_column_values_to_match_entity" and rule.get("entity") not in (
            ENTITY_PATTERNS
        ):
            raise InvalidInput(f"第 {i} 条规则的实体类型不支持格式检查")
        clean.append({**rule, "id": rid, "mostly": float(mostly)})
    return clean
