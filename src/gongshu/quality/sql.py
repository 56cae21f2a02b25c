"""Quality rules compiled to DuckDB SQL (the vocabulary is ``quality.rules``).

All row rules of a version compile into ONE aggregate query over the Parquet file
(checked and failed counts per rule, plus up to three failing rows per rule through
``arg_min(..., n)``), so the rules cost one pass whatever their number.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from datetime import date

from gongshu.identifiers import ID_WEIGHTS, USCC_CHARS, USCC_WEIGHTS
from gongshu.quality.rules import ENTITY_PATTERNS, EXAMPLES, GENDER_SETS


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
