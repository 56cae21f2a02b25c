"""`--engine spark` runs the same kernels on Apache Spark (local mode) and gives the
same JSON as the in-process engine (issue 3 item 5)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gongshu.discovery import scan_paths
from gongshu.discovery import spark as spark_engine
from gongshu.errors import InvalidInput

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
) -> None:  # noqa: ANN001
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


def test_missing_java_is_a_clear_error(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(spark_engine, "_SESSION", [])
    monkeypatch.setattr(spark_engine.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(InvalidInput, match="Java not found"):
        spark_engine.session()
