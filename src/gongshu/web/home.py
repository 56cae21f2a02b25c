"""The home page: what each role has to do today."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from gongshu.accounts.models import Organization, User
from gongshu.accounts.permissions import PUBLIC
from gongshu.catalog import search as catalog_search
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.datasets.models import DatasetVersion
from gongshu.web.deps import SessionDep, requires
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)


@pages.get("/")
def home(
    request: Request, session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]
) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
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
    ledger_size = None
    if "ledger:read" in user.scopes:
        from gongshu.ledger.models import LedgerEntry

        ledger_size = session.scalar(select(func.count(LedgerEntry.id)))
    calendar_warning = None
    if "calendar:admin" in user.scopes:
        from gongshu.timeutil import BEIJING, utcnow
        from gongshu.workdays import coverage_warning

        calendar_warning = coverage_warning(session, utcnow().astimezone(BEIJING).date())
    from gongshu.privacy.clock import home_counts  # personal-information rights (PIP-5)

    privacy = home_counts(session, user)
    return render(
        request,
        "home.html",
        privacy=privacy,
        stats=stats,
        mine=mine,
        queue=queue,
        ledger_size=ledger_size,
        calendar_warning=calendar_warning,
    )
