"""`--engine spark` runs the same kernels on Apache Spark (local mode) and gives the
same JSON as the in-process engine (issue 3 item 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from gongshu.discovery import scan_paths
from gongshu.discovery import spark as spark_engine
from gongshu.errors import InvalidInput
from gongshu.spark import context as spark_session

TODAY = date(2026, 11, 22)


@pytest.fixture(scope="module")
def spark():  # noqa: ANN201
    yield spark_engine.session()
    spark_engine.stop()


def test_dev_set_json_equals_the_local_engine(spark, shared_dir: Path) -> None:  # noqa: ANN001
    dev = shared_dir / "datasets" / "discovery-dev"
    paths = [dev / f for f in json.loads((dev / "labels.json").read_text(encoding="utf-8"))]
    local = scan_paths(paths, today=TODAY)
    assert scan_paths(paths, today=TODAY, engine="spark") == local
    assert scan_paths(paths, today=TODAY, engine="spark", sample_rows=300) == scan_paths(
        paths, today=TODAY, sample_rows=300
    )


def test_a_table_longer_than_the_head_plans_then_counts_on_spark(
    spark,
    tmp_path,  # noqa: ANN001
    gen,
    monkeypatch,
) -> None:  # noqa: ANN001
    # Small row groups: the rows past the head are spread over several Spark tasks.
    monkeypatch.setattr(spark_engine, "STAGED_BATCH_ROWS", 4_000)
    path = tmp_path / "long.csv"
    rows = ["xm,sfzh,lxdh,bz"]
    for i in range(25_000):
        # The tail differs from the head: whatever the head plan decides, both engines
        # must decide alike.
        note = f"联系电话{gen.mobile()}" if i > 20_000 and i % 3 == 0 else "已办结"
        rows.append(f"{gen.name()},{gen.resident_id()},{gen.mobile()},{note}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    local = scan_paths([path], today=TODAY)
    assert scan_paths([path], today=TODAY, engine="spark") == local
    assert local["tables"][0]["rows"] == 25_000


def test_gbk_csv_xlsx_and_typed_parquet_give_the_same_answer_on_spark(
    spark,
    tmp_path,  # noqa: ANN001
    gen,
) -> None:  # noqa: ANN001
    n = 400
    names = [gen.name() for _ in range(n)]
    ids = [gen.resident_id() for _ in range(n)]
    mobiles = [gen.mobile() for _ in range(n)]
    csv = tmp_path / "gbk.csv"
    lines = ["姓名,身份证号,手机"] + [",".join(r) for r in zip(names, ids, mobiles, strict=True)]
    csv.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    xlsx = tmp_path / "people.xlsx"
    wb = Workbook()
    wb.active.append(["姓名", "身份证号", "手机"])
    for row in zip(names, ids, mobiles, strict=True):
        wb.active.append(list(row))
    wb.save(xlsx)
    typed = tmp_path / "typed.parquet"
    pq.write_table(
        pa.table(
            {
                "mobile": pa.array([int(m) for m in mobiles], pa.int64()),
                "lng": [round(gen.r.uniform(110, 120), 6) for _ in range(n)],
                "lat": [round(gen.r.uniform(25, 35), 6) for _ in range(n)],
                "sfzh": ids,
            }
        ),
        typed,
    )
    local = scan_paths([csv, xlsx, typed], today=TODAY)
    assert scan_paths([csv, xlsx, typed], today=TODAY, engine="spark") == local
    gbk, sheet, parquet = local["tables"]
    assert gbk["encoding"] in ("gbk", "gb18030")
    assert [c["entities"] for c in sheet["columns"]] == [
        ["PERSON_NAME"],
        ["CN_RESIDENT_ID"],
        ["CN_MOBILE"],
    ]
    assert [c["entities"] for c in parquet["columns"]] == [
        ["CN_MOBILE"],
        ["GEO_COORDINATE"],
        ["GEO_COORDINATE"],
        ["CN_RESIDENT_ID"],
    ]


def test_cli_engine_spark(spark, shared_dir: Path) -> None:  # noqa: ANN001
    import typer

    from gongshu.discovery.commands import scan

    app = typer.Typer()
    app.command()(scan)
    residents = shared_dir / "datasets" / "discovery-dev" / "residents.csv"
    r = CliRunner().invoke(
        app, [str(residents), "--json", "--engine", "spark", "--today", "2026-11-22"]
    )
    assert r.exit_code == 0, r.output
    assert (
        json.loads(r.stdout)["tables"][0]["rows"]
        == scan_paths([residents], today=TODAY)["tables"][0]["rows"]
    )


def test_missing_java_is_a_clear_error_before_any_file_is_read(
    monkeypatch,
    tmp_path,  # noqa: ANN001
) -> None:
    monkeypatch.setattr(spark_session, "_SESSION", [])
    monkeypatch.setattr(spark_session.shutil, "which", lambda name: None)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    assert not spark_session.java_available()
    with pytest.raises(spark_engine.SparkUnavailable, match="需要 Java 运行环境") as caught:
        scan_paths([tmp_path / "missing.csv"], today=TODAY, engine="spark")
    assert "JAVA_HOME" in caught.value.message
    assert isinstance(caught.value, InvalidInput)  # the CLI prints it as 错误：... and exits 1


def test_java_under_java_home_is_found(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_text("", encoding="utf-8")
    monkeypatch.setattr(spark_session.shutil, "which", lambda name: None)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert spark_session.java_available()


def test_missing_pyspark_is_a_clear_error(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(spark_session, "_SESSION", [])
    monkeypatch.setattr(spark_session, "java_available", lambda: True)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import fails as if not installed
    with pytest.raises(spark_engine.SparkUnavailable, match="Spark 引擎需要 pyspark"):
        spark_session.session()


def test_a_java_that_cannot_start_spark_is_a_clear_cli_error(tmp_path: Path) -> None:
    # A separate process: this one already has a SparkSession, which getOrCreate reuses.
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho broken jvm >&2\nexit 1\n", encoding="utf-8")
    java.chmod(0o755)
    csv = tmp_path / "a.csv"
    csv.write_text("xm\n张三\n", encoding="utf-8")
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "jdk")}
    code = "from gongshu.cli import main; main()"
    r = subprocess.run(
        [sys.executable, "-c", code, "scan", str(csv), "--engine", "spark"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 1
    assert "错误：Spark 引擎无法启动" in r.stderr
    assert "Traceback" not in r.stderr


def test_free_text_json_masked_and_split_columns_give_the_same_json_on_spark(
    spark,  # noqa: ANN001
    tmp_path: Path,
    monkeypatch,  # noqa: ANN001
) -> None:
    """Issue 21: the new kinds (embedded entities, JSON paths, masked and split values,
    mixed owners) add up the same way over Spark tasks."""
    from .exports import write_exports

    monkeypatch.setattr(spark_engine, "STAGED_BATCH_ROWS", 100)  # several tasks per table
    labels = write_exports(tmp_path, seed=8, rows=300)
    paths = [tmp_path / f for f in labels]
    local = scan_paths(paths, today=TODAY)
    assert scan_paths(paths, today=TODAY, engine="spark") == local
    assert any("embedded" in c for t in local["tables"] for c in t["columns"])
