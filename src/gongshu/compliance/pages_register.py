"""Pages for impact assessments (PIP-8), the cross-border route (XBR-1..5), the obligations
register (OBL-1..5, SEC-2) and the yearly reports (SEC-6, XBR-4, AUD-7)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import COMPLIANCE_MANAGE, USER_ADMIN
from gongshu.compliance import assessments, crossborder, obligations, reports
from gongshu.compliance.forms import FLASHES, FormStr, Typed, pdf
from gongshu.errors import GongshuError, InvalidInput
from gongshu.timeutil import utcnow
from gongshu.web.deps import FormDep, SessionDep
from gongshu.web.forms import form_errors
from gongshu.web.render import render
from gongshu.workdays import beijing_date

pages = APIRouter(include_in_schema=False)


def _today() -> dt.date:
    return beijing_date(utcnow())


def _org(user: User) -> int:
    if user.org_id is None:
        raise InvalidInput("当前用户不属于任何单位")
    return user.org_id


# ---------------------------------------------------------------- assessments


def _assessment_page(
    request: Request,
    data: dict,
    *,
    session,  # noqa: ANN001
    user: User,
    **extra,  # noqa: ANN003
) -> Response:
    from sqlalchemy import select

    from gongshu.catalog.models import CatalogEntry

    own = (
        list(
            session.scalars(
                select(CatalogEntry)
                .where(CatalogEntry.provider_org_id == user.org_id)
                .order_by(CatalogEntry.resource_code)
            ).unique()
        )
        if user.org_id
        else []
    )
    return render(
        request,
        "compliance_assessment_new.html",
        K=assessments.KINDS,
        T=assessments.TEMPLATE,
        P=assessments.PURPOSES,
        entries=own,
        data=data,
        today=_today(),
        errors=extra.pop("errors", {}),
        **extra,
    )


@pages.get("/compliance/assessments/new")
def assessment_form(
    request: Request, session: SessionDep, user: Annotated[User, requires(COMPLIANCE_MANAGE)]
) -> Response:
    return _assessment_page(request, {}, session=session, user=user)


@pages.post("/compliance/assessments/new")
def assessment_create(
    request: Request,
    form: FormDep,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
) -> Response:
    data = {k: v for k, v in form.items() if k not in ("covers", "entry_ids", "purposes")}
    data["covers"] = form.getlist("covers")
    data["entry_ids"] = [str(e) for e in form.getlist("entry_ids")]
    data["purposes"] = [str(p) for p in form.getlist("purposes")]
    try:
        typed = Typed()
        assessed_on = typed.day(str(data.get("assessed_on", "")), "assessed_on") or _today()
        valid_until = typed.day(str(data.get("valid_until", "")), "valid_until")
        typed.check()
        with session.begin_nested():
            assessments.create(
                session,
                actor=user,
                activity=str(data.get("activity", "")),
                covers=[str(c) for c in data["covers"]],
                answers={k: str(data.get(k, "")) for k in assessments.TEMPLATE},
                conclusion=str(data.get("conclusion", "")),
                assessed_on=assessed_on,
                valid_until=valid_until,
                entry_ids=[int(e) for e in data["entry_ids"] if e.isdigit()],
                purposes=data["purposes"],
            )
    except GongshuError as exc:
        return _assessment_page(
            request, data, status_code=exc.status, session=session, user=user, **form_errors(exc)
        )
    return RedirectResponse("/compliance?flash=assessment", status_code=303)


# ---------------------------------------------------------------- cross-border


@pages.get("/compliance/crossborder")
def crossborder_form(
    request: Request, session: SessionDep, user: Annotated[User, requires(COMPLIANCE_MANAGE)]
) -> Response:
    counts = crossborder.platform_counts(session, _org(user), _today())
    return render(
        request,
        "compliance_crossborder.html",
        counts=counts,
        data={},
        errors={},
        result=None,
        ROUTES=crossborder.ROUTES,
    )


@pages.post("/compliance/crossborder")
def crossborder_assess(
    request: Request,
    posted: FormDep,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
) -> Response:
    form = dict(posted.items())
    counts = crossborder.platform_counts(session, _org(user), _today())
    try:
        typed = Typed()
        counted = {
            name: typed.number(str(form.get(name, "0")), name)
            for name in ("total_people", "people_abroad", "sensitive_abroad")
        }
        typed.check()
        facts = crossborder.Facts(
            important_data=bool(form.get("important_data")), ciio=bool(form.get("ciio")), **counted
        )
        with session.begin_nested():
            result = crossborder.assess(session, actor=user, facts=facts)
    except GongshuError as exc:
        return render(
            request,
            "compliance_crossborder.html",
            counts=counts,
            data=form,
            result=None,
            ROUTES=crossborder.ROUTES,
            status_code=exc.status,
            **form_errors(exc),
        )
    return render(
        request,
        "compliance_crossborder.html",
        counts=counts,
        data=form,
        result=result,
        ROUTES=crossborder.ROUTES,
        errors={},
        consent_note=crossborder.CONSENT_NOTE,
        judicial_note=crossborder.JUDICIAL_NOTE,
    )


# ---------------------------------------------------------------- obligations


def _obligations_page(request: Request, session, user: User, profile, **extra) -> Response:  # noqa: ANN001, ANN003
    register = obligations.register(session, profile, org_id=user.org_id) if profile else []
    return render(
        request,
        "compliance_obligations.html",
        profile=profile,
        register=register,
        level=obligations.platform_level(profile) if profile else None,
        LEVELS=obligations.LEVELS,
        CLASSES=obligations.PLATFORM_CLASSES,
        SERVICES=obligations.SERVICES,
        errors=extra.pop("errors", {}),
        data=extra.pop("data", None),
        **extra,
    )


@pages.get("/compliance/obligations")
def obligations_page(
    request: Request, session: SessionDep, user: Annotated[User, requires(COMPLIANCE_MANAGE)]
) -> Response:
    profile = obligations.get_profile(session, _org(user))
    return _obligations_page(
        request, session, user, profile, flash=FLASHES.get(request.query_params.get("flash", ""))
    )


@pages.post("/compliance/obligations")
def obligations_save(
    request: Request,
    form: FormDep,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
) -> Response:
    try:
        typed = Typed()
        counted = {
            name: typed.number(str(form.get(name, "0")), name)
            for name in ("users", "market_value_yi", "people", "sensitive_people")
        }
        dated = {
            name: typed.day(str(form.get(name, "")), name)
            for name in ("important_identified_on", "service_started_on")
        }
        typed.check()
        profile = obligations.Profile(
            kind=user.org.kind if user.org else "agency",
            platform_classes=[str(c) for c in form.getlist("platform_classes")],
            ciio=bool(form.get("ciio")),
            important_data=bool(form.get("important_data")),
            provides_abroad=bool(form.get("provides_abroad")),
            services=[str(s) for s in form.getlist("services")],
            **counted,
            **dated,
        )
        with session.begin_nested():
            obligations.save_profile(session, _org(user), profile, actor=user)
    except GongshuError as exc:
        current = obligations.get_profile(session, _org(user))
        typed_in = {k: v for k, v in form.items() if k not in ("platform_classes", "services")}
        typed_in["platform_classes"] = [str(c) for c in form.getlist("platform_classes")]
        typed_in["services"] = [str(c) for c in form.getlist("services")]
        return _obligations_page(
            request,
            session,
            user,
            current,
            data=typed_in,
            status_code=exc.status,
            **form_errors(exc),
        )
    return RedirectResponse("/compliance/obligations?flash=profile", status_code=303)


# ---------------------------------------------------------------- yearly reports

YEARLY = {
    "security": reports.security_assessment_report,
    "export": reports.export_report,
    "responsibility": reports.social_responsibility_report,
}


@pages.get("/compliance/reports/{kind}/{year}.pdf")
def yearly_report(
    kind: str, year: int, session: SessionDep, user: Annotated[User, requires(COMPLIANCE_MANAGE)]
) -> Response:
    build = YEARLY.get(kind)
    if build is None:
        raise InvalidInput(f"报告类型无效：{kind}，可选 security、export、responsibility")
    if not 2000 <= year <= _today().year:
        raise InvalidInput(f"报告年度无效：{year}")
    return pdf(build(session, _org(user), year), f"{kind}-{year}")


# ---------------------------------------------------------------- foreign recipients


@pages.get("/compliance/foreign-recipients")
def foreign_page(
    request: Request, session: SessionDep, user: Annotated[User, requires(USER_ADMIN)]
) -> Response:
    return _foreign_page(request, session)


def _foreign_page(
    request: Request, session, *, data: dict | None = None, status_code: int = 200, **failed
) -> Response:  # noqa: ANN001, ANN003, E501
    from sqlalchemy import select

    from gongshu.accounts.models import Organization

    orgs = session.scalars(select(Organization).order_by(Organization.name)).all()
    return render(
        request,
        "compliance_foreign.html",
        status_code=status_code,
        orgs=orgs,
        marked=crossborder.foreign_recipients(session),
        judicial_note=crossborder.JUDICIAL_NOTE,
        data=data or {},
        errors=failed.pop("errors", {}),
        **failed,
    )


@pages.post("/compliance/foreign-recipients")
def foreign_mark(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(USER_ADMIN)],
    org_id: FormStr = "0",
    country: FormStr = "",
    contact: FormStr = "",
    judicial: FormStr = "",
) -> Response:
    try:
        with session.begin_nested():
            crossborder.mark_foreign(
                session,
                int(org_id) if org_id.strip().isdigit() else 0,
                actor=user,
                country=country,
                contact=contact,
                judicial=bool(judicial),
            )
    except InvalidInput as exc:
        data = {"org_id": org_id, "country": country, "contact": contact, "judicial": judicial}
        return _foreign_page(
            request, session, data=data, status_code=exc.status, **form_errors(exc)
        )
    return RedirectResponse("/compliance/foreign-recipients", status_code=303)
