"""The data authority's desk for OPN-5: signed open-use agreements in its area, the
breaches it decides on them, corrections it confirms and fines within the legal range."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import SHARING_DECIDE
from gongshu.catalog import service as catalog
from gongshu.errors import InvalidInput
from gongshu.opendata import agreements, breaches
from gongshu.web.deps import SessionDep
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]


@pages.get("/open/breaches")
def breach_desk(
    request: Request, session: SessionDep, user: Annotated[User, requires(SHARING_DECIDE)]
) -> Response:
    """OPN-5: the data authority's desk: signed agreements in its area, their breaches."""
    signed = breaches.agreements_in_area(session, user)
    return render(
        request,
        "open_breaches.html",
        agreements=signed,
        entries={a.entry_id: catalog.get(session, a.entry_id) for a in signed},
        breaches={a.id: agreements.breaches_of(session, a.id) for a in signed},
        reasons=breaches.FINE_REASONS,
        limit=breaches.MAX_CORRECTION_WORKDAYS,
        fine_range=(breaches.FINE_MIN_YUAN, breaches.FINE_MAX_YUAN),
    )


@pages.post("/open/agreements/{agreement_id}/breaches")
def breach_decide(
    agreement_id: int,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
    finding: FormStr = "",
    correction_order: FormStr = "",
    correction_workdays: FormStr = "",
) -> Response:
    breaches.decide(
        session,
        agreement_id,
        actor=user,
        finding=finding,
        correction_order=correction_order,
        correction_workdays=_whole(correction_workdays, "改正期限（工作日）"),
    )
    return RedirectResponse("/open/breaches", status_code=303)


@pages.post("/open/breaches/{breach_id}/correction")
def breach_corrected(
    breach_id: int,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
    note: FormStr = "",
) -> Response:
    breaches.confirm_correction(session, breach_id, actor=user, note=note)
    return RedirectResponse("/open/breaches", status_code=303)


@pages.post("/open/breaches/{breach_id}/fine")
def breach_fine(
    breach_id: int,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
    amount_yuan: FormStr = "",
    reason: FormStr = "",
    note: FormStr = "",
) -> Response:
    breaches.impose_fine(
        session,
        breach_id,
        actor=user,
        amount_yuan=_whole(amount_yuan, "罚款金额（元）"),
        reason=reason,
        note=note,
    )
    return RedirectResponse("/open/breaches", status_code=303)


def _whole(value: str, what: str) -> int:
    """A whole number typed in a form, or the error naming the field."""
    text = (value or "").strip()
    if not text.isdigit():
        raise InvalidInput(f"{what}须为整数，收到：{text or '空'}")
    return int(text)
