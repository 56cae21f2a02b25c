"""Gates: checks that capabilities above the door add to grants and deliveries.

The door imports nothing above it. A capability that must be able to say no to a
grant or a delivery (an impact assessment, the cross-border route, an erasure, a
jurisdiction) implements ``Gate`` and names it in its ``Capability.gates``; the
registry installs them (``gongshu.capabilities.activate``). The door asks every
gate and fails closed: a gate that refuses stops the act with its own message, a
gate that raises anything else stops it too, and so does a process in which no
registry was installed.

A gate may also withhold rows of a delivery it lets pass (``withhold``, optional):
it returns a ``Withholding`` whose ``keep`` marks, per batch of raw rows, those that
may leave; the door drops the others before masking and records how many it withheld
and why (never which values) in the delivery's ledger entry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gongshu.capability import NotActivated, installed
from gongshu.errors import Conflict, GongshuError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from gongshu.accounts.models import User
    from gongshu.catalog.models import CatalogEntry
    from gongshu.egress.models import Grant
    from gongshu.storage.models import DatasetVersion

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GrantRequest:
    """A grant about to be created (``egress.service.create_grant``)."""

    session: Session
    entry: CatalogEntry
    recipient_user: User | None
    recipient_org_id: int | None
    columns: list[str] | None
    dataset_version_id: int | None
    purpose: str
    source: str


@dataclass(frozen=True)
class DeliveryRequest:
    """A delivery about to be read (``egress.service.deliver``)."""

    session: Session
    grant: Grant
    entry: CatalogEntry
    version: DatasetVersion
    actor: User | None  # None: the portal's public preview (no one signed in reads it)
    secret: str = ""  # the instance secret (a gate keying person hashes needs it)


@dataclass(frozen=True)
class Withholding:
    """Rows a gate keeps back from one delivery. ``keep(batch)`` returns one bool per row
    of a batch of the stored (unmasked) columns. It runs on worker threads, or on Spark
    executors for a large delivery (``egress.cluster``): everything it needs is loaded
    before (no session inside), it decides each row from that row alone and keeps no
    state between batches, and it can be pickled (cloudpickle: a closure is fine)."""

    gate: str
    reason: str
    keep: Callable[[object], list[bool]]


class Gate(Protocol):
    """``check_grant`` / ``check_delivery`` return None to let the act pass and raise a
    ``GongshuError`` (with a message for people, in Chinese) to refuse it."""

    name: str

    def check_grant(self, request: GrantRequest) -> None: ...

    def check_delivery(self, request: DeliveryRequest) -> None: ...


class GateUnavailable(Conflict):
    """A gate could not decide (it failed, or none were installed): the act is refused."""


def _gates() -> list[Gate]:
    try:
        return installed().gates()
    except NotActivated as exc:
        raise GateUnavailable("数据出口的审查项未加载，拒绝提供数据") from exc


def _ask(gate: Gate, method: str, request: object) -> None:
    try:
        getattr(gate, method)(request)
    except GongshuError:
        raise
    except Exception as exc:
        log.exception("gate %s failed", getattr(gate, "name", gate))
        raise GateUnavailable(
            f"审查项“{getattr(gate, 'name', gate)}”未能完成检查，拒绝提供数据"
        ) from exc


def check_grant(request: GrantRequest) -> None:
    for gate in _gates():
        _ask(gate, "check_grant", request)


def check_delivery(request: DeliveryRequest) -> None:
    for gate in _gates():
        _ask(gate, "check_delivery", request)


def withholdings(request: DeliveryRequest) -> list[Withholding]:
    """What the gates that withhold rows keep back from this delivery (fail closed)."""
    out = []
    for gate in _gates():
        if not hasattr(gate, "withhold"):
            continue
        try:
            found = gate.withhold(request)
        except GongshuError:
            raise
        except Exception as exc:
            log.exception("gate %s failed", getattr(gate, "name", gate))
            raise GateUnavailable(
                f"审查项“{getattr(gate, 'name', gate)}”未能完成检查，拒绝提供数据"
            ) from exc
        if found is not None:
            out.append(found)
    return out
