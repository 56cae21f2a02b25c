"""Operation pages in Simplified Chinese: agreements, the sandbox, activity (OPR-9),
the public disclosure (OPR-6) and procurement requests (TRD-9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from gongshu.accounts.deps import requires
from gongshu.accounts.models import Organization, User
from gongshu.accounts.permissions import (
    CATALOG_READ,
    OPERATION_AUTHORIZE,
    OPERATION_RUN,
    PROCUREMENT_REQUEST,
    PROCUREMENT_REVIEW,
    PUBLIC,
)
from gongshu.capability import reference
from gongshu.catalog.models import CatalogEntry
from gongshu.egress.models import MaskingPolicy
from gongshu.errors import Conflict, GongshuError, InvalidField, InvalidInput
from gongshu.operation import disclosure, procurement, products, runs, service
from gongshu.operation.routes import parse_entries, run_settings
from gongshu.timeutil import BEIJING, utcnow
from gongshu.web.deps import SessionDep
from gongshu.web.forms import form_errors, keyed, refused
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
STATUS = {"active": "有效", "expired": "已到期", "disposed": "已确认处置"}
RUN_STATUS = {"passed": "通过披露检查", "refused": "已拒绝", "failed": "失败"}
BASIS = {"open": "开放数据", "desensitized": "脱敏后运营", "consent": "权利人同意"}
PROC_STATUS = {"submitted": "待审核", "approved": "已同意", "refused": "不予同意"}
# A refused post comes back on its own page (issue 17 item 6); a missing right or
# record still ends on the error page.
REFUSED = (InvalidInput, Conflict)


def _said(failed: GongshuError | None, typed: dict | None, key: str = "") -> dict:
    """``errors``/``error``, ``data`` and the status of a page after a refused post
    (each field keyed ``name-key`` when the page has one such form per card)."""
    said = keyed(form_errors(failed) if failed is not None else {"errors": {}}, key)
    data = {(f"{k}-{key}" if key else k): v for k, v in (typed or {}).items()}
    return {"status_code": failed.status if failed else 200, "data": data, **said}


def _ctx(session, user: User, agreement, **extra) -> dict:  # noqa: ANN001
    return {
        "a": agreement,
        "runs": runs.runs_of(session, agreement.id),
        "S": STATUS,
        "RS": RUN_STATUS,
        "B": BASIS,
        "P": dict(session.execute(select(MaskingPolicy.name, MaskingPolicy.title)).all()),
        "mine": user.org_id == agreement.operator_org_id or "admin" in user.roles,
        "notes": runs.withheld_notes,  # rows the gates kept back from a run (OPR-3)
        **extra,
    }


@pages.get("/operation")
def index(
    request: Request, session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]
) -> Response:
    mine = products.products_of(session, user.org_id) if user.org_id else []
    return render(
        request,
        "operation_index.html",
        agreements=service.agreements(session, user),
        products=mine,
        S=STATUS,
    )


@pages.get("/operation/new")
def new_form(
    request: Request, session: SessionDep, user: Annotated[User, requires(OPERATION_AUTHORIZE)]
) -> Response:
    return _form(request, session)


def _form(
    request: Request,
    session,  # noqa: ANN001
    *,
    failed: GongshuError | None = None,
    typed: dict | None = None,
) -> Response:
    operators = list(session.scalars(select(Organization).where(Organization.kind == "operator")))
    entries = list(
        session.scalars(
            select(CatalogEntry)
            .where(CatalogEntry.published_version.is_not(None), CatalogEntry.scope == "public")
            .order_by(CatalogEntry.resource_code)
        ).unique()
    )
    return render(
        request,
        "operation_new.html",
        operators=operators,
        entries=entries,
        **_said(failed, typed),
    )


@pages.post("/operation/agreements")
def create(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPERATION_AUTHORIZE)],
    risk_report: Annotated[UploadFile, File()],
    operator_org_id: FormStr = "",
    title: FormStr = "",
    entries: FormStr = "[]",
    term_days: FormStr = "365",
    revenue_method: FormStr = "",
    security_requirements: FormStr = "",
    disposal: FormStr = "",
) -> Response:
    typed = {
        "operator_org_id": operator_org_id,
        "title": title,
        "entries": entries,
        "term_days": term_days,
        "revenue_method": revenue_method,
        "security_requirements": security_requirements,
        "disposal": disposal,
    }
    try:
        with session.begin_nested():
            data = risk_report.file.read()
            path, sha = service.store_report(
                data, risk_report.filename or "", data_dir=request.app.state.settings.data_dir
            )
            agreement = service.authorize(
                session,
                actor=user,
                operator_org_id=int(operator_org_id) if operator_org_id.isdigit() else 0,
                title=title,
                entries=parse_entries(entries),
                term_days=int(term_days) if term_days.strip().isdigit() else 0,
                revenue_method=revenue_method,
                security_requirements=security_requirements,
                disposal=disposal,
                report_name=risk_report.filename or "report",
                report_path=path,
                report_sha256=sha,
            )
    except REFUSED as exc:
        return _form(request, session, failed=exc, typed=typed)
    return RedirectResponse(f"/operation/agreements/{agreement.id}?flash=1", status_code=303)


@pages.get("/operation/agreements/{agreement_id}")
def detail(
    agreement_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    flash: str | None = None,
) -> Response:
    return _agreement_page(request, session, agreement_id, user, flash=flash)


def _agreement_page(
    request: Request,
    session,  # noqa: ANN001
    agreement_id: int,
    user: User,
    *,
    flash: str | None = None,
    failed: GongshuError | None = None,
    typed: dict | None = None,
) -> Response:
    agreement = service.get_visible(session, agreement_id, user)
    msg = {
        "1": "授权运营协议已生效，已为授权范围内的目录生成授权。"
        "下一步：运营机构可在本页的沙箱中查询。",
        "product": "已生成数据产品。",
        "disposed": "已确认到期处置，处置情况已记录。",
    }
    return render(
        request,
        "operation_agreement.html",
        flash=msg.get(flash or ""),
        **_ctx(session, user, agreement, **_said(failed, typed)),
    )


@pages.post("/operation/agreements/{agreement_id}/run")
def run(
    agreement_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPERATION_RUN)],
    sql: FormStr = "",
) -> Response:
    agreement = service.get_visible(session, agreement_id, user)
    result, failed = None, None
    try:
        result = runs.run_query(
            session, agreement_id, sql, actor=user, settings=run_settings(request)
        )
    except REFUSED as exc:  # the refused run is on record; the page names the rule
        # beside the query: whatever the rule, it is the query that was refused
        failed = exc if getattr(exc, "field", "") else InvalidField(exc.message, field="sql")
        failed.status = exc.status
    shown = _preview(request, session, user, result) if result is not None else None
    return render(
        request,
        "operation_agreement.html",
        **_ctx(
            session,
            user,
            agreement,
            result=result,
            preview=shown,
            sql=sql,
            **_said(failed, {"sql": sql}),
        ),
    )


def _preview(request: Request, session, user: User, run) -> dict:  # noqa: ANN001
    return products.preview(
        session, run.id, actor=user, datasets_dir=request.app.state.settings.datasets_dir
    )


@pages.get("/operation/runs/{run_id}")
def run_page(
    run_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPERATION_RUN)],
    flash: str | None = None,
) -> Response:
    """A passed run again: its first rows with the columns' types, and the product made
    from it (linked) or the form to make one."""
    return _run_page(request, session, run_id, user, flash=flash)


def _run_page(
    request: Request,
    session,  # noqa: ANN001
    run_id: int,
    user: User,
    *,
    flash: str | None = None,
    failed: GongshuError | None = None,
    typed: dict | None = None,
) -> Response:
    result = runs.get_run(session, run_id)
    agreement = service.get_visible(session, result.agreement_id, user)
    shown = _preview(request, session, user, result)
    product_entry = (
        session.get(CatalogEntry, result.product_entry_id) if result.product_entry_id else None
    )
    return render(
        request,
        "operation_agreement.html",
        flash="已生成数据产品。" if flash == "product" else None,
        **_ctx(
            session,
            user,
            agreement,
            result=result,
            preview=shown,
            product_entry=product_entry,
            sql=result.sql,
            **_said(failed, typed),
        ),
    )


@pages.post("/operation/runs/{run_id}/product")
def product(
    run_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPERATION_RUN)],
    name: FormStr = "",
    summary: FormStr = "",
) -> Response:
    try:
        entry = products.materialize_product(
            session,
            run_id,
            actor=user,
            name=name,
            summary=summary,
            datasets_dir=request.app.state.settings.datasets_dir,
        )
        products.product_grant(session, entry, actor=user)
    except REFUSED as exc:
        refused(session, exc)
        typed = {"name": name, "summary": summary}
        return _run_page(request, session, run_id, user, failed=exc, typed=typed)
    return RedirectResponse(f"/operation/runs/{run_id}?flash=product", status_code=303)


@pages.post("/operation/agreements/{agreement_id}/dispose")
def dispose(
    agreement_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPERATION_RUN)],
    note: FormStr = "",
) -> Response:
    try:
        service.confirm_disposal(session, agreement_id, actor=user, note=note)
    except REFUSED as exc:
        refused(session, exc)
        return _agreement_page(
            request, session, agreement_id, user, failed=exc, typed={"note": note}
        )
    return RedirectResponse(f"/operation/agreements/{agreement_id}?flash=disposed", status_code=303)


@pages.get("/operation/operators/{org_id}/activity")
def activity(
    org_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPERATION_AUTHORIZE)],
    days: int = 30,
) -> Response:
    end = utcnow().astimezone(BEIJING).date()
    act = disclosure.activity(
        session, org_id, end - timedelta(days=max(1, min(days, 366)) - 1), end
    )
    return render(
        request,
        "operation_activity.html",
        org=session.get(Organization, org_id),
        act=act,
    )


def _disclosure(session, org_id: int, year: int | None):  # noqa: ANN001, ANN202
    year = year or utcnow().astimezone(BEIJING).year
    return year, disclosure.yearly(session, org_id, year)


@pages.get("/disclosure/{org_id}")
def disclosure_page(
    org_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
    year: int | None = None,
) -> Response:
    """The operator's public disclosure of how public data was used (OPR-6)."""
    year, d = _disclosure(session, org_id, year)
    if d.operator is None or d.operator.kind != "operator":
        return render(request, "error.html", status_code=404, message="运营机构不存在", status=404)
    return render(request, "operation_disclosure.html", d=d, year=year)


@pages.get("/disclosure/{org_id}/report.pdf")
def disclosure_pdf(
    org_id: int,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
    year: int | None = None,
) -> Response:
    from gongshu.documents import render_pdf

    year, d = _disclosure(session, org_id, year)
    if d.operator is None or d.operator.kind != "operator":
        return Response("not found", status_code=404)
    return Response(
        render_pdf(disclosure.document(d)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="disclosure-{org_id}-{year}.pdf"'},
    )


@pages.get("/procurement")
def procurement_page(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PROCUREMENT_REQUEST)],
    filed: int | None = None,
) -> Response:
    return _procurement(request, session, user, review=False, filed=filed)


def _procurement(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    *,
    review: bool,
    failed: GongshuError | None = None,
    typed: dict | None = None,
    key: str = "",
    filed: int | None = None,
    flash: str | None = None,
) -> Response:
    """The agency's requests or the authority's queue; a refused post comes back on it."""
    reqs = procurement.requests_for(session, user)
    mine = next((r for r in reqs if filed is not None and r.id == filed), None)
    if mine is not None:
        flash = (
            f"采购申请已提交，受理编号 {reference('CGSQ', mine.created_at, mine.id)}。"
            "下一步：数据管理部门审核，结果见下表。"
        )
    return render(
        request,
        "procurement.html",
        reqs=reqs,
        PS=PROC_STATUS,
        review=review,
        flash=flash,
        **_said(failed, typed, key),
    )


@pages.post("/procurement")
def procurement_file(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PROCUREMENT_REQUEST)],
    data_wanted: FormStr = "",
    purpose: FormStr = "",
    legal_basis: FormStr = "",
    budget: FormStr = "",
) -> Response:
    try:
        filed = procurement.file_request(
            session,
            actor=user,
            data_wanted=data_wanted,
            purpose=purpose,
            legal_basis=legal_basis,
            budget=budget,
        )
    except REFUSED as exc:
        refused(session, exc)
        typed = {
            "data_wanted": data_wanted,
            "purpose": purpose,
            "legal_basis": legal_basis,
            "budget": budget,
        }
        return _procurement(request, session, user, review=False, failed=exc, typed=typed)
    return RedirectResponse(f"/procurement?filed={filed.id}", status_code=303)


@pages.get("/procurement/queue")
def procurement_queue(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PROCUREMENT_REVIEW)],
    done: str = "",
) -> Response:
    said = {"approve": "已同意采购并生成授权。", "refuse": "已不予同意，理由已告知申请单位。"}
    return _procurement(request, session, user, review=True, flash=said.get(done))


@pages.post("/procurement/{request_id}/review")
def procurement_review(
    request_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PROCUREMENT_REVIEW)],
    decision: FormStr = "",
    reason: FormStr = "",
    resource_code: FormStr = "",
) -> Response:
    try:
        procurement.review(
            session,
            request_id,
            actor=user,
            approve=decision == "approve",
            reason=reason,
            entry_id=procurement.entry_by_code(session, resource_code),
        )
    except REFUSED as exc:
        refused(session, exc)
        typed = {"reason": reason, "resource_code": resource_code}
        return _procurement(
            request, session, user, review=True, failed=exc, typed=typed, key=f"r{request_id}"
        )
    done = "approve" if decision == "approve" else "refuse"
    return RedirectResponse(f"/procurement/queue?done={done}", status_code=303)
