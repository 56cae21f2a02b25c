"""The door's query: cached small pages equal the DuckDB query, counts are cached."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gongshu.egress import query
from gongshu.egress.errors import BadRowFilter


@pytest.fixture
def stored(tmp_path: Path) -> str:
    n = 2500
    table = pa.table({"编号": [f"N{i:05d}" for i in range(n)], "区": ["东湖", "西湖"] * (n // 2)})
    path = tmp_path / "v1.parquet"
    pq.write_table(table, path, row_group_size=700)  # pages cross row-group boundaries
    return str(path)


@pytest.mark.parametrize(("offset", "limit"), [(0, 100), (650, 100), (699, 702), (2450, 100)])
def test_small_pages_from_cached_row_groups_equal_the_query(stored, offset, limit) -> None:  # noqa: ANN001
    q = query.Query(stored, ["区", "编号"], row_ids=True)
    fast = query.small_page(q, offset, limit)
    sql, args = q.select(offset, limit)
    slow = query.connection().sql(sql, params=args).to_arrow_table()
    assert fast is not None and fast.to_pylist() == slow.to_pylist()
    assert fast.column("_id")[0].as_py() == offset + 1


def test_filtered_pages_go_to_duckdb_and_counts_are_cached(stored) -> None:  # noqa: ANN001
    q = query.Query(stored, ["编号"])
    q.and_where(*query.compile_filter([{"column": "区", "op": "=", "value": "西湖"}], {"区"}))
    assert query.small_page(q, 0, 10) is None
    con = query.connection()
    assert q.count(con, 1, 2500) == 1250
    assert (1, stored, q.where, tuple(q.params)) in query._COUNTS
    assert query.Query(stored, ["编号"]).count(con, 1, 2500) == 2500  # no predicate: stored rows
    with pytest.raises(BadRowFilter):
        query.compile_filter([{"column": "编号", "op": "like", "value": "%"}], {"编号"})
