"""The privacy capability's part of the home page (PIP-5 rights requests)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.privacy.clock import home_counts


def panel(session: Session, user: User) -> dict:
    return {"privacy": home_counts(session, user)}
