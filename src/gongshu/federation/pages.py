"""Pages: the node page of the province's data authority (join requests to decide,
members, this node) and the federated catalog (every tier's entries with their home
node)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import CATALOG_READ, CATALOG_REVIEW
from gongshu.federation import directory, feed, identity, members
from gongshu.web.deps import SessionDep, read_only
from gongshu.web.render import render

router = APIRouter(prefix="/federation", tags=["federation"], include_in_schema=False)


@router.get("/nodes")
@read_only()
def nodes_page(
    request: Request, session: SessionDep, user: Annotated[User, requires(CATALOG_REVIEW)]
):  # noqa: ANN201
    node = identity.maybe_me(session)
    return render(
        request,
        "federation_nodes.html",
        node=node,
        warning=directory.warning(session) if node else None,
        chains=feed.overview(session)["chains"] if node else [],
        requests=members.pending(session) if node and node.role == "province" else [],
        members=members.members(session) if node and node.role == "province" else [],
    )


@router.post("/joins/{request_id}/approve")
def approve(
    request_id: int, session: SessionDep, user: Annotated[User, requires(CATALOG_REVIEW)]
) -> RedirectResponse:
    members.decide(session, request_id, actor=user, approve=True)
    return RedirectResponse("/federation/nodes", status_code=303)


@router.post("/joins/{request_id}/refuse")
def refuse(
    request_id: int, session: SessionDep, user: Annotated[User, requires(CATALOG_REVIEW)]
) -> RedirectResponse:
    members.decide(session, request_id, actor=user, approve=False)
    return RedirectResponse("/federation/nodes", status_code=303)


@router.get("/entries")
@read_only()
def entries_page(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    home_node: str | None = None,
):  # noqa: ANN201
    return render(
        request,
        "federation_entries.html",
        entries=feed.entries(session, home_node),
        home_node=home_node,
    )
