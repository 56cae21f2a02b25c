"""Who sees what: an organization its own records; supervisors and auditors all (AUD, SEC-10)."""

from __future__ import annotations

from gongshu.accounts.models import User
from gongshu.accounts.permissions import COMPLIANCE_SUPERVISE


def supervises(user: User) -> bool:
    """Regulators, the data authority and administrators see every organization's records."""
    return COMPLIANCE_SUPERVISE in user.scopes
