"""Tables: regions (GB/T 2260, three tiers), organizations, users, auth tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu import changes
from gongshu.db import Base
from gongshu.timeutil import utcnow


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)  # GB/T 2260
    name: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16))  # province | city | county
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    uscc: Mapped[str | None] = mapped_column(String(18))

    region: Mapped[Region] = relationship(lazy="joined")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(256))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    roles: Mapped[list] = mapped_column(default=list)
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Real-name verification for members of the public (OPN-2). Only a keyed hash of
    # the ID number is kept, to find duplicates, never the number itself.
    identity_verified_at: Mapped[datetime | None]
    identity_method: Mapped[str | None] = mapped_column(String(32))
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    org: Mapped[Organization | None] = relationship(lazy="joined")

    @property
    def scopes(self) -> frozenset[str]:
        from gongshu.accounts.permissions import scopes_for

        return scopes_for(list(self.roles or []))

    @property
    def actor(self) -> str:
        """How this user is named in the ledger."""
        return f"user:{self.username}"


class AuthToken(Base):
    """A login session (cookie) or an API token; only a hash is stored."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # session | api
    name: Mapped[str] = mapped_column(String(64), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


# Provider names are searched in the open catalog (opendata/search.py caches it).
changes.watch("catalog", Organization, Region)
changes.watch("catalog_text", Organization, Region)  # names in the full-text index
# Who may call the open API (opendata/resolve.py caches it per process).
changes.watch("access", AuthToken, User)


class OutboxMessage(Base):
    """A message the embedded notifier would send (accounts/notify.py): an
    administrator reads the outbox and delivers it; a deployment plugs in an SMS
    gateway instead."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms
    recipient: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OneTimeCode(Base):
    """A one-time code sent to a person's mobile on record (accounts/otp.py). Only a
    keyed hash of the code is kept; it expires, allows few attempts and is used once."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    sent_to: Mapped[str] = mapped_column(String(16))  # masked: 138****1234
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]
