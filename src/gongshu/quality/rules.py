"""Quality rules: the vocabulary, the defaults, and their compilation to DuckDB SQL.

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
import zlib
from dataclasses import dataclass, field
from datetime import date

from gongshu.discovery.detectors import EMAIL, MOBILE
from gongshu.errors import InvalidInput
from gongshu.identifiers import ID_WEIGHTS, USCC_CHARS, USCC_WEIGHTS

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


def label_of(rule: dict) -> str:
    return EXPECTATIONS[rule["expectation"]][1]


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
            raise InvalidInput(f"第 {i} 条规则的检查项无效 (expectation)：{exp}")
        rid = str(rule.get("id") or f"r{i}")
        if rid in seen:
            raise InvalidInput(f"规则编号重复 (rule id)：{rid}")
        seen.add(rid)
        col = rule.get("column")
        if exp == COMPOUND:
            names = rule.get("column_list")
            if not isinstance(names, list) or len(set(map(str, names))) < 2:
                raise InvalidInput(f"第 {i} 条规则（{exp}）须给出至少两个不同的字段 (column_list)")
            for name in names:
                if name not in columns:
                    raise InvalidInput(f"第 {i} 条规则的字段不在目录中 (column_list)：{name}")
        elif exp != "expect_version_on_schedule" and col not in columns:
            raise InvalidInput(f"第 {i} 条规则的字段不在目录中 (column)：{col}")
        for extra in ("birth_column", "gender_column"):
            if extra in rule and rule[extra] not in columns:
                raise InvalidInput(f"第 {i} 条规则的字段不在目录中 ({extra})：{rule[extra]}")
        mostly = rule.get("mostly", 1.0)
        if not isinstance(mostly, int | float) or not 0 <= mostly <= 1:
            raise InvalidInput(f"第 {i} 条规则的合格率阈值须在 0 到 1 之间 (mostly)")
        if exp == "expect_column_values_to_be_in_set" and not rule.get("value_set"):
            raise InvalidInput(f"第 {i} 条规则须给出代码集 (value_set)")
        if exp == "expect_column_values_to_match_entity" and rule.get("entity") not in (
            ENTITY_PATTERNS
        ):
            raise InvalidInput(f"第 {i} 条规则的实体类型不支持格式检查 (entity)")
        clean.append({**rule, "id": rid, "mostly": float(mostly)})
    return clean


# ---------------------------------------------------------------- SQL


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: object) -> str:
    """A SQL literal for a rule parameter (numbers, ISO dates, text); never raw SQL."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(int(value))
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        date.fromisoformat(text)  # raises on a bad date
        return f"DATE '{text}'"
    return "'" + text.replace("'", "''") + "'"


def id_prefix(col: str) -> tuple[str, dict[str, str]]:
    """An ID column's first 17 digits as BIGINT (``x``) and its last character's value
    (``x_l``: 0-9, 10 for X), computed once per row and shared by the GB 11643 check
    and the birth-date and gender rules. Most numbers end in a digit, so one cast of
    the whole value gives both; only those ending in X take a second cast."""
    x = "gs_idx_" + format(zlib.crc32(col.encode("utf-8")), "d")
    c = q(col)
    return x, {
        f"{x}_f": f"try_cast({c} AS BIGINT)",
        x: f"CASE WHEN {x}_f IS NOT NULL THEN {x}_f // 10 "
        f"ELSE try_cast(substr({c}, 1, 17) AS BIGINT) END",
        f"{x}_l": f"CASE WHEN {x}_f IS NOT NULL THEN CAST({x}_f % 10 AS INTEGER) "
        f"WHEN suffix({c}, 'X') THEN 10 END",
    }


def resident_id_ok(col: str, today: date) -> tuple[str, dict[str, str]]:
    """GB 11643 (18-character form) as integer arithmetic on the shared prefix ``x``.

    The weights are those of gongshu.identifiers (check value (12 - S mod 11) mod 11,
    10 written X); the region must be a GB/T 2260 code (a cast to the ENUM type
    ``gs_region`` built from identifiers' table: a dictionary lookup, no join, so the
    other columns of a wide table are not dragged through a hash join); the birth
    date must exist, be from 1900 on and not after ``today``. Stored values are
    checked as stored: the loader normalizes identifier columns, so a lower-case x
    or a space is an error.
    """
    x, derived = id_prefix(col)
    terms = " + ".join(f"(({x} // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(ID_WEIGHTS))
    ymd = f"CAST(({x} // 1000) % 100000000 AS INTEGER)"
    y, m, d = f"({ymd} // 10000)", f"(({ymd} // 100) % 100)", f"({ymd} % 100)"
    leap = f"(({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0)"
    mdays = (
        f"CASE WHEN {m} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END "
        f"WHEN {m} IN (4, 6, 9, 11) THEN 30 ELSE 31 END"
    )
    today_n = today.year * 10000 + today.month * 100 + today.day
    check = f"{x}_c"
    derived = {**derived, check: f"CAST((12 - ({terms}) % 11) % 11 AS INTEGER)"}
    body = (
        f"{x} >= 10000000000000000 AND strlen({q(col)}) = 18 AND {x}_l = {check} "
        f"AND {y} >= 1900 AND {m} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND {mdays} "
        f"AND {ymd} <= {today_n} "
        f"AND try_cast(substr({q(col)}, 1, 6) AS gs_region) IS NOT NULL"
    )
    return f"coalesce({body}, FALSE)", derived


def lookup_tables_sql(codes: list[str]) -> list[str]:
    """The region table (``gs_regions``, for region-code columns) and the ENUM type
    ``gs_region`` the GB 11643 check casts to; ``codes`` are gongshu.identifiers'."""
    values = ", ".join("'" + c + "'" for c in codes if c.isdigit() and len(c) == 6)
    return [
        "CREATE TEMP TABLE gs_regions AS SELECT unnest(?::INTEGER[]) AS code",
        f"CREATE TYPE gs_region AS ENUM ({values})",
    ]


def uscc_ok(col: str) -> str:
    v = f"upper(trim({q(col)}))"
    terms = " + ".join(
        f"(strpos('{USCC_CHARS}', substr({v}, {i + 1}, 1)) - 1) * {w}"
        for i, w in enumerate(USCC_WEIGHTS)
    )
    return (
        f"coalesce(regexp_full_match({v}, '[0-9A-HJ-NPQRTUWXY]{{18}}') AND "
        f"substr('{USCC_CHARS}', CAST((31 - ({terms}) % 31) % 31 AS INTEGER) + 1, 1) "
        f"= substr({v}, 18, 1), FALSE)"
    )


def region_ok(col: str) -> str:
    """GB/T 2260: a code identifiers knows (current or historical), by the ENUM cast."""
    return f"try_cast(CAST({q(col)} AS VARCHAR) AS gs_region) IS NOT NULL"


@dataclass
class Compiled:
    rule: dict
    checked: str  # SQL: the row is subject to the rule
    ok: str  # SQL: the row passes
    columns: tuple[str, ...]  # what an example shows
    derived: dict[str, str] = field(default_factory=dict)  # alias -> SQL, computed once


def compile_row_rule(rule: dict, today: date) -> Compiled | None:
    """The SQL of a row rule, or None for rules decided elsewhere (type, unique, table rules)."""
    exp, col = rule["expectation"], rule.get("column")
    c = q(col) if col else ""
    notnull = f"{c} IS NOT NULL"
    if exp == "expect_column_values_to_not_be_null":
        return Compiled(rule, "TRUE", notnull, (col,))
    if exp == "expect_column_values_to_be_between":
        parts = []
        if rule.get("min_value") is not None:
            parts.append(f"{c} >= {lit(rule['min_value'])}")
        if rule.get("max_value") is not None:
            parts.append(f"{c} <= {lit(rule['max_value'])}")
        return Compiled(rule, notnull, " AND ".join(parts) or "TRUE", (col,))
    if exp == "expect_column_values_to_be_in_set":
        values = ", ".join(lit(str(v)) for v in rule["value_set"])
        return Compiled(rule, notnull, f"CAST({c} AS VARCHAR) IN ({values})", (col,))
    if exp == "expect_column_values_to_be_valid_resident_id":
        ok, derived = resident_id_ok(col, today)
        return Compiled(rule, notnull, ok, (col,), derived)
    if exp == "expect_column_values_to_be_valid_uscc":
        return Compiled(rule, notnull, uscc_ok(col), (col,))
    if exp == "expect_column_values_to_be_valid_region_code":
        return Compiled(rule, notnull, region_ok(col), (col,))
    if exp == "expect_column_values_to_match_entity":
        pattern = lit(ENTITY_PATTERNS[rule["entity"]])
        return Compiled(
            rule,
            notnull,
            f"regexp_full_match(CAST({c} AS VARCHAR), {pattern})",
            (col,),
        )
    if exp in ("expect_resident_id_to_match_birth_date", "expect_resident_id_to_match_gender"):
        x, derived = id_prefix(col)
        shaped = f"{x} >= 10000000000000000 AND strlen({c}) = 18"
    if exp == "expect_resident_id_to_match_birth_date":
        b = q(rule["birth_column"])
        return Compiled(
            rule,
            f"{shaped} AND {b} IS NOT NULL",
            f"({x} // 1000) % 100000000 = year({b}) * 10000 + month({b}) * 100 + day({b})",
            (col, rule["birth_column"]),
            derived,
        )
    if exp == "expect_resident_id_to_match_gender":
        g = f"CAST({q(rule['gender_column'])} AS VARCHAR)"
        male = ", ".join(lit(v) for v in GENDER_SETS["男"])
        female = ", ".join(lit(v) for v in GENDER_SETS["女"])
        return Compiled(
            rule,
            f"{shaped} AND {g} IN ({male}, {female})",
            f"({x} % 2 = 1) = ({g} IN ({male}))",
            (col, rule["gender_column"]),
            derived,
        )
    return None


def flagged(compiled: list[Compiled], source: str, *, only: set[int] | None = None) -> str:
    """``source`` with each rule's flags (gs_chk_i, gs_fail_i) computed once per row,
    over the derived columns the rules share, in layers: ``_f`` (a cast), then the
    prefix and last character that read it, then ``_c`` (the check value). ``only``:
    the positions that need flags (all by default)."""
    chosen = [(i, c) for i, c in enumerate(compiled) if only is None or i in only]
    derived = {k: v for _, comp in chosen for k, v in comp.derived.items()}

    def layer(source: str, cols: dict[str, str]) -> str:
        if not cols:
            return source
        return f"(SELECT *, {', '.join(f'{v} AS {k}' for k, v in cols.items())} FROM {source})"

    source = layer(source, {k: v for k, v in derived.items() if k.endswith("_f")})
    source = layer(source, {k: v for k, v in derived.items() if k[-2:] not in ("_f", "_c")})
    source = layer(source, {k: v for k, v in derived.items() if k.endswith("_c")})
    flags = []
    for i, comp in chosen:
        flags += [
            f"coalesce({comp.checked}, FALSE) AS gs_chk_{i}",
            f"coalesce(({comp.checked}) AND NOT ({comp.ok}), FALSE) AS gs_fail_{i}",
        ]
    return f"(SELECT *, {', '.join(flags)} FROM {source})" if flags else source


def aggregate_sql(compiled: list[Compiled], maxes: list[str], source: str) -> str:
    """The one pass: per rule checked and failed counts, and the column maxima. A
    non-null rule is ``count(*) - count(column)``: no flag, so DuckDB need not read
    the column's values (the Parquet definition levels say which are null)."""
    parts, flags = ["count(*) AS gs_rows"], set()
    for i, comp in enumerate(compiled):
        if comp.rule["expectation"] == "expect_column_values_to_not_be_null":
            parts += [
                f"count(*) AS gs_checked_{i}",
                f"count(*) - count({q(comp.rule['column'])}) AS gs_failed_{i}",
            ]
            continue
        flags.add(i)
        parts += [
            f"count(*) FILTER (WHERE gs_chk_{i}) AS gs_checked_{i}",
            f"count(*) FILTER (WHERE gs_fail_{i}) AS gs_failed_{i}",
        ]
    for i, col in enumerate(maxes):
        parts.append(f"max({q(col)}) AS gs_max_{i}")
    return f"SELECT {', '.join(parts)} FROM {flagged(compiled, source, only=flags)}"


def examples_sql(failing: list[Compiled], source: str) -> str:
    """The first EXAMPLES failing rows of each failed rule, by file order. The WHERE
    keeps only failing rows, so the examples are built for those rows alone."""
    parts, where = [], []
    for i, comp in enumerate(failing):
        shown = ", ".join(f"{q(c)} := {q(c)}" for c in dict.fromkeys(comp.columns))
        parts.append(
            f"arg_min(struct_pack(gs_row := file_row_number, {shown}), file_row_number, "
            f"{EXAMPLES}) FILTER (WHERE gs_fail_{i}) AS gs_examples_{i}"
        )
        where.append(f"gs_fail_{i}")
    return f"SELECT {', '.join(parts)} FROM {flagged(failing, source)} WHERE {' OR '.join(where)}"
