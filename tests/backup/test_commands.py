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


def test_backup_to_and_restore_from_object_storage(tmp_path: Path, s3_server) -> None:  # noqa: ANN001
    var = tmp_path / "var"
    env = {**SECRET, **s3_server.env("cli-instance")}
    assert gongshu("init", data_dir=var, env=env).returncode == 0
    url = f"s3://{s3_server.bucket}/cli-backup"
    r = gongshu("backup", url, data_dir=var, env=env)
    assert r.returncode == 0, r.stderr
    assert "备份已上传到对象存储" in r.stdout

    # a local instance (no GONGSHU_STORAGE_URL) reading the backup with the same S3 account
    reader = {k: v for k, v in env.items() if k != "GONGSHU_STORAGE_URL"}
    r = gongshu("restore", url, data_dir=tmp_path / "elsewhere", env=reader)
    assert r.returncode == 0, r.stderr
    assert "账本已按备份检查点校验通过" in r.stdout
