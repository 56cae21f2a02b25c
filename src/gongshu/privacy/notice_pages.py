"""Pages for processing rules (PIP-7): public reading, an organization publishing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import Organization, User
from gongshu.accounts.permissions import CONSENT_RECORD, PUBLIC
from gongshu.entities import ENTITY_LABELS
from gongshu.privacy import notices
from gongshu.privacy.errors import NotHandler, NoticeNotFound
from gongshu.privacy.models import NOTICE_SECTIONS
from gongshu.web.deps import SessionDep
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]


@pages.get("/privacy/notices/{org_id}")
def notice_page(
    org_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
) -> Response:
    org = session.get(Organization, org_id)
    notice = notices.current(session, org_id) if org else None
    if notice is None:
        raise NoticeNotFound(f"该单位尚未公布个人信息处理规则：{org_id}")
    return render(
        request,
        "privacy_notice.html",
        org=org,
        notice=notice,
        S=NOTICE_SECTIONS,
        E=ENTITY_LABELS,
    )


@pages.get("/privacy/notice")
def notice_form(
    request: Request, session: SessionDep, user: Annotated[User, requires(CONSENT_RECORD)]
) -> Response:
    current = notices.current(session, user.org_id) if user.org_id else None
    return render(
        request, "privacy_notice_form.html", current=current, S=NOTICE_SECTIONS, E=ENTITY_LABELS
    )


@pages.post("/privacy/notice")
def notice_publish(
    session: SessionDep,
    user: Annotated[User, requires(CONSENT_RECORD)],
    functions: FormStr = "",
    retention: FormStr = "",
    rights_channels: FormStr = "",
    third_party_code: FormStr = "",
    third_parties: FormStr = "",
    risks: FormStr = "",
    complaints: FormStr = "",
    officer_contact: FormStr = "",
) -> Response:
    if user.org is None:
        raise NotHandler("须以机构账户公布处理规则")
    notices.publish(
        session,
        user.org,
        {
            "functions": notices.parse_functions(functions),
            "retention": retention,
            "rights_channels": rights_channels,
            "third_party_code": third_party_code,
            "third_parties": third_parties,
            "risks": risks,
            "complaints": complaints,
            "officer_contact": officer_contact,
        },
        actor=user.actor,
    )
    return RedirectResponse(f"/privacy/notices/{user.org_id}", status_code=303)
