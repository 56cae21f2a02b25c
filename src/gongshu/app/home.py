"""The home page. Anyone not working for an organization (a visitor, a citizen) gets
the open-data portal: search, topics and providers with counts, the newest and most
used open entries, statistics and how to get data (issue 17 item 3). People of an
organization get their workbench: what each role has to do today, from every
capability's panel (``Capability.home``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu import capabilities
from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import PUBLIC
from gongshu.catalog.models import CatalogEntry
from gongshu.egress.models import Delivery
from gongshu.opendata.entries import open_clause
from gongshu.opendata.search import search
from gongshu.web.deps import SessionDep
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
# How many entries the portal lists in each of its "newest" and "most used" panels.
SHOWN = 6


@pages.get("/")
def home(
    request: Request, session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]
) -> Response:
    if user is None or user.org_id is None:
        return render(request, "portal.html", **portal(session))
    context: dict = {}
    for panel in capabilities.home_panels():
        context.update(panel(session, user))
    return render(request, "home.html", **context)


def portal(session: Session) -> dict:
    """What the portal shows: counts over open entries only (CAT-4), never rows."""
    everything = search(session, limit=0, facets=("theme", "provider"))
    newest = search(session, limit=SHOWN, sort="modified", descending=True, facets=())
    uses = func.count(Delivery.id).label("uses")
    counted = session.execute(
        select(CatalogEntry.id, uses)
        .join(Delivery, Delivery.entry_id == CatalogEntry.id)
        .where(open_clause(), Delivery.grant_id.is_not(None))  # not the pages' previews
        .group_by(CatalogEntry.id)
        .order_by(uses.desc(), CatalogEntry.id)
        .limit(SHOWN)
    ).all()
    entries = {
        e.id: e
        for e in session.scalars(
            select(CatalogEntry).where(CatalogEntry.id.in_([i for i, _ in counted]))
        ).unique()
    }
    downloads = session.scalar(
        select(func.count(Delivery.id))
        .join(CatalogEntry, Delivery.entry_id == CatalogEntry.id)
        .where(open_clause(), Delivery.grant_id.is_not(None))
    )
    return {
        "total": everything.total,
        "themes": everything.facets.get("theme", []),
        "providers": everything.facets.get("provider", []),
        "newest": newest.entries,
        "most_used": [(entries[i], n) for i, n in counted if i in entries],
        "downloads": downloads or 0,
    }
