"""The one list of capabilities, and what the rest of the platform reads from it.

``NAMES`` is the only place a capability is listed: each names a package whose
``__init__.py`` declares ``CAPABILITY`` (``gongshu.capability.Capability``). The
order matters where order shows: routers match in this order (the open API's
CKAN router first: harvesters and API clients are the busiest paths), tables are
defined in it, demo seeds run in it.

A name that cannot be imported, or a package without a ``CAPABILITY``, or a
reference inside one that does not resolve, raises ``CapabilityError`` naming the
capability, at start-up: there is no "not written yet" fallback.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from gongshu.capability import Capability, DemoSeed, install

NAMES: tuple[str, ...] = (
    "opendata",  # its CKAN router matches first (see above)
    "ledger",
    "accounts",
    "workdays",
    "jobs",
    "discovery",
    "storage",
    "catalog",
    "egress",
    "instruments",
    "datasets",
    "exchange",
    "registration",
    "operation",
    "federation",
    "quality",
    "market",
    "compliance",
    "privacy",
    "demo",
    "backup",
    "app",
)


class CapabilityError(RuntimeError):
    """A capability that cannot be loaded; the message names it."""


@functools.cache
def all_capabilities() -> tuple[Capability, ...]:
    found = []
    for name in NAMES:
        try:
            module = importlib.import_module(f"gongshu.{name}")
        except ImportError as exc:
            raise CapabilityError(f"能力 {name} 无法加载：{exc}") from exc
        capability = getattr(module, "CAPABILITY", None)
        if not isinstance(capability, Capability):
            raise CapabilityError(f"能力 {name} 未声明 CAPABILITY")
        if capability.name != name:
            raise CapabilityError(f"能力 {name} 声明的名称是 {capability.name}")
        found.append(capability)
    return tuple(found)


def resolve(capability: Capability, ref: str) -> Any:  # noqa: ANN401
    """``"module:attr"`` (or a module path) declared by ``capability``, imported."""
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr) if attr else module
    except (ImportError, AttributeError) as exc:
        raise CapabilityError(f"能力 {capability.name} 的 {ref} 无法加载：{exc}") from exc


def _each(field: str) -> Iterator[tuple[Capability, Any]]:
    for capability in all_capabilities():
        for item in getattr(capability, field):
            yield capability, item


def load_all() -> None:
    """Resolve every reference of every capability (start-up: fail now, not later)."""
    import_all_models()
    for field in (
        "routers",
        "jobs",
        "home",
        "gates",
        "clocks",
        "entry_sections",
        "registration_sections",
        "mine",
    ):
        for capability, ref in _each(field):
            resolve(capability, ref)
    for capability, (_name, ref) in _each("commands"):
        resolve(capability, ref)
    for capability, seed in _each("demo"):
        resolve(capability, seed.ref)
    for capability, item in _each("evidence"):
        resolve(capability, item.ref)


@functools.cache
def import_all_models() -> None:
    """Define every table (``Base.metadata`` complete: Alembic, tests, ``gongshu init``)."""
    import gongshu.changes  # noqa: F401  (the change counters: a table of the kernel)

    for capability, module in _each("models"):
        resolve(capability, module)


def routers() -> list[Any]:
    return [resolve(c, ref) for c, ref in _each("routers")]


def template_dirs() -> list[str]:
    """Package names whose ``templates/`` folder the pages render from."""
    return ["web"] + [c.name for c in all_capabilities() if c.templates]


def labels() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for capability in all_capabilities():
        for table, ref in capability.labels.items():
            merged[table] = resolve(capability, ref)
    return merged


def commands() -> list[tuple[str, Any]]:
    return [(name, resolve(c, ref)) for c, (name, ref) in _each("commands")]


def load_job_handlers() -> None:
    """Import every capability's job modules (their ``@handler`` registers them)."""
    for capability, module in _each("jobs"):
        resolve(capability, module)


def demo_seeds(stage: str) -> list[tuple[DemoSeed, Callable]]:
    return [(seed, resolve(c, seed.ref)) for c, seed in _each("demo") if seed.stage == stage]


def evidence() -> dict[int, list[tuple[str, Callable, str]]]:
    """PIA-A point -> [(ref, source, label)] from every capability."""
    by_point: dict[int, list[tuple[str, Callable, str]]] = {}
    for capability, item in _each("evidence"):
        source = resolve(capability, item.ref)
        for point in item.points:
            by_point.setdefault(point, []).append((item.ref, source, item.label))
    return by_point


def home_panels() -> list[Callable]:
    return [resolve(c, ref) for c, ref in _each("home")]


def mine_sources() -> list[Callable]:
    """Each capability's ``mine``: what a person filed there (``MyItem`` lists)."""
    return [resolve(c, ref) for c, ref in _each("mine")]


def entry_sections() -> list[Callable]:
    return [resolve(c, ref) for c, ref in _each("entry_sections")]


def registration_sections() -> list[Callable]:
    return [resolve(c, ref) for c, ref in _each("registration_sections")]


def clocks() -> list[Any]:
    specs: list[Any] = []
    for capability, ref in _each("clocks"):
        specs.extend(resolve(capability, ref))
    return specs


@functools.cache
def gates() -> list[Any]:
    return [resolve(c, ref) for c, ref in _each("gates")]


@functools.cache
def activate() -> None:
    """What every entry point (app, CLI, worker, tests) does once a process: load the
    registry and install it for the packages below (the door refuses every delivery
    while none is installed: it fails closed)."""
    import sys

    all_capabilities()
    import_all_models()
    install(sys.modules[__name__])
