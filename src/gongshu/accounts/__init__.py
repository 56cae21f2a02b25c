"""Accounts: tiered regions, organizations, users, roles, sessions and API tokens (SEC-3)."""

from __future__ import annotations

from gongshu.capability import Capability

CAPABILITY = Capability(
    name="accounts",
    label="账户与权限",
    routers=("gongshu.accounts.routes:router", "gongshu.accounts.pages:pages"),
    models=("gongshu.accounts.models",),
    templates=True,
    labels={
        "tier": "gongshu.accounts.permissions:TIERS",
        "role": "gongshu.accounts.permissions:ROLE_LABELS",
        "org_kind": "gongshu.accounts.permissions:ORG_KINDS",
    },
)
