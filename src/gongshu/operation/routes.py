"""The operation API under /api/v1/operation and /api/v1/procurement (OPR-1..9, TRD-9)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import (
    CATALOG_READ,
    OPERATION_AUTHORIZE,
    OPERATION_RUN,
    PROCUREMENT_REQUEST,
    PROCUREMENT_REVIEW,
    PUBLIC,
)
from gongshu.errors import InvalidField
from gongshu.operation import disclosure, procurement, products, service
from gongshu.operation import runs as operation_runs
from gongshu.operation.schemas import (
    AgreementPublic,
    DisposalCreate,
    ProcurementCreate,
    ProcurementPublic,
    ProcurementReviewCreate,
    ProductCreate,
    ProductPublic,
    RunCreate,
    RunPublic,
)
from gongshu.timeutil import BEIJING, utcnow
from gongshu.web.bounds import Days, FilledName, FilledText, Id, Year
from gongshu.web.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["operation"])


def run_settings(request: Request) -> operation_runs.RunSettings:
    s = request.app.state.settings
    return operation_runs.RunSettings(
        datasets_dir=s.datasets_dir,
        secret=s.secret_key,
        min_group=s.sandbox_min_group,
        timeout=s.sandbox_timeout_seconds,
        memory_limit=s.sandbox_memory_limit,
        max_rows=s.sandbox_max_rows,
    )


def _agreement(a) -> AgreementPublic:  # noqa: ANN001
    return AgreementPublic.model_validate(a, from_attributes=True)


def _run(r) -> RunPublic:  # noqa: ANN001
    return RunPublic.model_validate(r, from_attributes=True)


def parse_entries(text: str) -> list[dict]:
    try:
        items = json.loads(text or "[]")
    except ValueError as exc:
        raise InvalidField("授权范围格式错误，应为 JSON 列表", field="entries") from exc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidField("授权范围格式错误，应为 JSON 列表", field="entries")
    return items


@router.post("/operation/agreements", response_model=AgreementPublic, status_code=201)
def authorize(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPERATION_AUTHORIZE)],
    operator_org_id: Annotated[Id, Form()],
    title: Annotated[FilledName, Form()],
    entries: Annotated[FilledText, Form(description='[{"entry_id": 1, "policy": "open"}]')],
    term_days: Annotated[Days, Form()],
    revenue_method: Annotated[FilledText, Form()],
    security_requirements: Annotated[FilledText, Form()],
    disposal: Annotated[FilledText, Form()],
    risk_report: Annotated[UploadFile, File()],
) -> AgreementPublic:
    """Authorize an operator by agreement (OPR-1, OPR-2); not-open entries per OPR-3."""
    data = risk_report.file.read()
    path, sha = service.store_report(
        data, risk_report.filename or "report", data_dir=request.app.state.settings.data_dir
    )
    agreement = service.authorize(
        session,
        actor=user,
        operator_org_id=operator_org_id,
        title=title,
        entries=parse_entries(entries),
        term_days=term_days,
        revenue_method=revenue_method,
        security_requirements=security_requirements,
        disposal=disposal,
        report_name=risk_report.filename or "report",
        report_path=path,
        report_sha256=sha,
    )
    return _agreement(agreement)


@router.get("/operation/agreements", response_model=list[AgreementPublic])
def agreements(
    session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]
) -> list[AgreementPublic]:
    return [_agreement(a) for a in service.agreements(session, user)]


@router.get("/operation/agreements/{agreement_id}", response_model=AgreementPublic)
def agreement(
    agreement_id: Id, session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]
) -> AgreementPublic:
    return _agreement(service.get_visible(session, agreement_id, user))


@router.post("/operation/agreements/{agreement_id}/runs", response_model=RunPublic, status_code=201)
def run(
    agreement_id: Id,
    body: RunCreate,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPERATION_RUN)],
) -> RunPublic:
    """Run SQL in the sandbox; a refused result answers 409 naming the rule (OPR-4)."""
    return _run(
        operation_runs.run_query(
            session, agreement_id, body.sql, actor=user, settings=run_settings(request)
        )
    )


@router.get("/operation/agreements/{agreement_id}/runs", response_model=list[RunPublic])
def runs(
    agreement_id: Id, session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]
) -> list[RunPublic]:
    service.get_visible(session, agreement_id, user)
    return [_run(r) for r in operation_runs.runs_of(session, agreement_id)]


@router.post("/operation/runs/{run_id}/product", response_model=ProductPublic, status_code=201)
def product(
    run_id: Id,
    body: ProductCreate,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPERATION_RUN)],
) -> ProductPublic:
    """A passed result as a product entry; the operator receives it via /api/v1/grants."""
    entry = products.materialize_product(
        session,
        run_id,
        actor=user,
        name=body.name,
        summary=body.summary,
        datasets_dir=request.app.state.settings.datasets_dir,
    )
    grant = products.product_grant(session, entry, actor=user)
    return ProductPublic(
        entry_id=entry.id,
        resource_code=entry.resource_code,
        name=entry.name,
        scope=entry.scope,
        grant_id=grant.id,
    )


@router.post("/operation/agreements/{agreement_id}/disposal", response_model=AgreementPublic)
def dispose(
    agreement_id: Id,
    body: DisposalCreate,
    session: SessionDep,
    user: Annotated[User, requires(OPERATION_RUN)],
) -> AgreementPublic:
    return _agreement(service.confirm_disposal(session, agreement_id, actor=user, note=body.note))


@router.post("/operation/expire", response_model=list[int])
def expire(session: SessionDep, user: Annotated[User, requires(OPERATION_AUTHORIZE)]) -> list[int]:
    """Stop every agreement past its term now (also done before each sandbox run)."""
    return [a.id for a in service.expire_due(session)]


@router.get("/operation/operators/{org_id}/activity")
def activity(
    org_id: Id,
    session: SessionDep,
    user: Annotated[User, requires(OPERATION_AUTHORIZE)],
    days: Days = 30,
) -> dict:
    """The operator's activity day by day, from the ledger (OPR-9)."""
    end = utcnow().astimezone(BEIJING).date()
    act = disclosure.activity(session, org_id, end - timedelta(days=max(1, days) - 1), end)
    return {
        "days": [vars(d) | {"day": d.day.isoformat()} for d in act.days],
        "refusals_by_rule": dict(act.rules),
    }


@router.get("/operation/operators/{org_id}/disclosure")
def disclosure_json(
    org_id: Id,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
    year: Year | None = None,
) -> dict:
    """The operator's yearly public disclosure of how public data was used (OPR-6)."""
    year = year or utcnow().astimezone(BEIJING).year
    d = disclosure.yearly(session, org_id, year)
    return {
        "operator": d.operator.name if d.operator else None,
        "period": [date(year, 1, 1).isoformat(), date(year, 12, 31).isoformat()],
        "runs_passed": d.runs_passed,
        "runs_refused": d.runs_refused,
        "entries": [{"entry": e.id, "name": e.name, "runs": n} for e, n in d.entries],
        "products": [{"entry": p.id, "name": p.name, "deliveries": n} for p, n in d.products],
        "deliveries_by_recipient_kind": d.by_kind,
    }


@router.post("/procurement/requests", response_model=ProcurementPublic, status_code=201)
def file_request(
    body: ProcurementCreate,
    session: SessionDep,
    user: Annotated[User, requires(PROCUREMENT_REQUEST)],
) -> ProcurementPublic:
    req = procurement.file_request(session, actor=user, **body.model_dump())
    return ProcurementPublic.model_validate(req, from_attributes=True)


@router.get("/procurement/requests", response_model=list[ProcurementPublic])
def my_requests(
    session: SessionDep, user: Annotated[User, requires(PROCUREMENT_REQUEST)]
) -> list[ProcurementPublic]:
    return [
        ProcurementPublic.model_validate(r, from_attributes=True)
        for r in procurement.requests_for(session, user)
    ]


@router.post("/procurement/requests/{request_id}/review", response_model=ProcurementPublic)
def review(
    request_id: Id,
    body: ProcurementReviewCreate,
    session: SessionDep,
    user: Annotated[User, requires(PROCUREMENT_REVIEW)],
) -> ProcurementPublic:
    req = procurement.review(session, request_id, actor=user, **body.model_dump())
    return ProcurementPublic.model_validate(req, from_attributes=True)
