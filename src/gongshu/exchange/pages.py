"""Sharing pages in Simplified Chinese: apply, 我的申请, 待答复, 转报决定, supervision (GOV-2)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import (
    CATALOG_READ,
    DATA_RECEIVE,
    SHARING_ANSWER,
    SHARING_APPLY,
    SHARING_DECIDE,
    TIERS,
)
from gongshu.catalog import search as catalog_search
from gongshu.catalog import service as catalog
from gongshu.errors import GongshuError, InvalidInput
from gongshu.exchange import reports, service, supervision
from gongshu.exchange.models import ERROR_STATUS_LABELS, STATUS_LABELS
from gongshu.timeutil import BEIJING, utcnow
from gongshu.web.deps import SessionDep
from gongshu.web.forms import form_errors
from gongshu.web.render import render
from gongshu.workdays import beijing_date

pages = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]
FormList = Annotated[list[str] | None, Form()]
STATUS = STATUS_LABELS
ERROR_STATUS = ERROR_STATUS_LABELS
FLASHES = {
    "applied": "申请已提交，数据提供单位应在 10 个工作日内答复。",
    "approved": "已同意共享，已生成数据授权。",
    "refused": "已答复不予共享。",
    "referred": "已报同级数据管理部门决定。",
    "effect": "应用成效已报告。",
    "error": "数据错误已反馈数据提供单位。",
    "answered": "已答复数据错误反馈。",
}


def _today() -> dt.date:
    return beijing_date(utcnow())


def _ctx(session, apps) -> dict:  # noqa: ANN001
    today = _today()
    return {
        "apps": apps,
        "left": {a.id: service.workdays_left(session, a, today) for a in apps},
        "S": STATUS,
        "ES": ERROR_STATUS,
    }


def _apply_page(request: Request, session, entry_id: int, user: User, **extra):  # noqa: ANN001, ANN003, ANN202
    entry = catalog.get(session, entry_id)
    if not catalog_search.can_see(entry, user):
        entry = None
    extra.setdefault("errors", {})
    return render(request, "sharing_apply.html", entry=entry, data=extra.pop("data", {}), **extra)


@pages.get("/sharing/apply/{entry_id}")
def apply_form(
    request: Request,
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_APPLY)],
) -> Response:
    return _apply_page(request, session, entry_id, user)


@pages.post("/sharing/apply/{entry_id}")
def apply(
    request: Request,
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_APPLY)],
    reason: FormStr = "",
    legal_basis: FormStr = "",
    use: FormStr = "",
    scenario: FormStr = "",
    term_days: FormStr = "",
    requested_fields: FormList = None,
) -> Response:
    data = {
        "reason": reason,
        "legal_basis": legal_basis,
        "use": use,
        "scenario": scenario,
        "term_days": term_days,
        "requested_fields": requested_fields or [],
    }
    try:
        with session.begin_nested():
            app = service.apply(
                session,
                entry_id,
                actor=user,
                reason=reason,
                legal_basis=legal_basis,
                use=use,
                scenario=scenario,
                requested_fields=requested_fields or [],
                term_days=int(term_days) if term_days.strip().isdigit() else 0,
            )
    except GongshuError as exc:
        return _apply_page(
            request, session, entry_id, user, data=data, status_code=exc.status, **form_errors(exc)
        )
    return RedirectResponse(f"/sharing/applications/{app.id}?flash=applied", status_code=303)


@pages.get("/sharing/mine")
def mine(
    request: Request, session: SessionDep, user: Annotated[User, requires(SHARING_APPLY)]
) -> Response:
    return render(
        request,
        "sharing_mine.html",
        errors=reports.errors_reported(session, user),
        **_ctx(session, service.mine(session, user)),
    )


@pages.get("/sharing/queue")
def queue(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
    flash: str | None = None,
) -> Response:
    return render(
        request,
        "sharing_queue.html",
        errors=reports.errors_to_answer(session, user),
        flash=FLASHES.get(flash or ""),
        **_ctx(session, service.to_answer(session, user)),
    )


@pages.get("/sharing/referred")
def referred(
    request: Request, session: SessionDep, user: Annotated[User, requires(SHARING_DECIDE)]
) -> Response:
    return render(
        request, "sharing_referred.html", **_ctx(session, service.referred_to(session, user))
    )


@pages.get("/sharing/supervision")
def supervision_page(
    request: Request, session: SessionDep, user: Annotated[User, requires(SHARING_DECIDE)]
) -> Response:
    tiers = supervision.agencies(session, user)
    # Chart data: plain numbers only (the page's ECharts bar chart, GOV-2).
    chart = [
        {
            "name": r.org.name,
            "overdue": r.overdue,
            "pending": r.pending,
            "unknown": r.unknown_deadline,
            "errors": r.open_error_reports,
        }
        for rows in tiers.values()
        for r in rows
    ]
    trend = supervision.trends(session, user)
    trend["tier_labels"] = {t: TIERS.get(t, t) for t in trend["late_by_tier"]}
    return render(
        request,
        "sharing_supervision.html",
        chart=chart,
        trend=trend,
        tiers=tiers,
        stale=supervision.stale_entries(session, user),
        now=utcnow(),
        S=STATUS,
    )


@pages.get("/sharing/applications/{application_id}")
def application(
    request: Request,
    application_id: int,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    flash: str | None = None,
) -> Response:
    return _application_page(request, session, application_id, user, flash=flash)


def _application_page(  # noqa: ANN202
    request: Request,
    session,  # noqa: ANN001
    application_id: int,
    user: User,
    *,
    flash: str | None = None,
    failed: GongshuError | None = None,
    typed: dict | None = None,
):
    """The application; after a refused answer the same page with each message beside
    its field and what was typed kept (issue 17 item 6)."""
    app = service.get_visible(session, application_id, user)
    org = user.org
    return render(
        request,
        "sharing_application.html",
        status_code=failed.status if failed is not None else 200,
        app=app,
        left=service.workdays_left(session, app, _today()),
        effects=reports.effects_of(session, app.id),
        S=STATUS,
        is_provider=app.status == "submitted"
        and user.org_id == app.provider_org_id
        and "sharing:answer" in user.scopes,
        is_authority=app.status == "referred"
        and org is not None
        and org.region_code == app.referred_region_code
        and "sharing:decide" in user.scopes,
        is_applicant=app.status == "approved" and user.org_id == app.applicant_org_id,
        now_local=utcnow().astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M"),
        flash=_said(app, flash),
        data=typed or {},
        **(form_errors(failed) if failed is not None else {"errors": {}}),
    )


def _said(app, flash: str | None) -> str | None:  # noqa: ANN001
    """The flash after a step; a new application is told its reference number and
    the next step (issue 17 item 6)."""
    from gongshu.capability import reference

    if flash == "applied":
        # The deadline is 24:00 of its last day: name that day.
        last = beijing_date(app.deadline - dt.timedelta(seconds=1)) if app.deadline else None
        due = f"（{last:%Y-%m-%d} 当天结束前）" if last else ""
        return (
            f"申请已提交，受理编号 {reference('GXSQ', app.received_at, app.id)}。"
            f"下一步：数据提供单位应在 10 个工作日内{due}答复，进度见“我的申请”。"
        )
    return FLASHES.get(flash or "")


def _back(application_id: int, flash: str) -> RedirectResponse:
    return RedirectResponse(
        f"/sharing/applications/{application_id}?flash={flash}", status_code=303
    )


@pages.post("/sharing/applications/{application_id}/approve")
def approve(
    request: Request,
    application_id: int,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
    conditions: FormStr = "",
) -> Response:
    try:
        service.approve(session, application_id, actor=user, conditions=conditions)
    except InvalidInput as exc:
        return _application_page(
            request, session, application_id, user, failed=exc, typed={"conditions": conditions}
        )
    return _back(application_id, "approved")


@pages.post("/sharing/applications/{application_id}/refuse")
def refuse(
    request: Request,
    application_id: int,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
    reasons: FormStr = "",
    legal_basis: FormStr = "",
) -> Response:
    try:
        service.refuse(
            session, application_id, actor=user, reasons=reasons, legal_basis=legal_basis
        )
    except InvalidInput as exc:
        typed = {"reasons": reasons, "legal_basis": legal_basis}
        return _application_page(request, session, application_id, user, failed=exc, typed=typed)
    return _back(application_id, "refused")


@pages.post("/sharing/applications/{application_id}/refer")
def refer(
    request: Request,
    application_id: int,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
    note: FormStr = "",
) -> Response:
    try:
        service.refer(session, application_id, actor=user, note=note)
    except InvalidInput as exc:
        return _application_page(
            request, session, application_id, user, failed=exc, typed={"note": note}
        )
    return _back(application_id, "referred")


@pages.post("/sharing/applications/{application_id}/decide")
def decide(
    request: Request,
    application_id: int,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
    decision: FormStr = "",
    conditions: FormStr = "",
    reasons: FormStr = "",
    legal_basis: FormStr = "",
) -> Response:
    typed = {"conditions": conditions, "reasons": reasons, "legal_basis": legal_basis}
    try:
        if decision == "approve":
            service.approve(session, application_id, actor=user, conditions=conditions)
            return _back(application_id, "approved")
        service.refuse(
            session, application_id, actor=user, reasons=reasons, legal_basis=legal_basis
        )
    except InvalidInput as exc:
        return _application_page(request, session, application_id, user, failed=exc, typed=typed)
    return _back(application_id, "refused")


@pages.post("/sharing/applications/{application_id}/effects")
def report_effect(
    application_id: int,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_APPLY)],
    text: FormStr = "",
) -> Response:
    reports.report_effect(session, application_id, actor=user, text=text)
    return _back(application_id, "effect")


@pages.post("/sharing/applications/{application_id}/errors")
def report_error(
    application_id: int,
    session: SessionDep,
    user: Annotated[User, requires(DATA_RECEIVE)],
    field: FormStr = "",
    row_description: FormStr = "",
    description: FormStr = "",
    found_at: FormStr = "",
) -> Response:
    app = service.get_visible(session, application_id, user)
    try:
        found = dt.datetime.fromisoformat(found_at).replace(tzinfo=BEIJING)
    except ValueError:
        raise InvalidInput(f"发现时间格式无效：{found_at!r}") from None
    reports.report_error(
        session,
        app.entry_id,
        actor=user,
        field=field,
        row_description=row_description,
        description=description,
        found_at=found,
    )
    return _back(application_id, "error")


@pages.post("/sharing/errors/{report_id}/answer")
def answer_error(
    report_id: int,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
    status: FormStr = "",
    answer: FormStr = "",
) -> Response:
    reports.answer_error(session, report_id, actor=user, status=status, answer=answer)
    return RedirectResponse("/sharing/queue?flash=answered", status_code=303)
