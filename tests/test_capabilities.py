"""The one registry of capabilities (gongshu.capabilities)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gongshu import capabilities
from gongshu.capability import Capability

SRC = Path(__file__).resolve().parents[1] / "src" / "gongshu"


def test_every_reference_of_every_capability_resolves() -> None:
    capabilities.load_all()
    names = [c.name for c in capabilities.all_capabilities()]
    assert names == list(capabilities.NAMES)


def test_every_router_module_is_declared() -> None:
    """A routes or pages module nobody declared would silently not be served."""
    declared = {ref for c in capabilities.all_capabilities() for ref in c.routers}
    nested = {"gongshu.compliance.pages_audits:pages", "gongshu.compliance.pages_register:pages"}
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        module = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        for attr in re.findall(r"^(router|pages) = APIRouter", text, flags=re.M):
            ref = f"{module}:{attr}"
            assert ref in declared or ref in nested, f"{ref} is in no Capability.routers"


def test_a_misspelt_capability_fails_loudly_with_its_name(monkeypatch) -> None:
    monkeypatch.setattr(capabilities, "NAMES", (*capabilities.NAMES, "privacyy"))
    capabilities.all_capabilities.cache_clear()
    try:
        with pytest.raises(capabilities.CapabilityError, match="privacyy"):
            capabilities.all_capabilities()
    finally:
        capabilities.all_capabilities.cache_clear()


def test_a_broken_reference_names_its_capability() -> None:
    broken = Capability(name="quality", label="x", routers=("gongshu.quality.pagez:pages",))
    with pytest.raises(capabilities.CapabilityError, match="quality.*gongshu.quality.pagez"):
        capabilities.resolve(broken, broken.routers[0])


def test_nothing_else_lists_capabilities() -> None:
    """The hand-kept lists the registry replaced stay gone."""
    gone = re.compile(r"\b(CAPABILITIES|MODEL_MODULES|HANDLER_MODULES|TEMPLATE_DIRS)\s*[:=]")
    offenders = [
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if gone.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    fallback = re.compile(r"capability not written yet")
    assert [p for p in SRC.rglob("*.py") if fallback.search(p.read_text("utf-8"))] == []
