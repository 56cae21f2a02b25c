"""Settings come from GONGSHU_* and refuse the placeholder secret outside demo mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from gongshu.config import PLACEHOLDER_SECRET, Settings
from gongshu.errors import InvalidInput


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GONGSHU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GONGSHU_PORT", "8123")
    s = Settings()
    assert s.data_dir == tmp_path and s.port == 8123
    assert s.db_url == f"sqlite:///{(tmp_path / 'gongshu.db').resolve()}"


def test_placeholder_secret_refused_outside_demo() -> None:
    with pytest.raises(InvalidInput, match="仍为占位值"):
        Settings(secret_key=PLACEHOLDER_SECRET).check_secret()
    Settings(secret_key=PLACEHOLDER_SECRET, demo=True).check_secret()
    Settings(secret_key="a-real-secret").check_secret()
