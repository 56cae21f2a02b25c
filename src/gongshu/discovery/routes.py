"""Grading rules for administrators: see the rules in force, save a new version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import CATALOG_READ, DISCOVERY_ADMIN
from gongshu.discovery import rules_store
from gongshu.errors import GongshuError
from gongshu.web.bounds import LongText, Text
from gongshu.web.deps import SessionDep
from gongshu.web.render import render

router = APIRouter(prefix="/api/v1/discovery", tags=["discovery"])
pages = APIRouter(include_in_schema=False)


class GradingRulesUpdate(BaseModel):
    text: LongText
    comment: Text = ""


@router.get("/rules")
def get_rules(session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]) -> dict:
    text, version = rules_store.text_in_force(session)
    return {"version": version, "text": text}


@router.put("/rules")
def put_rules(
    body: GradingRulesUpdate, session: SessionDep, user: Annotated[User, requires(DISCOVERY_ADMIN)]
) -> dict:
    row = rules_store.save_rules(session, body.text, actor=user, comment=body.comment)
    return {"version": row.version_no}


@pages.get("/discovery/rules")
def rules_page(
    request: Request, session: SessionDep, user: Annotated[User, requires(DISCOVERY_ADMIN)]
) -> Response:
    text, version = rules_store.text_in_force(session)
    return render(
        request, "rules.html", text=text, version=version, versions=rules_store.versions(session)
    )


@pages.post("/discovery/rules")
def save_page(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(DISCOVERY_ADMIN)],
    text: Annotated[str, Form()],
    comment: Annotated[str, Form()] = "",
) -> Response:
    try:
        with session.begin_nested():
            rules_store.save_rules(session, text, actor=user, comment=comment)
    except GongshuError as exc:
        _, version = rules_store.text_in_force(session)
        return render(
            request,
            "rules.html",
            status_code=exc.status,
            text=text,
            version=version,
            versions=rules_store.versions(session),
            error=exc.message,
        )
    return RedirectResponse("/discovery/rules", status_code=303)
