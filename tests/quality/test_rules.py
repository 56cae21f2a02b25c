"""The SQL form of the GB 11643 check agrees with gongshu.identifiers on every kind of
bad number; the rule vocabulary refuses what it cannot run."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gongshu.errors import InvalidInput
from gongshu.identifiers import id_check_char, resident_id_mask
from gongshu.quality.engine import evaluate
from gongshu.quality.rules import validate
from gongshu.quality.sql import lit

TODAY = dt.date(2026, 12, 1)


def _ids(n: int) -> list[str]:
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        region = rng.choice(["360102", "110101", "440305", "999999", "360100"])
        y, m, d = int(rng.integers(1890, 2030)), int(rng.integers(0, 14)), int(rng.integers(0, 33))
        base = f"{region}{y:04d}{m:02d}{d:02d}{i % 1000:03d}"
        value = base + id_check_char(base)
        kind = i % 6
        if kind == 1:  # wrong check character
            value = value[:17] + ("0" if value[17] != "0" else "1")
        elif kind == 2:  # lower-case x or a letter inside
            value = value[:17] + "x" if value[17] == "X" else value[:5] + "A" + value[6:]
        elif kind == 3:
            value = value[:17]  # too short
        out.append(value)
    return out


def test_sql_resident_id_check_matches_the_vectorized_one(tmp_path) -> None:  # noqa: ANN001
    ids = _ids(3000)
    path = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"号码": ids}), path)
    rule = {
        "id": "r1",
        "expectation": "expect_column_values_to_be_valid_resident_id",
        "column": "号码",
    }
    _, (res,) = evaluate(
        path,
        [rule],
        fields=[{"name": "号码"}],
        today=TODAY,
        loaded_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        previous_loaded_at=None,
    )
    # identifiers normalizes before checking; stored values are checked as stored, so a
    # lower-case x (which the loader would have upper-cased) is an error here.
    ok = resident_id_mask(pa.array(ids), today=TODAY) & ~np.array([v.endswith("x") for v in ids])
    assert 500 < res.failed == int((~ok).sum())
    first_bad = int(np.flatnonzero(~ok)[0])
    assert res.examples[0]["gs_row"] == first_bad


def test_literals_are_quoted_and_bad_rules_are_refused() -> None:
    assert lit("a'b") == "'a''b'" and lit("2026-01-31") == "DATE '2026-01-31'"
    with pytest.raises(ValueError):
        lit("2026-02-31")
    with pytest.raises(InvalidInput, match="检查项无效"):
        validate([{"expectation": "drop table", "column": "a"}], {"a"})
    with pytest.raises(InvalidInput, match="第 1 条规则的合格率阈值须在 0 到 1 之间"):
        validate(
            [{"expectation": "expect_column_values_to_not_be_null", "column": "a", "mostly": 2}],
            {"a"},
        )


def test_compound_uniqueness_rule_is_validated() -> None:
    rule = {"expectation": "expect_compound_columns_to_be_unique", "column_list": ["a", "b"]}
    assert validate([rule], {"a", "b"})[0]["id"] == "r1"
    with pytest.raises(InvalidInput, match=r"第 1 条规则.*须给出至少两个不同的字段"):
        validate([{**rule, "column_list": ["a", "a"]}], {"a", "b"})
    with pytest.raises(InvalidInput, match=r"须给出至少两个不同的字段"):
        validate([{"expectation": "expect_compound_columns_to_be_unique"}], {"a"})
    with pytest.raises(InvalidInput, match=r"第 1 条规则的字段不在目录中：c"):
        validate([{**rule, "column_list": ["a", "c"]}], {"a", "b"})


def test_compound_uniqueness_counts_repeated_combinations(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "pairs.parquet"
    a = ["x", "x", "y", "x", None, None, "y", None, "z"]
    b = [1, 2, 1, 1, 5, 5, 1, None, None]
    pq.write_table(pa.table({"a": a, "b": b}), path)
    rule = {
        "id": "r1",
        "expectation": "expect_compound_columns_to_be_unique",
        "column_list": ["a", "b"],
    }
    _, (res,) = evaluate(
        path,
        [rule],
        fields=[],
        today=TODAY,
        loaded_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        previous_loaded_at=None,
    )
    # (x,1) x2, (y,1) x2, (None,5) x2 repeat; the all-missing row 7 is not checked
    assert (res.checked, res.failed) == (8, 3)
    assert res.examples == [
        {"gs_row": 0, "a": "x", "b": 1, "重复次数": 2},
        {"gs_row": 2, "a": "y", "b": 1, "重复次数": 2},
        {"gs_row": 4, "a": None, "b": 5, "重复次数": 2},
    ]
    assert res.to_dict()["column"] == "a、b" and res.to_dict()["dimension"] == "uniqueness"
