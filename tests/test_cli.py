"""The `gongshu` command as a user runs it: a real process, a real instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def gongshu(*args: str, data_dir: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "GONGSHU_DATA_DIR": str(data_dir), **(env or {})}
    environ.pop("GONGSHU_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "gongshu", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["serve"],
        ["demo"],
        ["user", "add"],
        ["ledger", "verify"],
        ["load"],
        ["org", "add"],
        ["trace"],
        ["worker"],
        ["scan"],
        ["keys", "rotate"],
        ["keys", "reseal"],
    ],
)
def test_help(command: list[str], tmp_path: Path) -> None:
    r = gongshu(*command, "--help", data_dir=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Usage" in r.stdout


def test_bootstrap_an_instance_and_refuse_bad_input(tmp_path: Path) -> None:
    var = tmp_path / "var"
    assert "实例已就绪" in gongshu("init", data_dir=var).stdout
    assert gongshu("init", data_dir=var).returncode == 0  # again: nothing to do
    assert gongshu("region", "add", "360000", "江西省", data_dir=var).returncode == 0
    r = gongshu(
        "org", "add", "江西省数据局", "--kind", "data_authority", "--region", "360000", data_dir=var
    )
    assert r.returncode == 0, r.stderr
    r = gongshu(
        "user",
        "add",
        "li",
        "--org",
        "江西省数据局",
        "--role",
        "reviewer",
        "--password",
        "a-long-password",
        data_dir=var,
    )
    assert r.returncode == 0 and "li" in r.stdout

    # User errors: one line in Chinese naming what was wrong, exit 1, no traceback.
    for args, key in [
        (("region", "add", "369999", "无此地"), "行政区划代码无效"),
        (
            (
                "user",
                "add",
                "li",
                "--org",
                "江西省数据局",
                "--role",
                "reviewer",
                "--password",
                "a-long-password",
            ),
            "用户名已存在",
        ),
        (
            ("user", "add", "wang", "--org", "不存在", "--role", "clerk", "--password", "x" * 9),
            "机构不存在",
        ),
        (("load", "NO-SUCH", str(tmp_path / "x.csv"), "--as", "li"), "目录不存在"),
    ]:
        r = gongshu(*args, data_dir=var)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert key in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_serve_refuses_the_placeholder_secret(tmp_path: Path) -> None:
    r = gongshu("serve", data_dir=tmp_path / "var")
    assert r.returncode == 1 and "仍为占位值" in r.stderr


def test_serve_refuses_a_database_not_at_head(tmp_path: Path) -> None:
    r = gongshu("serve", data_dir=tmp_path / "var", env={"GONGSHU_SECRET_KEY": "s" * 32})
    assert r.returncode == 1 and "gongshu init" in r.stderr


def test_keys_rotate_and_reseal(tmp_path: Path) -> None:
    """SEC-9: a new data key without downtime; older versions move to it on reseal."""
    var = tmp_path / "var"
    env = {"GONGSHU_SECRET_KEY": "cli-test-secret-key"}
    assert gongshu("init", data_dir=var, env=env).returncode == 0
    first = gongshu("keys", "rotate", data_dir=var, env=env)
    assert first.returncode == 0, first.stderr
    second = gongshu("keys", "rotate", data_dir=var, env=env)
    assert second.stdout.split("：")[1].split("；")[0] != first.stdout.split("：")[1].split("；")[0]
    r = gongshu("keys", "reseal", data_dir=var, env=env)
    assert r.returncode == 0, r.stderr
    assert "新加密 0 个版本" in r.stdout
    # The key store on disk holds wrapped keys only.
    doc = (var / "keys" / "keystore.json").read_text(encoding="utf-8")
    assert "cli-test-secret-key" not in doc
