"""``gongshu ledger verify | export | verify-export`` against real SQLite files."""

from __future__ import annotations

import json
import shutil
import sqlite3
import warnings
from pathlib import Path

import pytest

from gongshu.capabilities import import_all_models
from gongshu.config import Settings
from gongshu.db import Base, make_engine, make_session_factory, transaction
from gongshu.ledger import checkpoint, record
from gongshu.ledger.keys import InstanceKey

# typer 0.23 touches click.utils.get_binary_stream, deprecated in click 8.5; the
# suite turns warnings into errors, so import it once with that warning muted.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'click.utils", DeprecationWarning)
    from typer.testing import CliRunner

    from gongshu.ledger.commands import ledger_app

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An instance with 10 entries and one checkpoint at 8, committed to its SQLite file."""
    monkeypatch.delenv("GONGSHU_DATABASE_URL", raising=False)
    settings = Settings(data_dir=tmp_path / "var")
    import_all_models()
    engine = make_engine(settings.db_url)
    Base.metadata.create_all(engine)
    key = InstanceKey.load_or_create(settings.keys_dir)
    with transaction(make_session_factory(engine)) as session:
        for i in range(10):
            record(
                session,
                "catalog.published",
                actor="user:1",
                subject=f"entry:{i}",
                payload={"version": i},
            )
            if i == 7:
                checkpoint(session, key)
    engine.dispose()
    return settings.data_dir


def _copy_and_edit(data_dir: Path, sql: str) -> Path:
    copy = data_dir.parent / "copy"
    shutil.copytree(data_dir, copy)
    with sqlite3.connect(copy / "gongshu.db") as conn:
        conn.execute(sql)
    return copy


def test_verify_passes_on_the_original(data_dir: Path) -> None:
    result = runner.invoke(ledger_app, ["verify", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "账本校验通过：10 条记录，1 个检查点"


def test_verify_fails_naming_the_edited_row(data_dir: Path) -> None:
    copy = _copy_and_edit(
        data_dir, "UPDATE ledger_entries SET payload = '{\"version\": 99}' WHERE position = 4"
    )
    result = runner.invoke(ledger_app, ["verify", "--data-dir", str(copy)])
    assert result.exit_code == 1
    assert result.output.startswith("账本校验失败：第 4 条")
    # the original is still fine
    assert runner.invoke(ledger_app, ["verify", "--data-dir", str(data_dir)]).exit_code == 0


def test_verify_fails_on_a_deleted_row(data_dir: Path) -> None:
    copy = _copy_and_edit(data_dir, "DELETE FROM ledger_entries WHERE position = 2")
    result = runner.invoke(ledger_app, ["verify", "--data-dir", str(copy)])
    assert result.exit_code == 1 and "第 2 条记录缺失" in result.output


def test_verify_with_a_foreign_public_key_fails(data_dir: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.pem"
    foreign.write_text(InstanceKey.generate().public_pem())
    args = ["verify", "--data-dir", str(data_dir), "--public-key", str(foreign)]
    result = runner.invoke(ledger_app, args)
    assert result.exit_code == 1 and "由其他密钥签名" in result.output


def test_export_then_verify_export(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "heads.json"
    result = runner.invoke(ledger_app, ["export", "--data-dir", str(data_dir), "-o", str(out)])
    assert result.exit_code == 0
    heads = json.loads(out.read_text(encoding="utf-8"))
    assert [h["tree_size"] for h in heads] == [8]
    stdout = runner.invoke(ledger_app, ["export", "--data-dir", str(data_dir)])
    assert json.loads(stdout.stdout) == heads

    ok = runner.invoke(ledger_app, ["verify-export", str(out), "--data-dir", str(data_dir)])
    assert ok.exit_code == 0 and "1 个检查点" in ok.output

    copy = _copy_and_edit(data_dir, "UPDATE ledger_entries SET actor = 'user:2' WHERE position = 6")
    bad = runner.invoke(ledger_app, ["verify-export", str(out), "--data-dir", str(copy)])
    assert bad.exit_code == 1 and "第 6 条" in bad.output


def test_verify_export_refuses_a_file_that_is_not_an_export(data_dir: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"not": "a list"}')
    result = runner.invoke(ledger_app, ["verify-export", str(junk), "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and "格式错误" in result.stderr


def test_verify_without_a_database_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("GONGSHU_DATABASE_URL", raising=False)
    result = runner.invoke(ledger_app, ["verify", "--data-dir", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "无法读取账本" in result.stderr
