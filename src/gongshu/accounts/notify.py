"""Sending a message to a person: the ``Notifier`` protocol and its embedded default.

The platform sends one-time codes to the mobile number on record (PIP-5 rights
requests). An SMS gateway is outside this machine, so sending is a Protocol; the
embedded default, ``OutboxNotifier``, writes each message to the outbox table, which
an administrator reads at ``/admin/outbox``. A deployment plugs its gateway in
through ``set_notifier``.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import OutboxMessage


class Notifier(Protocol):
    def send(self, session: Session, *, to: str, text: str, purpose: str) -> None:
        """Send ``text`` to the mobile number ``to``; raise a GongshuError when it cannot."""
        ...


class OutboxNotifier:
    """Keeps the message in the outbox (in the caller's transaction)."""

    channel = "sms"

    def send(self, session: Session, *, to: str, text: str, purpose: str) -> None:
        session.add(OutboxMessage(channel=self.channel, recipient=to, text=text, purpose=purpose))
        session.flush()


_plugged: list[Notifier] = []


def notifier() -> Notifier:
    """The deployment's notifier, or the outbox."""
    return _plugged[0] if _plugged else OutboxNotifier()


def set_notifier(n: Notifier | None) -> None:
    _plugged[:] = [n] if n is not None else []


def outbox(session: Session, *, limit: int = 200) -> list[OutboxMessage]:
    """The newest messages first (the administrator's page)."""
    return list(
        session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit))
    )
