"""`gongshu scan`: JSON on stdout only, a table for people, exit 1 on unreadable files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gongshu.discovery.commands import scan

from .conftest import Gen

DEV = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "discovery-dev"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("scan")(scan)
    app.command("noop")(lambda: None)  # keep "scan" a sub-command, as in gongshu.cli
    return app


def test_json_output_is_the_report_and_nothing_else(app: typer.Typer) -> None:
    path = f"{DEV}/./residents.csv"  # reported exactly as typed
    result = CliRunner().invoke(app, ["scan", path, "--json", "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["scanned_at"] == "2026-11-22"
    (table,) = report["tables"]
    assert table["source"] == path
    assert table["columns"][1] == {
        "name": "身份证号",
        "entities": ["CN_RESIDENT_ID"],
        "sensitive": True,
        "evidence": {"CN_RESIDENT_ID": {"matched": 1980, "checked": 1980}},
    }


def test_table_format_for_people(app: typer.Typer) -> None:
    result = CliRunner().invoke(
        app, ["scan", str(DEV / "payroll.csv"), "--format", "table", "--grades", "--sample", "500"]
    )
    assert result.exit_code == 0, result.output
    assert "bank_account" in result.stdout and "BANK_CARD" in result.stdout
    assert "敏感" in result.stdout and "mask_card" in result.stdout
    assert "2000 行" in result.stdout


def test_unreadable_file_exits_non_zero_after_printing_the_rest(
    app: typer.Typer, tmp_path: Path, gen: Gen
) -> None:
    good = tmp_path / "ok.csv"
    good.write_text(
        "xm,sjh\n" + "\n".join(f"{gen.name()},{gen.mobile()}" for _ in range(50)), encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "nope.xlsx"), str(good), "--json"])
    assert result.exit_code == 1
    first, second = json.loads(result.stdout)["tables"]
    assert "error" in first and "columns" not in first
    assert [c["entities"] for c in second["columns"]] == [["PERSON_NAME"], ["CN_MOBILE"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "不支持的输出格式"),
        (["--today", "22/11/2026"], "扫描日期格式错误"),
        (["--engine", "flink"], "不支持的扫描引擎"),
    ],
)
def test_bad_options_are_refused(app: typer.Typer, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["scan", str(DEV / "residents.csv"), *args])
    assert result.exit_code != 0
    assert message in str(result.exception)
