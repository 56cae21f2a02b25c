"""Compliance pages in Simplified Chinese: overview, incidents with countdown, audits on
the 31 points, impact assessments, cross-border route, obligations, report PDFs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import ACCOUNT_SELF, COMPLIANCE_MANAGE, COMPLIANCE_SUPERVISE
from gongshu.compliance import assessments, audits, incidents, reports
from gongshu.compliance.forms import FLASHES, FormStr, Typed, pdf
from gongshu.errors import Conflict, GongshuError, InvalidInput
from gongshu.timeutil import utcnow
from gongshu.web.deps import FormDep, SessionDep
from gongshu.web.forms import form_errors
from gongshu.web.render import render
from gongshu.workdays import beijing_date

pages = APIRouter(include_in_schema=False)


def _today() -> dt.date:
    return beijing_date(utcnow())


# ---------------------------------------------------------------- overview


@pages.get("/compliance")
def overview(
    request: Request, session: SessionDep, user: Annotated[User, requires(COMPLIANCE_MANAGE)]
) -> Response:
    items = incidents.listing(session, user)
    return render(
        request,
        "compliance_overview.html",
        incidents=items,
        next_due={i.id: incidents.next_due(i) for i in items},
        countdown=incidents.countdown,
        R=incidents.RULES,
        G=incidents.GRADE_LABELS,
        audits=audits.listing(session, user),
        next_audit=_next_audit(session, user),
        assessments=assessments.listing(session, user.org_id),
        K=assessments.KINDS,
        year=_today().year - 1,
        flash=FLASHES.get(request.query_params.get("flash", "")),
    )


def _next_audit(session, user: User) -> tuple | None:  # noqa: ANN001
    """AUD-1: when the next audit is due, from the organization's profile (people processed)."""
    from gongshu.compliance import obligations

    profile = obligations.get_profile(session, user.org_id) if user.org_id else None
    if profile is None or profile.people == 0:
        return None
    return audits.next_due(session, user.org_id, profile.people)


# ---------------------------------------------------------------- incidents


@pages.get("/compliance/incidents/new")
def incident_form(request: Request, user: Annotated[User, requires(COMPLIANCE_MANAGE)]) -> Response:
    return render(
        request, "compliance_incident_new.html", G=incidents.GRADE_LABELS, data={}, errors={}
    )


@pages.post("/compliance/incidents/new")
def incident_create(
    request: Request,
    posted: FormDep,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
) -> Response:
    form = dict(posted.items())
    try:
        facts = {k: form.get(k, "") for k in incidents.FIELDS_TEXT}
        typed = Typed()
        found_at = typed.moment(form.get("found_at", ""), "found_at", "事件发现时间")
        occurred_at = typed.moment(form.get("occurred_at", ""), "occurred_at", "事件发生时间")
        people_affected = typed.number(form.get("people_affected", "0"), "people_affected")
        ransom_date = typed.day(form.get("ransom_date", ""), "ransom_date")
        typed.check()
        with session.begin_nested():
            inc = incidents.record_incident(
                session,
                actor=user,
                title=form.get("title", ""),
                found_at=found_at,
                occurred_at=occurred_at,
                grade=form.get("grade", "general"),
                personal_info=bool(form.get("personal_info")),
                important_data=bool(form.get("important_data")),
                people_affected=people_affected,
                harm_done=bool(form.get("harm_done")),
                ransom_amount=form.get("ransom_amount", ""),
                ransom_method=form.get("ransom_method", ""),
                ransom_date=ransom_date,
                **facts,
            )
    except GongshuError as exc:
        return render(
            request,
            "compliance_incident_new.html",
            G=incidents.GRADE_LABELS,
            data=form,
            status_code=exc.status,
            **form_errors(exc),
        )
    return RedirectResponse(f"/compliance/incidents/{inc.id}?flash=incident", status_code=303)


@pages.get("/compliance/incidents/{incident_id}")
def incident_page(
    request: Request,
    incident_id: int,
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
) -> Response:
    return _incident_page(request, session, user, incident_id)


def _incident_page(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    incident_id: int,
    *,
    status_code: int = 200,
    data: dict | None = None,
    **failed: object,
) -> Response:
    """The incident page; a refused form on it comes back with its message beside the
    field and what was typed kept (issue 17 item 6)."""
    inc = incidents.get_visible(session, incident_id, user)
    return render(
        request,
        "compliance_incident.html",
        status_code=status_code,
        inc=inc,
        R=incidents.RULES,
        G=incidents.GRADE_LABELS,
        nxt=incidents.next_due(inc),
        countdown=incidents.countdown,
        on_time=incidents.on_time,
        mine=user.org_id == inc.org_id,
        flash=FLASHES.get(request.query_params.get("flash", "")),
        data=data or {},
        errors=failed.pop("errors", {}),
        **failed,
    )


def _refused(
    request: Request, session, user: User, incident_id: int, exc: GongshuError, data: dict
) -> Response:  # noqa: ANN001, E501
    session.expire_all()
    return _incident_page(
        request,
        session,
        user,
        incident_id,
        status_code=exc.status,
        data=data,
        **form_errors(exc),
    )


@pages.post("/compliance/incidents/{incident_id}/handled")
def incident_handled(
    incident_id: int,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
    request: Request,
    handled_at: FormStr = "",
) -> Response:
    try:
        typed = Typed()
        at = typed.moment(handled_at, "handled_at", "处置结束时间")
        typed.check()
        with session.begin_nested():
            incidents.mark_handled(session, incident_id, actor=user, at=at)
    except (InvalidInput, Conflict) as exc:
        return _refused(request, session, user, incident_id, exc, {"handled_at": handled_at})
    return RedirectResponse(f"/compliance/incidents/{incident_id}?flash=handled", status_code=303)


@pages.post("/compliance/incidents/{incident_id}/facts")
def incident_facts(
    incident_id: int,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
    grade: FormStr = "",
    people_affected: FormStr = "0",
    personal_info: FormStr = "",
    important_data: FormStr = "",
    harm_done: FormStr = "",
    *,
    request: Request,
) -> Response:
    """Raise (or correct) the grade and facts: new obligations start their clocks."""
    try:
        typed = Typed()
        people = typed.number(people_affected, "people_affected", "受影响人数")
        typed.check()
        with session.begin_nested():
            incidents.update_facts(
                session,
                incident_id,
                actor=user,
                grade=grade,
                people_affected=people,
                personal_info=bool(personal_info),
                important_data=bool(important_data),
                harm_done=bool(harm_done),
            )
    except (InvalidInput, Conflict) as exc:
        data = {"grade": grade, "people_affected": people_affected, "facts": True}
        return _refused(request, session, user, incident_id, exc, data)
    return RedirectResponse(f"/compliance/incidents/{incident_id}?flash=facts", status_code=303)


@pages.post("/compliance/incidents/{incident_id}/reports/{code}")
def incident_submit(
    incident_id: int,
    code: str,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
    request: Request,
) -> Response:
    try:
        with session.begin_nested():
            incidents.submit_report(session, incident_id, code, actor=user)
    except (InvalidInput, Conflict) as exc:
        return _refused(request, session, user, incident_id, exc, {})
    return RedirectResponse(f"/compliance/incidents/{incident_id}?flash=reported", status_code=303)


@pages.get("/compliance/incidents/{incident_id}/reports/{code}.pdf")
def incidentpdf(
    incident_id: int,
    code: str,
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
) -> Response:
    inc = incidents.get_visible(session, incident_id, user)
    report = next((r for r in inc.reports if r.code == code), None)
    if report is None:
        raise InvalidInput(f"该事件没有此项报告义务：{code}")
    return pdf(reports.incident_report(inc, report), f"incident-{inc.id}-{code}")


@pages.post("/compliance/incidents/{incident_id}/notifications")
def incident_notify(
    incident_id: int,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
    channel: FormStr = "",
    recipients: FormStr = "0",
    text: FormStr = "",
    *,
    request: Request,
) -> Response:
    data = {"channel": channel, "recipients": recipients, "text": text}
    try:
        typed = Typed()
        count = typed.number(recipients, "recipients", "通知人数")
        typed.check()
        with session.begin_nested():
            incidents.notify(
                session, incident_id, actor=user, channel=channel, recipients=count, text=text
            )
    except (InvalidInput, Conflict) as exc:
        return _refused(request, session, user, incident_id, exc, data)
    return RedirectResponse(f"/compliance/incidents/{incident_id}?flash=notified", status_code=303)


@pages.get("/compliance/supervision")
def supervision(
    request: Request, session: SessionDep, user: Annotated[User, requires(COMPLIANCE_SUPERVISE)]
) -> Response:
    items = incidents.listing(session, user)
    return render(
        request,
        "compliance_supervision.html",
        incidents=items,
        next_due={i.id: incidents.next_due(i) for i in items},
        countdown=incidents.countdown,
        R=incidents.RULES,
        G=incidents.GRADE_LABELS,
        audits=audits.listing(session, user),
    )


from gongshu.compliance.pages_audits import pages as _audit_pages  # noqa: E402
from gongshu.compliance.pages_register import pages as _register_pages  # noqa: E402

pages.include_router(_audit_pages)
pages.include_router(_register_pages)
