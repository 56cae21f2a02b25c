"""The ledger's part of the home page: its size, for those who may read it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.ledger.models import LedgerEntry


def panel(session: Session, user: Any) -> dict:  # noqa: ANN401 - gongshu.accounts.models.User
    if "ledger:read" not in user.scopes:
        return {"ledger_size": None}
    return {"ledger_size": session.scalar(select(func.count(LedgerEntry.id)))}
