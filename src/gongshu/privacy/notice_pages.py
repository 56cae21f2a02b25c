"""Pages for processing rules (PIP-7): public reading, an organization publishing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import Organization, User
from gongshu.accounts.permissions import CONSENT_RECORD, PUBLIC
from gongshu.entities import ENTITY_LABELS
from gongshu.errors import Conflict, GongshuError, InvalidInput
from gongshu.privacy import notices
from gongshu.privacy.errors import NotHandler, NoticeNotFound
from gongshu.privacy.models import NOTICE_SECTIONS
from gongshu.web.deps import SessionDep
from gongshu.web.forms import form_errors, refused
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]


@pages.get("/privacy/notices/{org_id}")
def notice_page(
    org_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
    published: int = 0,
) -> Response:
    org = session.get(Organization, org_id)
    notice = notices.current(session, org_id) if org else None
    if notice is None:
        raise NoticeNotFound(f"该单位尚未公布个人信息处理规则：{org_id}")
    return render(
        request,
        "privacy_notice.html",
        flash=(
            f"已公布第 {published} 版处理规则。此后记录的同意注明所依据的版本。"
            if published
            else None
        ),
        org=org,
        notice=notice,
        S=NOTICE_SECTIONS,
        E=ENTITY_LABELS,
    )


@pages.get("/privacy/notice")
def notice_form(
    request: Request, session: SessionDep, user: Annotated[User, requires(CONSENT_RECORD)]
) -> Response:
    return _notice_form(request, session, user)


def _notice_form(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    *,
    failed: GongshuError | None = None,
    typed: dict | None = None,
) -> Response:
    """The form, filled with the current version at first; after a refused
    publication the same form, each message beside its section, what was typed kept."""
    current = notices.current(session, user.org_id) if user.org_id else None
    data = typed
    if data is None and current is not None:
        data = {k: current.sections[k] for k in NOTICE_SECTIONS if k != "functions"}
        data["functions"] = "".join(
            f"{f['function']}：{'、'.join(ENTITY_LABELS.get(k, k) for k in f['kinds'])}\n"
            for f in current.sections["functions"]
        )
    return render(
        request,
        "privacy_notice_form.html",
        status_code=failed.status if failed is not None else 200,
        current=current,
        S=NOTICE_SECTIONS,
        E=ENTITY_LABELS,
        data=data or {},
        **(form_errors(failed) if failed is not None else {"errors": {}}),
    )


@pages.post("/privacy/notice")
def notice_publish(
    request: Request,
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
    typed = {
        "functions": functions,
        "retention": retention,
        "rights_channels": rights_channels,
        "third_party_code": third_party_code,
        "third_parties": third_parties,
        "risks": risks,
        "complaints": complaints,
        "officer_contact": officer_contact,
    }
    try:
        notice = notices.publish(
            session,
            user.org,
            {**typed, "functions": notices.parse_functions(functions)},
            actor=user.actor,
        )
    except (InvalidInput, Conflict) as exc:
        refused(session, exc)
        return _notice_form(request, session, user, failed=exc, typed=typed)
    return RedirectResponse(
        f"/privacy/notices/{user.org_id}?published={notice.version_no}", status_code=303
    )
