"""What a capability package declares about itself, in its ``__init__.py``.

Each package under ``gongshu`` that adds something to the platform declares one
``CAPABILITY = Capability(...)``; ``gongshu.capabilities`` lists the packages and
is the only list. The app factory, the model loader, the CLI, the job worker, the
demo loader, the audit evidence, the home page and the egress door all read it.

Everything is named by ``"module:attribute"`` (or a module path), so declaring a
capability imports nothing: the registry resolves the names at start-up and fails
loudly, naming the capability, when one cannot be imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class DemoSeed:
    """``ref`` is ``"module:function"`` called as ``function(session, demo)`` in its own
    transaction (``demo``: a ``gongshu.demo.model.DemoContext``). ``stage`` "before_data"
    runs before the demo entries are loaded, "entries_loaded" once every entry has its
    rows but before any other seed acts on them (e.g. the impact assessments scoped to the
    entries that grants need), "after_data" after that."""

    ref: str
    stage: str = "after_data"


@dataclass(frozen=True)
class Evidence:
    """An audit evidence source: ``ref`` (``"module:function"``) answers for the PIA-A
    ``points`` with the records it finds (``function(session, org_id=, start=, end=)``)."""

    points: tuple[int, ...]
    ref: str
    label: str


def reference(prefix: str, created_at: datetime, number: int) -> str:
    """The reference number a person quotes for something they filed:
    ``KFSQ-2026-000012`` (kind, year received, the record's number)."""
    return f"{prefix}-{created_at:%Y}-{number:06d}"


@dataclass(frozen=True)
class MyItem:
    """One thing a person filed, as their own pages list it (issue 17 item 7).

    ``kind`` names the list it belongs to (``MY_KINDS``), ``key`` is unique within the
    kind (the record's id), ``status`` and every text are in Chinese, ``deadline`` is
    the statutory clock's end (None: no clock, or a year without a schedule, then
    ``deadline_warning`` says so), ``closed`` once nothing is awaited, ``href`` the
    capability's own page for it (or ""), ``history`` the dated steps so far, and
    ``details`` (label, value) pairs shown on the detail page."""

    kind: str
    key: int
    reference: str
    title: str
    status: str
    filed_at: datetime
    closed: bool
    href: str = ""
    deadline: datetime | None = None
    deadline_warning: str | None = None
    next_step: str = ""
    history: tuple[tuple[datetime, str], ...] = ()
    details: tuple[tuple[str, str], ...] = ()


# The person's lists, in the order their pages show them.
MY_KINDS = {
    "applications": "我的申请",
    "declarations": "使用声明",
    "agreements": "我的协议",
    "complaints": "我的投诉",
    "requests": "权利请求",
    "orders": "交易合同",
}


@dataclass(frozen=True)
class Capability:
    name: str
    label: str
    # web: "module:attr" of APIRouters, matched in the registry's order
    routers: tuple[str, ...] = ()
    # module paths whose import defines SQLAlchemy tables
    models: tuple[str, ...] = ()
    # the package has a templates/ folder for its pages
    templates: bool = False
    # module paths whose import registers job handlers (gongshu.jobs.handler)
    jobs: tuple[str, ...] = ()
    # CLI: (name, "module:attr") of a Typer app (a command group) or a plain function
    commands: tuple[tuple[str, str], ...] = ()
    demo: tuple[DemoSeed, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    # "module:function" called as function(session, user) -> dict | None for the home page
    home: tuple[str, ...] = ()
    # "module:attr" of objects that implement gongshu.egress.gates.Gate
    gates: tuple[str, ...] = ()
    # "module:attr" of a tuple of gongshu.workdays clock specs
    clocks: tuple[str, ...] = ()
    # "module:function" called as function(session, entry, user) -> section | None,
    # shown on a catalog entry's page (capabilities above the catalog add theirs)
    entry_sections: tuple[str, ...] = ()
    # "module:function" called as function(session, user) -> list[MyItem]: what the
    # person filed with this capability, for their own pages (/me)
    mine: tuple[str, ...] = ()
    # "module:function" called as function(session, registration, user) -> section | None,
    # shown on a registration's page (capabilities above registration add theirs)
    registration_sections: tuple[str, ...] = ()
    # label tables for templates: {"table": "module:attr"} merged into L
    labels: dict[str, str] = field(default_factory=dict)


class Registry(Protocol):
    """What packages below the registry may ask of it at run time (the registry
    itself, ``gongshu.capabilities``, stands above them all and is installed by
    every entry point with ``gongshu.capabilities.activate``)."""

    def gates(self) -> list[Any]: ...

    def evidence(self) -> dict[int, list[tuple[str, Callable, str]]]: ...

    def clocks(self) -> list[Any]: ...

    def entry_sections(self) -> list[Callable]: ...

    def registration_sections(self) -> list[Callable]: ...

    def home_panels(self) -> list[Callable]: ...

    def load_job_handlers(self) -> None: ...

    def demo_seeds(self, stage: str) -> list[tuple[DemoSeed, Callable]]: ...


class NotActivated(RuntimeError):
    """Nothing installed the registry: the caller is not an entry point's process."""


_installed: list[Registry] = []


def install(registry: Registry) -> None:
    _installed[:] = [registry]


def installed() -> Registry:
    """The installed registry; raises (fail closed) when no entry point installed one."""
    if not _installed:
        raise NotActivated("能力注册表未加载")
    return _installed[0]
