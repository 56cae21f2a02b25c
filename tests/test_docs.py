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


PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "gongshu"
CAPABILITIES = sorted(
    p.parent.name
    for p in PACKAGE_ROOT.glob("*/__init__.py")
    if p.parent.name != "migrations"  # Alembic's own layout
)


@pytest.mark.parametrize("package", CAPABILITIES)
def test_every_capability_package_has_a_readme_naming_its_modules(package: str) -> None:
    readme = PACKAGE_ROOT / package / "README.md"
    assert readme.is_file(), f"{package}/README.md is missing"
    text = readme.read_text(encoding="utf-8")
    modules = sorted(p.name for p in (PACKAGE_ROOT / package).glob("*.py") if p.stem != "__init__")
    missing = [m for m in modules if m not in text]
    assert not missing, f"{package}/README.md does not name {missing}"
