"""Who sees which catalog entries, and the search with facets (CAT-1): published public
entries for everyone, an agency's own drafts for it, everything for data authorities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.catalog.models import CatalogEntry

FACETS = (
    "provider_org_id",
    "tier",
    "sharing_attr",
    "opening_attr",
    "status",
    "security_grade",
    "update_frequency",
)


def visible(actor: User | None) -> Any:
    """Published entries for everyone; own drafts for the provider; all for authorities."""
    if actor is not None and ("admin" in actor.roles or "reviewer" in actor.roles):
        return True
    cond = CatalogEntry.published_version.is_not(None) & (CatalogEntry.scope == "public")
    if actor is not None and actor.org_id is not None:
        cond = or_(cond, CatalogEntry.provider_org_id == actor.org_id)
    return cond


def can_see(entry: CatalogEntry, actor: User | None) -> bool:
    """The Python twin of ``visible`` for one loaded entry."""
    if actor is not None and ("admin" in actor.roles or "reviewer" in actor.roles):
        return True
    if entry.published_version is not None and entry.scope == "public":
        return True
    return actor is not None and actor.org_id is not None and actor.org_id == entry.provider_org_id


def provided_by(session: Session, org_id: int) -> list[CatalogEntry]:
    """An agency's own entries, newest change first."""
    return list(
        session.scalars(
            select(CatalogEntry)
            .where(CatalogEntry.provider_org_id == org_id)
            .order_by(CatalogEntry.updated_at.desc())
        ).unique()
    )


@dataclass
class SearchResult:
    total: int
    entries: list[CatalogEntry]
    facets: dict[str, list[tuple[Any, str, int]]]


def search(
    session: Session,
    *,
    actor: User | None,
    q: str | None = None,
    filters: dict[str, Any] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """Search by name, summary and provider, filter by attributes, count facets."""
    filters = {k: v for k, v in (filters or {}).items() if k in FACETS and v not in (None, "")}

    def base(skip: str | None = None) -> Select:
        stmt = select(CatalogEntry).join(
            Organization, CatalogEntry.provider_org_id == Organization.id
        )
        stmt = stmt.where(visible(actor), CatalogEntry.scope == "public")
        if q:
            like = f"%{q.strip().lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(CatalogEntry.name).like(like),
                    func.lower(CatalogEntry.summary).like(like),
                    func.lower(CatalogEntry.resource_code).like(like),
                    func.lower(Organization.name).like(like),
                )
            )
        for k, v in filters.items():
            if k != skip:
                stmt = stmt.where(
                    getattr(CatalogEntry, k) == (int(v) if k == "provider_org_id" else v)
                )
        return stmt

    # One grouped pass counts the total and every facet no filter narrows (each LIKE
    # scan of the catalog costs milliseconds, and this is the catalog API's hot path);
    # a facet with a filter of its own is counted without that filter, by itself.
    matched = base().subquery()
    combos = session.execute(
        select(*(matched.c[k] for k in FACETS), func.count()).group_by(
            *(matched.c[k] for k in FACETS)
        )
    ).all()
    total = sum(row[-1] for row in combos)
    stmt = base()
    entries = list(
        session.scalars(
            stmt.order_by(CatalogEntry.tier, CatalogEntry.resource_code).limit(limit).offset(offset)
        ).unique()
    )
    facets: dict[str, list[tuple[Any, str, int]]] = {}
    org_names = dict(session.execute(select(Organization.id, Organization.name)).all())
    for i, key in enumerate(FACETS):
        counts: dict[Any, int] = {}
        if key in filters:
            sub = base(skip=key).subquery()
            col = sub.c[key]
            counts = dict(session.execute(select(col, func.count()).group_by(col)).all())
        else:
            for row in combos:
                counts[row[i]] = counts.get(row[i], 0) + row[-1]
        facets[key] = [
            (v, org_names.get(v, str(v)) if key == "provider_org_id" else str(v), n)
            for v, n in sorted(counts.items(), key=lambda c: (-c[1], str(c[0])))
        ]
    return SearchResult(total, entries, facets)
