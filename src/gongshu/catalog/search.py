"""Who sees which catalog entries, and the search with facets (CAT-1): published public
entries for everyone, an agency's own drafts for it, everything for data authorities.
Search words go through the full-text index (``textindex``); with them, results are
ranked by relevance and carry the words to mark and, when none is found, suggestions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.catalog import textindex
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
    marks: list[str] = field(default_factory=list)  # words to mark in names and summaries
    suggestions: list[str] = field(default_factory=list)  # entry names, when none found

    def mark(self, entry: CatalogEntry, attr: str = "name") -> Markup:
        """An entry's ``attr`` escaped, with the matched words in <mark>."""
        return textindex.mark(getattr(entry, attr, ""), self.marks)


def id_in(ids: list[int]) -> Any:
    """``CatalogEntry.id IN ids``, the ids written into the statement (no limit on how
    many bound parameters a statement may have)."""
    return CatalogEntry.id.in_(bindparam("matched_ids", ids, expanding=True, literal_execute=True))


def search(
    session: Session,
    *,
    actor: User | None,
    q: str | None = None,
    filters: dict[str, Any] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """Search by name, summary, code, fields, themes, provider and region (see
    ``textindex``), filter by attributes, count facets; with search words the most
    relevant first, else by tier and resource code."""
    filters = {k: v for k, v in (filters or {}).items() if k in FACETS and v not in (None, "")}
    match = None
    if (q or "").split():
        index = textindex.index_for(session)
        with index.lock:
            match = index.match(q or "")

    def narrowed(stmt: Select, skip: str | None = None) -> Select:
        stmt = stmt.join(Organization, CatalogEntry.provider_org_id == Organization.id)
        stmt = stmt.where(visible(actor), CatalogEntry.scope == "public")
        if match is not None:
            stmt = stmt.where(id_in(list(match.scores)))
        for k, v in filters.items():
            if k != skip:
                stmt = stmt.where(
                    getattr(CatalogEntry, k) == (int(v) if k == "provider_org_id" else v)
                )
        return stmt

    # One pass counts the total and every facet no filter narrows (each LIKE scan of
    # the catalog costs milliseconds, and this is the catalog API's hot path): grouped
    # in SQL without search words; with them, the matching rows' ids and facet values
    # are read once (the ids are ranked here) and grouped in Python. A facet with a
    # filter of its own is counted without that filter, by itself.
    columns = [getattr(CatalogEntry, k) for k in FACETS]
    if match is None:
        combos = [
            tuple(row)
            for row in session.execute(narrowed(select(*columns, func.count())).group_by(*columns))
        ]
        stmt = narrowed(select(CatalogEntry))
        stmt = stmt.order_by(CatalogEntry.tier, CatalogEntry.resource_code)
        entries = list(session.scalars(stmt.limit(limit).offset(offset)).unique())
    else:
        rows = session.execute(narrowed(select(CatalogEntry.id, *columns))).all()
        combos = [(*k, n) for k, n in Counter(tuple(r[1:]) for r in rows).items()]
        with index.lock:
            page = index.ranked({r[0]: match.scores[r[0]] for r in rows})[offset : offset + limit]
        found = {e.id: e for e in session.scalars(select(CatalogEntry).where(id_in(page))).unique()}
        entries = [found[i] for i in page if i in found]
    total = sum(row[-1] for row in combos)
    facets: dict[str, list[tuple[Any, str, int]]] = {}
    org_names = dict(session.execute(select(Organization.id, Organization.name)).all())
    for i, key in enumerate(FACETS):
        counts: dict[Any, int] = {}
        if key in filters:
            col = getattr(CatalogEntry, key)
            counted = narrowed(select(col, func.count()), skip=key).group_by(col)
            counts = dict(session.execute(counted).all())
        else:
            for row in combos:
                counts[row[i]] = counts.get(row[i], 0) + row[-1]
        facets[key] = [
            (v, org_names.get(v, str(v)) if key == "provider_org_id" else str(v), n)
            for v, n in sorted(counts.items(), key=lambda c: (-c[1], str(c[0])))
        ]
    result = SearchResult(total, entries, facets, match.marks if match else [])
    if match is not None and not total:
        everyone = select(CatalogEntry.id).where(visible(actor), CatalogEntry.scope == "public")
        allowed = set(session.scalars(everyone))
        with index.lock:
            result.suggestions = index.suggest(q or "", allowed)
    return result
