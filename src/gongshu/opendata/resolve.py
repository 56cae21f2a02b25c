"""What an open API call resolves before the door runs, kept per server process.

A CKAN ``datastore_search`` names a token and a resource. Before a row is read the
platform finds the token and its user, the open entry and its newest version, and
the user's open grants with their masking policies: five lookups bringing back
nine rows with the joined organizations and regions, which took longer than
reading, masking and watermarking the 100-row page itself (docs/benchmarks.md).
They change seldom, so each is kept here under the change counters (changes.py)
of what it reads: ``access`` (tokens, users, grants, masking policies) and
``catalog`` (entries, versions, organizations, regions).

- The counters are read once at the start of the call's transaction, before any
  of these rows: a committed revocation, withdrawal or new version is seen by the
  very next call, in every process.
- Time is never kept: token and grant expiry are checked on every call against
  the clock, as the uncached path does (SHR-5: an expired grant stops at once).
- Errors are not kept: an unknown resource or a closed entry is looked up again.
- The rows kept are detached copies loaded in a side session on the caller's
  connection (so they see its transaction), and enter the caller's session by
  ``merge(load=False)``, without a query; the door's own lookups by primary key
  then find them in the session. They are read, never changed, on this path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from gongshu import changes
from gongshu.accounts import service as accounts
from gongshu.accounts.models import User
from gongshu.catalog.models import CatalogEntry
from gongshu.egress.models import Grant, MaskingPolicy
from gongshu.opendata.packages import resource_target
from gongshu.opendata.service import first_unexpired, open_grants
from gongshu.storage.models import DatasetVersion

_KEPT = changes.Cache(("access", "catalog"), size=1024)
_HELD = "gongshu.opendata.resolve.held"  # session.info: merged rows nothing else refers to


def api_user(session: Session, plaintext: str) -> User | None:
    """``accounts.resolve_token(kind="api")``, the token row kept per process."""
    key = ("token", accounts.token_hash(plaintext))  # not the token itself
    token = _kept(session, key, lambda side: accounts.find_token(side, plaintext))
    if token is None or not accounts.token_valid(token, kind="api"):
        return None
    return session.merge(token.user, load=False)


def open_resource(session: Session, rid: str) -> tuple[CatalogEntry, DatasetVersion]:
    """``packages.resource_target``: the open entry and its newest version, kept."""
    entry, version = _kept(session, ("resource", rid), lambda side: resource_target(side, rid))
    return session.merge(entry, load=False), session.merge(version, load=False)


def open_grant(session: Session, entry: CatalogEntry, user: User) -> Grant | None:
    """``opendata.service.active_grant`` with the grant's masking policy, kept."""

    def load(side: Session) -> list[tuple[Grant, MaskingPolicy | None]]:
        grants = open_grants(side, entry.id, user.id)
        return [(g, side.get(MaskingPolicy, g.policy_id)) for g in grants]

    kept = _kept(session, ("grants", entry.id, user.id), load)
    grant = first_unexpired([g for g, _ in kept])
    if grant is None:
        return None
    policy = next(p for g, p in kept if g is grant)
    if policy is not None:
        # the session holds its objects weakly: keep the policy for the door to find
        session.info.setdefault(_HELD, []).append(session.merge(policy, load=False))
    return session.merge(grant, load=False)


def _kept(session: Session, key: tuple, load: Callable[[Session], Any]) -> Any:
    def compute() -> Any:
        with Session(bind=session.connection(), expire_on_commit=False) as side:
            found = load(side)
            side.expunge_all()
        return found

    return _KEPT.get(session, key, compute)
