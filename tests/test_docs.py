"""The README documents every setting and every command (Datasette's test_docs idea)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gongshu.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`GONGSHU_{name.upper()}`" in README


def test_every_command_is_documented() -> None:
    from gongshu import cli

    cli._mount_capability_commands()
    names = [c.name or c.callback.__name__ for c in cli.app.registered_commands]
    names += [g.name for g in cli.app.registered_groups]
    assert set(names) >= {"init", "serve", "demo", "user", "ledger", "load"}
    for name in names:
        assert f"gongshu {name}" in README, name
