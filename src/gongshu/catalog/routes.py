"""Catalog JSON API (CAT-1 to CAT-7) under /api/v1/catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import CATALOG_EDIT, CATALOG_READ, CATALOG_REVIEW
from gongshu.catalog import search as catalog_search
from gongshu.catalog import service
from gongshu.catalog import versions as catalog_versions
from gongshu.catalog.errors import EntryNotFound
from gongshu.catalog.schemas import (
    EntryCreate,
    EntryPagePublic,
    EntryPublic,
    EntryReviewCreate,
    EntryUpdate,
    VersionPublic,
)
from gongshu.errors import InvalidInput
from gongshu.web.bounds import MAX_INT, Code, Id, Search
from gongshu.web.deps import SessionDep, read_only

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])


def _visible_entry(session, entry_id: int, user: User):  # noqa: ANN001, ANN202
    entry = service.get(session, entry_id)
    if not catalog_search.can_see(entry, user):
        raise EntryNotFound(f"目录不存在：{entry_id}")
    return entry


@router.get("", response_model=EntryPagePublic)
@read_only()  # a search takes no write lock: writers do not wait behind it (SQLite)
def search(
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    q: Search | None = None,
    tier: Code | None = None,
    sharing_attr: Code | None = None,
    opening_attr: Code | None = None,
    status: Code | None = None,
    provider_org_id: Id | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> EntryPagePublic:
    """Search by name, summary and provider; filter by attributes; facet counts."""
    filters = {
        "tier": tier,
        "sharing_attr": sharing_attr,
        "opening_attr": opening_attr,
        "status": status,
        "provider_org_id": provider_org_id,
    }
    result = catalog_search.search(
        session, actor=user, q=q, filters=filters, limit=limit, offset=offset
    )
    return EntryPagePublic(
        total=result.total,
        entries=[EntryPublic.of(e) for e in result.entries],
        facets={
            k: [{"value": v, "label": label, "count": n} for v, label, n in rows]
            for k, rows in result.facets.items()
        },
    )


@router.post("", response_model=EntryPublic, status_code=201)
def create(
    body: EntryCreate, session: SessionDep, user: Annotated[User, requires(CATALOG_EDIT)]
) -> EntryPublic:
    """An agency compiles a new entry (draft)."""
    return EntryPublic.of(service.create(session, body.model_dump(), actor=user))


@router.get("/{entry_id}", response_model=EntryPublic)
@read_only()
def read(
    entry_id: Id, session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]
) -> EntryPublic:
    return EntryPublic.of(_visible_entry(session, entry_id, user))


@router.patch("/{entry_id}", response_model=EntryPublic)
def update(
    entry_id: Id,
    body: EntryUpdate,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_EDIT)],
) -> EntryPublic:
    """Edit; every change is a new version (CAT-5)."""
    data = body.model_dump(exclude_unset=True)
    return EntryPublic.of(service.update(session, entry_id, data, actor=user))


@router.post("/{entry_id}/submit", response_model=EntryPublic)
def submit(
    entry_id: Id, session: SessionDep, user: Annotated[User, requires(CATALOG_EDIT)]
) -> EntryPublic:
    return EntryPublic.of(service.submit(session, entry_id, actor=user))


@router.post("/{entry_id}/approve", response_model=EntryPublic)
def approve(
    entry_id: Id,
    body: EntryReviewCreate,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
) -> EntryPublic:
    """Approve at the reviewer's tier; city/county entries then go up a tier (CAT-2)."""
    return EntryPublic.of(service.approve(session, entry_id, actor=user, comment=body.comment))


@router.post("/{entry_id}/return", response_model=EntryPublic)
def return_(
    entry_id: Id,
    body: EntryReviewCreate,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
) -> EntryPublic:
    if not body.comment:
        raise InvalidInput("退回时必须填写审核意见")
    return EntryPublic.of(service.return_(session, entry_id, actor=user, comment=body.comment))


@router.get("/{entry_id}/versions", response_model=list[VersionPublic])
def versions(
    entry_id: Id, session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]
) -> list[VersionPublic]:
    """Every version of the entry, newest first (CAT-5)."""
    _visible_entry(session, entry_id, user)
    return [
        VersionPublic.model_validate(v, from_attributes=True)
        for v in catalog_versions.versions(session, entry_id)
    ]


@router.get("/{entry_id}/diff")
def diff(
    entry_id: Id,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    old: Id,
    new: Id,
) -> dict:
    """Field-level difference between two versions (CAT-5)."""
    _visible_entry(session, entry_id, user)
    changes, fields = catalog_versions.diff(
        catalog_versions.version(session, entry_id, old).snapshot,
        catalog_versions.version(session, entry_id, new).snapshot,
    )
    return {"changes": [c.__dict__ for c in changes], "fields": [f.__dict__ for f in fields]}
