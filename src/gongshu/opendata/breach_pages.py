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
from gongshu.errors import Conflict, GongshuError, InvalidField, InvalidInput
from gongshu.opendata import agreements, breaches
from gongshu.web.deps import SessionDep
from gongshu.web.forms import form_errors, keyed, refused
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
# A refused decision comes back on the desk beside its field (issue 17 item 6); a
# missing right or record still ends on the error page.
REFUSED = (InvalidInput, Conflict)
FLASHES = {
    "decided": "已认定违约并责令限期改正。下一步：期限届满后确认改正或作出罚款决定。",
    "corrected": "已确认改正，违约处理结束。",
    "fined": "罚款决定已作出并记录。",
}


@pages.get("/open/breaches")
def breach_desk(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
    done: str = "",
) -> Response:
    """OPN-5: the data authority's desk: signed agreements in its area, their breaches."""
    return _desk(request, session, user, flash=FLASHES.get(done))


def _desk(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    *,
    flash: str | None = None,
    failed: GongshuError | None = None,
    typed: dict | None = None,
    key: str = "",
) -> Response:
    """The desk; after a refused decision the same page, each message beside its
    field of that card (``name-key``), what was typed kept."""
    signed = breaches.agreements_in_area(session, user)
    said = keyed(form_errors(failed) if failed is not None else {"errors": {}}, key)
    return render(
        request,
        "open_breaches.html",
        status_code=failed.status if failed is not None else 200,
        flash=flash,
        data={f"{k}-{key}": v for k, v in (typed or {}).items()},
        **said,
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
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
    finding: FormStr = "",
    correction_order: FormStr = "",
    correction_workdays: FormStr = "",
) -> Response:
    try:
        breaches.decide(
            session,
            agreement_id,
            actor=user,
            finding=finding,
            correction_order=correction_order,
            correction_workdays=_whole(
                correction_workdays, "改正期限（工作日）", "correction_workdays"
            ),
        )
    except REFUSED as exc:
        refused(session, exc)
        typed = {
            "finding": finding,
            "correction_order": correction_order,
            "correction_workdays": correction_workdays,
        }
        return _desk(request, session, user, failed=exc, typed=typed, key=f"a{agreement_id}")
    return RedirectResponse("/open/breaches?done=decided", status_code=303)


@pages.post("/open/breaches/{breach_id}/correction")
def breach_corrected(
    breach_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
    note: FormStr = "",
) -> Response:
    try:
        breaches.confirm_correction(session, breach_id, actor=user, note=note)
    except REFUSED as exc:
        refused(session, exc)
        return _desk(request, session, user, failed=exc, typed={"note": note}, key=f"c{breach_id}")
    return RedirectResponse("/open/breaches?done=corrected", status_code=303)


@pages.post("/open/breaches/{breach_id}/fine")
def breach_fine(
    breach_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
    amount_yuan: FormStr = "",
    reason: FormStr = "",
    note: FormStr = "",
) -> Response:
    try:
        breaches.impose_fine(
            session,
            breach_id,
            actor=user,
            amount_yuan=_whole(amount_yuan, "罚款金额（元）", "amount_yuan"),
            reason=reason,
            note=note,
        )
    except REFUSED as exc:
        refused(session, exc)
        typed = {"amount_yuan": amount_yuan, "reason": reason, "note": note}
        return _desk(request, session, user, failed=exc, typed=typed, key=f"f{breach_id}")
    return RedirectResponse("/open/breaches?done=fined", status_code=303)


def _whole(value: str, what: str, field: str) -> int:
    """A whole number typed in a form, or the error beside its field."""
    text = (value or "").strip()
    if not text.isdigit():
        raise InvalidField(f"{what}须为整数，收到：{text or '空'}", field=field)
    return int(text)
