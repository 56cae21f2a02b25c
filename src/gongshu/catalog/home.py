"""The catalog's part of the home page: published entries by tier, the data loaded,
the agency's own entries and the authority's review queue."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.catalog import search as catalog_search
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.storage.models import DatasetVersion


def panel(session: Session, user: User) -> dict:
    published = CatalogEntry.published_version.is_not(None) & (CatalogEntry.scope == "public")
    by_tier = dict(
        session.execute(
            select(CatalogEntry.tier, func.count()).where(published).group_by(CatalogEntry.tier)
        ).all()
    )
    stats = {
        "entries": sum(by_tier.values()),
        "by_tier": by_tier,
        "provincial": session.scalar(select(func.count()).where(CatalogEntry.provincial)) or 0,
        "versions": session.scalar(select(func.count(DatasetVersion.id))) or 0,
        "rows": session.scalar(select(func.coalesce(func.sum(DatasetVersion.rows), 0))) or 0,
        "orgs": session.scalar(select(func.count(Organization.id))) or 0,
    }
    mine, queue = [], []
    if "catalog:edit" in user.scopes and user.org_id:
        mine = catalog_search.provided_by(session, user.org_id)
    if "catalog:review" in user.scopes:
        queue = catalog.review_queue(session, user)
    return {"stats": stats, "mine": mine, "queue": queue}
