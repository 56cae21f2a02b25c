"""`gongshu backup` and `gongshu restore` as a user runs them: a real process."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import gongshu

SECRET = {"GONGSHU_SECRET_KEY": "cli-backup-secret-0123456789"}


def test_backup_and_restore_from_the_command_line(tmp_path: Path) -> None:
    var = tmp_path / "var"
    assert gongshu("init", data_dir=var, env=SECRET).returncode == 0
    assert gongshu("region", "add", "360000", "江西省", data_dir=var, env=SECRET).returncode == 0
    r = gongshu("backup", str(tmp_path / "b"), data_dir=var, env=SECRET)
    assert r.returncode == 0, r.stderr
    assert "备份完成" in r.stdout and (tmp_path / "b" / "manifest.json").exists()

    wrong = {"GONGSHU_SECRET_KEY": "not-the-secret-of-that-instance"}
    r = gongshu("restore", str(tmp_path / "b"), data_dir=tmp_path / "x", env=wrong)
    assert r.returncode == 1 and "实例密钥与备份时不同" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "x").exists()

    r = gongshu("restore", str(tmp_path / "b"), data_dir=tmp_path / "elsewhere", env=SECRET)
    assert r.returncode == 0, r.stderr
    assert "账本已按备份检查点校验通过" in r.stdout
    r = gongshu("ledger", "verify", data_dir=tmp_path / "elsewhere", env=SECRET)
    assert r.returncode == 0 and "账本校验通过" in r.stdout
    r = gongshu("restore", str(tmp_path / "b"), data_dir=tmp_path / "elsewhere", env=SECRET)
    assert r.returncode == 1 and "恢复目标须为空目录" in r.stderr
