"""The home page: what each role has to do today, from every capability's panel
(``Capability.home``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gongshu import capabilities
from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import PUBLIC
from gongshu.web.deps import SessionDep
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)


@pages.get("/")
def home(
    request: Request, session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]
) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    context: dict = {}
    for panel in capabilities.home_panels():
        context.update(panel(session, user))
    return render(request, "home.html", **context)
