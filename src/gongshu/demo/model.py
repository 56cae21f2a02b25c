"""The plain records a demo province is made of; the loader turns them into rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoRegion:
    code: str  # GB/T 2260
    name: str
    tier: str  # province | city | county (gongshu.accounts.permissions.TIERS)
    parent_code: str | None


@dataclass(frozen=True)
class DemoOrg:
    key: str
    name: str
    kind: str  # gongshu.accounts.permissions.ORG_KINDS
    region_code: str


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    full_name: str
    org_key: str | None  # None only for the member of the public
    roles: tuple[str, ...]


@dataclass(frozen=True)
class DemoField:
    name: str
    type: str  # gongshu.catalog.models.FIELD_TYPES
    description: str
    kind: str | None = None  # gongshu.catalog.models.FIELD_KINDS
    required: bool = False


@dataclass(frozen=True)
class DemoEntry:
    key: str
    name: str
    resource_code: str
    summary: str
    org_key: str
    tier: str
    region_code: str
    fields: tuple[DemoField, ...]
    update_frequency: str
    security_grade: str
    sharing_attr: str
    sharing_conditions: str | None
    no_share_basis: str | None
    opening_attr: str
    opening_conditions: str | None
    formats: tuple[str, ...]
    rows: int
    approved: bool
    load_policy: str


@dataclass(frozen=True)
class DemoProvince:
    regions: tuple[DemoRegion, ...]
    orgs: tuple[DemoOrg, ...]
    users: tuple[DemoUser, ...]
    entries: tuple[DemoEntry, ...]

    def org(self, key: str) -> DemoOrg:
        """The organization with this key (KeyError if there is none)."""
        for org in self.orgs:
            if org.key == key:
                return org
        raise KeyError(key)

    def entry(self, key: str) -> DemoEntry:
        """The catalog entry with this key (KeyError if there is none)."""
        for entry in self.entries:
            if entry.key == key:
                return entry
        raise KeyError(key)


@dataclass(frozen=True)
class DemoContext:
    """What a capability's demo seed (``Capability.demo``) is given besides its session."""

    province: DemoProvince
    settings: Any  # gongshu.config.Settings
    seed: int
    limit: int | None = None
