"""The sandbox is closed (OPR-4): no files, no network, one SELECT, time and memory limits,
only granted columns. Every attempt is refused and recorded with its rule."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gongshu.operation import runs
from gongshu.operation.errors import ExportRefused
from gongshu.operation.models import SandboxRun


@pytest.fixture
def agreement(authorize, open_entry):  # noqa: ANN001, ANN201
    # Only two columns granted: 姓名 and 公民身份号码 are not in the sandbox at all.
    return authorize([{"entry_id": open_entry.id, "columns": ["街道", "月收入"]}])


def refused(session, agreement, op, sql, settings):  # noqa: ANN001, ANN201
    with pytest.raises(ExportRefused) as exc:
        runs.run_query(session, agreement.id, sql, actor=op, settings=settings)
    run = session.scalar(select(SandboxRun).order_by(SandboxRun.id.desc()).limit(1))
    assert run.status == "refused" and run.reason in exc.value.message
    return run


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT count(*) FROM read_parquet('/tmp/*.parquet')",
        "SELECT * FROM read_text('https://example.com/')",
    ],
)
def test_no_file_or_network_access(session, op, agreement, rs, sql):  # noqa: ANN001
    run = refused(session, agreement, op, sql, rs())
    assert run.rule in {"table_function", "external_access"}


@pytest.mark.parametrize(
    "sql",
    [
        "COPY entry_{id} TO '/tmp/leak.csv'",
        "ATTACH '/tmp/other.db' AS other",
        "INSTALL httpfs",
        "SET enable_external_access = true",
        "CREATE TABLE x AS SELECT 1",
    ],
)
def test_only_select_statements(session, op, agreement, open_entry, rs, sql):  # noqa: ANN001
    run = refused(session, agreement, op, sql.format(id=open_entry.id), rs())
    assert run.rule == "select_only"


def test_one_statement_only(session, op, agreement, open_entry, rs):  # noqa: ANN001
    sql = f"SELECT count(*) FROM entry_{open_entry.id}; SELECT 1"
    assert refused(session, agreement, op, sql, rs()).rule == "one_statement"


def test_file_functions_in_expressions_are_blocked(session, op, agreement, open_entry, rs):  # noqa: ANN001
    sql = f"SELECT count(*) FROM entry_{open_entry.id} WHERE 街道 IN (SELECT * FROM glob('/*'))"
    assert refused(session, agreement, op, sql, rs()).rule in {"table_function", "external_access"}


def test_time_limit_on_a_long_aggregate(session, op, agreement, open_entry, rs):  # noqa: ANN001
    t = f"entry_{open_entry.id}"
    sql = f"SELECT a.街道, count(*) FROM {t} a, {t} b, {t} c, {t} d, {t} e, {t} f GROUP BY a.街道"
    run = refused(session, agreement, op, sql, rs(timeout=0.3))
    assert run.rule == "time_limit" and "时间限制" in run.reason


def test_memory_limit_stops_the_query(session, op, agreement, open_entry, rs):  # noqa: ANN001
    t = f"entry_{open_entry.id}"
    sql = (
        f"SELECT a.街道, count(DISTINCT a.月收入 || b.月收入 || c.月收入 || d.月收入 || e.月收入) "
        f"FROM {t} a, {t} b, {t} c, {t} d, {t} e GROUP BY a.街道"
    )
    run = refused(session, agreement, op, sql, rs(memory_limit="16MB", timeout=60))
    assert run.rule == "memory_limit" and "内存限制" in run.reason


def test_a_column_not_granted_is_not_there(session, op, agreement, open_entry, rs):  # noqa: ANN001
    sql = f"SELECT 公民身份号码, count(*) FROM entry_{open_entry.id} GROUP BY 1"
    run = refused(session, agreement, op, sql, rs())
    assert run.rule == "query_error" and "公民身份号码" in run.reason


def test_an_entry_not_granted_is_not_there(session, op, agreement, closed_entry, rs):  # noqa: ANN001
    sql = f"SELECT 街道, count(*) FROM entry_{closed_entry.id} GROUP BY 1"
    assert refused(session, agreement, op, sql, rs()).rule == "not_granted"


def test_configuration_cannot_be_changed(session, op, agreement, open_entry, rs):  # noqa: ANN001
    sql = "SELECT current_setting('enable_external_access') AS v, count(*) AS n FROM entry_{id}"
    run = runs.run_query(
        session, agreement.id, sql.format(id=open_entry.id), actor=op, settings=rs()
    )
    assert run.status == "passed"
    from gongshu import storage

    table = storage.open_file(rs().datasets_dir, run.result_path)  # sealed whole
    assert table.column("v").to_pylist() == [False]
