"""The sandbox says what the operator wrote wrong, in Chinese, never DuckDB's English."""

from __future__ import annotations

import re

import duckdb
import pytest

from gongshu.operation.sqlerrors import explain


def _error(sql: str) -> str:
    con = duckdb.connect()
    con.execute('CREATE TABLE t ("姓名" VARCHAR, n INTEGER)')
    con.execute('CREATE TABLE u ("姓名" VARCHAR, n INTEGER)')
    with pytest.raises(duckdb.Error) as err:
        con.execute(sql).fetchall()
    return str(err.value)


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        ("selec 1", "在“selec”附近写法有误"),
        ("SELECT x FROM t", "字段“x”不存在"),
        ("SELECT * FROM nope", "数据表“nope”不存在或未获授权"),
        ("SELECT foo(n) FROM t", "函数“foo”不存在"),
        ("SELECT CAST('a' AS INTEGER)", "值“a”不能转换为整数"),
        ('SELECT "姓名", count(*) FROM t', "字段“姓名”须写进 GROUP BY"),
        ('SELECT "姓名" FROM t, u', "字段“姓名”在多张表中都有"),
    ],
)
def test_each_known_error_names_what_to_correct(sql: str, said: str) -> None:
    text = explain(_error(sql))
    assert said in text
    assert not re.search(r"[A-Za-z]{4,} (Error|error)", text)


def test_an_unknown_error_is_said_plainly() -> None:
    assert explain("Some Engine Error: something odd happened") == (
        "查询无法执行：请检查 SQL 语句中的表名、字段名和函数是否正确"
    )
