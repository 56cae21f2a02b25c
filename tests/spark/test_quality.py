"""Quality rules with the row pass on the cluster give the in-process report (issue 19
item 2): every count, maximum and first failing row, for a plain file read by the
executors row group by row group and for a stored version with a sealed column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from gongshu.quality.engine import evaluate
from tests.quality.test_vector import LOADED, RULES, TODAY, _table

MORE = [
    {"id": "m1", "expectation": "expect_column_max_to_be_recent", "column": "出生日期",
     "max_age_days": 30},
    {"id": "m2", "expectation": "expect_column_values_to_be_of_type", "column": "联系电话",
     "type": "string"},
    {"id": "m3", "expectation": "expect_compound_columns_to_be_unique",
     "column_list": ["性别", "出生日期"]},
    {"id": "m4", "expectation": "expect_version_on_schedule", "max_interval_days": 31},
    {"id": "m5", "expectation": "expect_column_values_to_not_be_null", "column": "出生日期"},
]  # fmt: skip


def _report(path, cluster: bool) -> tuple[int, list[dict]]:  # noqa: ANN001
    rows, results = evaluate(
        path,
        RULES + MORE,
        fields=[],
        today=TODAY,
        loaded_at=LOADED,
        previous_loaded_at=LOADED - dt.timedelta(days=40),
        cluster=cluster,
    )
    return rows, [r.to_dict() for r in results]


def test_a_plain_file_checked_on_the_cluster_gives_the_same_report(
    on_cluster,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    path = tmp_path / "planted.parquet"
    pq.write_table(_table(3000), path, row_group_size=400)  # eight row groups, two workers
    here, there = _report(path, False), _report(path, True)
    assert there == here
    by_id = {r["id"]: r for r in there[1]}
    assert there[0] == 3000
    assert by_id["r1"]["failed"] > 200 and len(by_id["r1"]["examples"]) == 3
    assert by_id["r5"]["failed"] > 200 and by_id["m3"]["failed"] > 0
    assert by_id["m4"]["failed"] == 1 and by_id["m1"]["checked"] == 1
    # the first failing rows come from the first row groups, whoever checked them
    assert [e["gs_row"] for e in by_id["r7"]["examples"]] == sorted(
        e["gs_row"] for e in by_id["r7"]["examples"]
    )


def test_a_sealed_version_checked_on_the_cluster_gives_the_same_report(
    on_cluster,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    from gongshu import storage
    from gongshu.protect.keystore import FileKeyStore
    from gongshu.storage.files import write_version
    from gongshu.storage.models import DatasetVersion

    ds = tmp_path / "datasets"
    storage.unlock(ds, FileKeyStore(tmp_path / "keys" / "keystore.json", "spark-quality-secret"))
    table: pa.Table = _table(2500)
    stored = write_version(
        None, ds, "entry-1/v1", table.schema, table.to_batches(max_chunksize=700), ["公民身份号码"]
    )
    version = DatasetVersion(path=stored.path, sealed=stored.sealed)
    assert version.sealed
    assert _report((ds, version), True) == _report((ds, version), False)
