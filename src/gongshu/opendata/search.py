"""Searching open entries with facets, shared by the portal and the CKAN Action API
(OPN-1); which entries are open and the lookups by id or name are in ``entries``.

Search words go through the catalog's full-text index (catalog/textindex.py: Chinese
word segmentation with agency and place names, pinyin and initials, synonyms, one
wrong character); the entries it finds are then filtered and counted here. Results
are ranked by relevance when there are search words and no other order is asked for;
the words to mark in the results and, when nothing is found, suggestions come along.

An entry is open when it is published and its opening attribute is not
"none" (CAT-4). Facets over single-valued columns are counted in SQL; those
over the list-valued columns (themes, formats) in Python over a narrow
projection of the matching rows, so the same code runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gongshu import changes
from gongshu.accounts.models import Organization, Region
from gongshu.catalog import textindex
from gongshu.catalog.models import CatalogEntry
from gongshu.opendata.entries import open_clause, slug

# Portal facet key -> label; the same keys are the CKAN-side filters.
FACETS = {
    "provider": "提供单位",
    "region": "行政区划",
    "theme": "主题",
    "format": "格式",
    "update_frequency": "更新频率",
    "opening_attr": "开放属性",
}
SORTS = {
    "name": CatalogEntry.resource_code,
    "title": CatalogEntry.name,
    "modified": CatalogEntry.updated_at,
    "created": CatalogEntry.created_at,
}
RELEVANCE = "relevance"  # by the index's score (with search words; else by name)


@dataclass
class OpenSearch:
    total: int
    entries: list[CatalogEntry]
    # facet key -> [(value, label, count)], most frequent first
    facets: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    marks: list[str] = field(default_factory=list)  # words to mark in names and summaries
    suggestions: list[str] = field(default_factory=list)  # entry names, when none found

    def mark(self, entry: CatalogEntry, attr: str = "name") -> Markup:
        """An entry's ``attr`` escaped, with the matched words in <mark>."""
        return textindex.mark(getattr(entry, attr, ""), self.marks)


def _match(session: Session, q: str | None) -> textindex.Match | None:
    """The index's match for the search words (None without any)."""
    if not (q or "").split():
        return None
    index = textindex.index_for(session)
    with index.lock:
        return index.match(q or "")


# Above this many matches the id list is not sent to the database; rows are filtered here.
_IN_LIMIT = 500


def _base(match: textindex.Match | None) -> Select:
    stmt = select(
        CatalogEntry.id,
        CatalogEntry.provider_org_id,
        CatalogEntry.region_code,
        CatalogEntry.themes,
        CatalogEntry.formats,
        CatalogEntry.update_frequency,
        CatalogEntry.opening_attr,
    ).join(Organization, CatalogEntry.provider_org_id == Organization.id)
    stmt = stmt.where(open_clause())
    if match is not None and len(match.scores) <= _IN_LIMIT:
        stmt = stmt.where(CatalogEntry.id.in_(list(match.scores)))
    return stmt


def _matching(rows: list[Any], match: textindex.Match | None) -> list[Any]:
    """The rows the match holds (all of them without search words); ids are column 0."""
    if match is None:
        return rows
    return [r for r in rows if r[0] in match.scores]


def _ranked(session: Session, ids: list[int], match: textindex.Match) -> list[int]:
    index = textindex.index_for(session)
    with index.lock:
        order = index.ranked({i: match.scores[i] for i in ids})
    return order


def _suggest(session: Session, q: str) -> list[str]:
    """Names of open entries near ``q`` (never a name the public may not see)."""
    index = textindex.index_for(session)
    allowed = set(session.scalars(select(CatalogEntry.id).where(open_clause())))
    with index.lock:
        return index.suggest(q, allowed)


def _values(row: Any, key: str) -> list[str]:
    """The facet values of one projected row (lists for themes and formats)."""
    if key == "provider":
        return [str(row.provider_org_id)]
    if key == "region":
        return [row.region_code]
    if key == "theme":
        return [str(t) for t in row.themes or []]
    if key == "format":
        return [str(f).upper() for f in row.formats or [] if str(f).strip()]
    return [str(getattr(row, key) or "")]


# Search results per process, until the catalog changes (gongshu.changes): the
# substring scan over every open entry is the costly part of a search, and the public
# ask the same few questions (OPN-1's portal home, CKAN harvesters paging through).
_CACHE = changes.Cache("catalog", size=512)


# Entries past drafting (a covering index: as cheap as counting them all).
_PAST_DRAFTING = (
    select(func.count()).select_from(CatalogEntry).where(CatalogEntry.status != "draft")
)


def catalog_stamp(session: Session) -> int:
    """Beside the change counter, the number of entries past drafting, so rows written
    by raw SQL, which no session event sees, still change cache keys; not every entry:
    a new draft changes nothing the public sees, and must not empty the caches."""
    return session.scalar(_PAST_DRAFTING) or 0


def search(
    session: Session,
    *,
    q: str | None = None,
    filters: dict[str, list[str]] | None = None,
    limit: int = 20,
    offset: int = 0,
    sort: str | None = None,
    descending: bool = False,
    facets: Collection[str] | None = None,
) -> OpenSearch:
    """Open entries matching ``q`` (every word) and ``filters``, one page of them and the
    facet counts (see ``_search``); cached per process until the catalog changes.
    ``sort`` defaults to relevance with search words and to the resource code without;
    relevance is always the best first, whatever ``descending`` says (CKAN asks for
    "score desc")."""
    words = " ".join((q or "").split())
    if sort is None or (sort == RELEVANCE and not words):
        sort = RELEVANCE if words else "name"
    key = (
        words,
        tuple(sorted((k, tuple(sorted(map(str, vs)))) for k, vs in (filters or {}).items())),
        limit,
        offset,
        sort,
        descending,
        None if facets is None else tuple(sorted(f for f in facets if f)),
    )
    fresh: list[OpenSearch] = []

    def compute() -> tuple[int, list[int], dict, list[str], list[str]]:
        found = _search(
            session,
            q=words,
            filters=filters,
            limit=limit,
            offset=offset,
            sort=sort,
            descending=descending,
            facets=facets,
        )
        if words and not found.total:
            found.suggestions = _suggest(session, words)
        fresh.append(found)
        ids = [e.id for e in found.entries]
        return found.total, ids, found.facets, found.marks, found.suggestions

    total, ids, counted, marks, suggestions = _CACHE.get(
        session, key, compute, stamp=catalog_stamp(session)
    )
    if fresh:
        return fresh[0]
    page = session.scalars(select(CatalogEntry).where(CatalogEntry.id.in_(ids))).unique()
    found = {e.id: e for e in page}
    return OpenSearch(total, [found[i] for i in ids if i in found], counted, marks, suggestions)


def _search(
    session: Session,
    *,
    q: str | None = None,
    filters: dict[str, list[str]] | None = None,
    limit: int = 20,
    offset: int = 0,
    sort: str = "name",
    descending: bool = False,
    facets: Collection[str] | None = None,
) -> OpenSearch:
    """Open entries matching ``q`` (every term, see textindex) and ``filters`` (facet
    key -> accepted values, all keys must match), a page of them in ``sort`` order, and
    facet counts (all facets, or only the keys in ``facets``).

    Filters and facets over single-valued columns are counted in SQL (GROUP BY);
    themes, formats and package names (lists, slugs) in Python.
    """
    filters = {k: [str(v) for v in vs] for k, vs in (filters or {}).items() if vs}
    unknown = set(filters) - set(FACETS) - {"name", "id"}
    if unknown:
        from gongshu.errors import InvalidInput

        raise InvalidInput(f"不支持的筛选字段：{'、'.join(sorted(unknown))}")
    keys = list(FACETS) if facets is None else [k for k in FACETS if k in facets]
    match = _match(session, q)
    if set(filters) <= set(SCALAR) and set(keys) <= set(SCALAR):
        found = _search_sql(session, match, filters, keys, limit, offset, sort, descending)
        found.marks = match.marks if match else []
        return found
    rows = _matching(session.execute(_base(match)).all(), match)
    if "name" in filters:
        codes = dict(session.execute(select(CatalogEntry.id, CatalogEntry.resource_code)).all())
        rows = [r for r in rows if slug(codes[r.id]) in filters["name"]]
    wanted = {
        k: {w.upper() for w in vs} if k == "format" else set(vs)
        for k, vs in filters.items()
        if k != "name"
    }
    # One pass: each row's facet values and which filters it fails; a row counts
    # towards a facet when it passes every filter except that facet's own.
    counts: dict[str, Counter[str]] = {key: Counter() for key in FACETS}
    matched: list[int] = []
    for r in rows:
        values = {key: set(_values(r, key)) for key in FACETS}
        values["id"] = {str(r.id)}
        failed = [k for k, w in wanted.items() if not values[k] & w]
        if not failed:
            matched.append(r.id)
        if len(failed) > 1:
            continue
        for key in FACETS:
            if not failed or failed == [key]:
                counts[key].update(values[key])
    facets: dict[str, list[tuple[str, str, int]]] = {}
    orgs = dict(session.execute(select(Organization.id, Organization.name)).all())
    regions = dict(session.execute(select(Region.code, Region.name)).all())
    for key in keys:
        labels = {"provider": lambda v: orgs.get(int(v), v), "region": lambda v: regions.get(v, v)}
        label = labels.get(key, lambda v: v)
        facets[key] = [(v, label(v), n) for v, n in counts[key].most_common() if v]
    ids = matched
    marks = match.marks if match else []
    if match is not None and sort == RELEVANCE:
        ranked = _ranked(session, ids, match)
        return OpenSearch(len(ids), _load(session, ranked[offset : offset + limit]), facets, marks)
    order = SORTS.get(sort, CatalogEntry.resource_code)
    page: list[CatalogEntry] = []
    if ids:
        stmt = select(CatalogEntry).where(CatalogEntry.id.in_(ids))
        stmt = stmt.order_by(order.desc() if descending else order, CatalogEntry.id)
        page = list(session.scalars(stmt.limit(limit).offset(offset)).unique())
    return OpenSearch(len(ids), page, facets, marks)


def _load(session: Session, ids: list[int]) -> list[CatalogEntry]:
    """The entries of ``ids``, in that order."""
    if not ids:
        return []
    stmt = select(CatalogEntry).where(CatalogEntry.id.in_(ids))
    found = {e.id: e for e in session.scalars(stmt).unique()}
    return [found[i] for i in ids if i in found]


# Facet keys stored in one column each: filtered and counted in SQL.
SCALAR = {
    "id": CatalogEntry.id,
    "provider": CatalogEntry.provider_org_id,
    "region": CatalogEntry.region_code,
    "update_frequency": CatalogEntry.update_frequency,
    "opening_attr": CatalogEntry.opening_attr,
}
FACET_KEYS = list(SCALAR)  # "id" first: rows[i][0] is the entry id


def _scalar_condition(key: str, values: list[str]) -> Any:
    column = SCALAR[key]
    if key in ("provider", "id"):
        return column.in_([int(v) for v in values if v.isdigit()])
    return column.in_(values)


def _search_sql(
    session: Session,
    match: textindex.Match | None,
    filters: dict[str, list[str]],
    keys: list[str],
    limit: int,
    offset: int,
    sort: str,
    descending: bool,
) -> OpenSearch:
    """Scalar filters and facets. Without search words every count is a GROUP BY over
    the open entries; with them the substring scan (the costly part) runs once, and
    the matching rows' facet columns are counted from that one narrow result."""
    dialect = session.get_bind().dialect.name
    order = SORTS.get(sort, CatalogEntry.resource_code)
    order = [order.desc() if descending else order, CatalogEntry.id]
    if match is not None:
        # the matched open entries, narrow: id, the scalar facet columns and the sort key
        sort_col = SORTS.get(sort, CatalogEntry.resource_code)
        cols = [SCALAR[k] for k in FACET_KEYS]
        rows = session.execute(_base(match).with_only_columns(*cols, sort_col)).all()
        rows = _matching(rows, match)
        values = [tuple("" if v is None else str(v) for v in r[:-1]) for r in rows]
        wanted = [(FACET_KEYS.index(k), set(vs)) for k, vs in filters.items()]
        counts: dict[str, Counter[str]] = {k: Counter() for k in keys}
        hits = []
        for i, vals in enumerate(values):
            failed = [FACET_KEYS[j] for j, w in wanted if vals[j] not in w]
            if not failed:
                hits.append(i)
            for key in keys:
                if not failed or failed == [key]:
                    counts[key][vals[FACET_KEYS.index(key)]] += 1
        total = len(hits)
        raw = {k: [(v, n) for v, n in c.items() if v] for k, c in counts.items()}
        if sort == RELEVANCE:
            ranked = _ranked(session, [rows[i][0] for i in hits], match)
            return OpenSearch(
                total,
                _load(session, ranked[offset : offset + limit]),
                {key: _labelled(session, key, items) for key, items in raw.items()},
            )
        if dialect == "sqlite":  # BINARY collation: Python's code-point order, ids break ties
            hits.sort(key=lambda i: rows[i][0])
            hits.sort(key=lambda i: rows[i][-1], reverse=descending)
            ids = [rows[i][0] for i in hits[offset : offset + limit]]
            found = {
                e.id: e
                for e in session.scalars(
                    select(CatalogEntry).where(CatalogEntry.id.in_(ids))
                ).unique()
            }
            return OpenSearch(
                total,
                [found[i] for i in ids],
                {key: _labelled(session, key, items) for key, items in raw.items()},
            )
        matched = [rows[i][0] for i in hits]
        page_stmt = select(CatalogEntry).where(CatalogEntry.id.in_(matched)) if matched else None
    else:
        base = _base(None).with_only_columns(CatalogEntry.id).subquery()
        conds = {k: _scalar_condition(k, vs) for k, vs in filters.items()}

        def where(stmt: Select, skip: str | None = None) -> Select:
            stmt = stmt.where(CatalogEntry.id.in_(select(base.c.id)))
            for key, cond in conds.items():
                if key != skip:
                    stmt = stmt.where(cond)
            return stmt

        total = session.scalar(where(select(func.count(CatalogEntry.id)))) or 0
        raw = {}
        for key in keys:
            column = SCALAR[key]
            stmt = where(select(column, func.count(CatalogEntry.id)), skip=key).group_by(column)
            raw[key] = [(str(v), int(n)) for v, n in session.execute(stmt) if v not in (None, "")]
        page_stmt = where(select(CatalogEntry)) if total else None
    facets = {key: _labelled(session, key, items) for key, items in raw.items()}
    page: list[CatalogEntry] = []
    if page_stmt is not None:
        stmt = page_stmt.order_by(*order).limit(limit).offset(offset)
        page = list(session.scalars(stmt).unique())
    return OpenSearch(total, page, facets)


def _labelled(
    session: Session, key: str, counts: list[tuple[str, int]]
) -> list[tuple[str, str, int]]:
    """Most frequent first, with the names of providers and regions."""
    labels: dict[str, str] = {}
    if key == "provider" and counts:
        ids = [int(v) for v, _ in counts]
        found = select(Organization.id, Organization.name).where(Organization.id.in_(ids))
        labels = {str(i): name for i, name in session.execute(found).all()}
    elif key == "region" and counts:
        found = select(Region.code, Region.name).where(Region.code.in_([v for v, _ in counts]))
        labels = dict(session.execute(found).all())
    counts = sorted(counts, key=lambda item: (-item[1], item[0]))
    return [(v, labels.get(v, v), n) for v, n in counts]
