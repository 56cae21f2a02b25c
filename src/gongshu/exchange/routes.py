"""The sharing API under /api/v1/sharing (SHR-2..SHR-6, QUA-3, GOV-2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import (
    CATALOG_READ,
    DATA_RECEIVE,
    SHARING_ANSWER,
    SHARING_APPLY,
    SHARING_DECIDE,
)
from gongshu.exchange import reports, service, supervision
from gongshu.exchange.models import SharingApplication
from gongshu.exchange.schemas import (
    ApprovalCreate,
    DecisionCreate,
    EffectCreate,
    EffectPublic,
    ErrorReportAnswerCreate,
    ErrorReportCreate,
    ErrorReportPublic,
    OverdueApplicationPublic,
    ReferralCreate,
    RefusalCreate,
    SharingApplicationCreate,
    SharingApplicationPublic,
)
from gongshu.timeutil import utcnow
from gongshu.web.bounds import Id
from gongshu.web.deps import SessionDep
from gongshu.workdays import beijing_date

router = APIRouter(prefix="/api/v1/sharing", tags=["sharing"])


def public(session, app: SharingApplication) -> SharingApplicationPublic:  # noqa: ANN001
    derived = {
        "entry_name": app.entry.name,
        "provider_org": app.provider.name,
        "applicant_org": app.applicant_org.name,
        "workdays_left": service.workdays_left(session, app, beijing_date(utcnow())),
    }
    plain = {k: getattr(app, k) for k in SharingApplicationPublic.model_fields if k not in derived}
    return SharingApplicationPublic(**plain, **derived)


@router.post("/applications", response_model=SharingApplicationPublic, status_code=201)
def apply(
    body: SharingApplicationCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_APPLY)],
) -> SharingApplicationPublic:
    data = body.model_dump()
    app = service.apply(session, data.pop("entry_id"), actor=user, **data)
    return public(session, app)


@router.get("/applications", response_model=list[SharingApplicationPublic])
def my_applications(
    session: SessionDep, user: Annotated[User, requires(SHARING_APPLY)]
) -> list[SharingApplicationPublic]:
    return [public(session, a) for a in service.mine(session, user)]


@router.get("/applications/{application_id}", response_model=SharingApplicationPublic)
def application(
    application_id: Id, session: SessionDep, user: Annotated[User, requires(CATALOG_READ)]
) -> SharingApplicationPublic:
    return public(session, service.get_visible(session, application_id, user))


@router.get("/queue", response_model=list[SharingApplicationPublic])
def queue(
    session: SessionDep, user: Annotated[User, requires(SHARING_ANSWER)]
) -> list[SharingApplicationPublic]:
    return [public(session, a) for a in service.to_answer(session, user)]


@router.post("/applications/{application_id}/approve", response_model=SharingApplicationPublic)
def approve(
    application_id: Id,
    body: ApprovalCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
) -> SharingApplicationPublic:
    app = service.approve(session, application_id, actor=user, **body.model_dump())
    return public(session, app)


@router.post("/applications/{application_id}/refuse", response_model=SharingApplicationPublic)
def refuse(
    application_id: Id,
    body: RefusalCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
) -> SharingApplicationPublic:
    app = service.refuse(session, application_id, actor=user, **body.model_dump())
    return public(session, app)


@router.post("/applications/{application_id}/refer", response_model=SharingApplicationPublic)
def refer(
    application_id: Id,
    body: ReferralCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
) -> SharingApplicationPublic:
    return public(session, service.refer(session, application_id, actor=user, note=body.note))


@router.get("/referred", response_model=list[SharingApplicationPublic])
def referred(
    session: SessionDep, user: Annotated[User, requires(SHARING_DECIDE)]
) -> list[SharingApplicationPublic]:
    return [public(session, a) for a in service.referred_to(session, user)]


@router.post("/applications/{application_id}/decide", response_model=SharingApplicationPublic)
def decide(
    application_id: Id,
    body: DecisionCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
) -> SharingApplicationPublic:
    """The data authority decides a referred application (SHR-4)."""
    if body.decision == "approve":
        app = service.approve(session, application_id, actor=user, conditions=body.conditions)
    else:
        app = service.refuse(
            session, application_id, actor=user, reasons=body.reasons, legal_basis=body.legal_basis
        )
    return public(session, app)


@router.get("/overdue", response_model=list[OverdueApplicationPublic])
def overdue(
    session: SessionDep, user: Annotated[User, requires(SHARING_DECIDE)]
) -> list[OverdueApplicationPublic]:
    """Per agency and tier in the authority's area: who is late (GOV-2)."""
    return [
        OverdueApplicationPublic(
            agency=r.org.name,
            tier=tier,
            pending=r.pending,
            overdue=r.overdue,
            unknown_deadline=r.unknown_deadline,
            answered_late=r.answered_late,
            open_error_reports=r.open_error_reports,
            overdue_ids=[a.id for a in r.overdue_items],
        )
        for tier, rows in supervision.agencies(session, user).items()
        for r in rows
    ]


@router.post("/applications/{application_id}/effects", response_model=EffectPublic, status_code=201)
def report_effect(
    application_id: Id,
    body: EffectCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_APPLY)],
) -> EffectPublic:
    effect = reports.report_effect(session, application_id, actor=user, **body.model_dump())
    return EffectPublic.model_validate(effect, from_attributes=True)


@router.post("/error-reports", response_model=ErrorReportPublic, status_code=201)
def report_error(
    body: ErrorReportCreate, session: SessionDep, user: Annotated[User, requires(DATA_RECEIVE)]
) -> ErrorReportPublic:
    data = body.model_dump()
    report = reports.report_error(session, data.pop("entry_id"), actor=user, **data)
    return ErrorReportPublic.model_validate(report, from_attributes=True)


@router.get("/error-reports", response_model=list[ErrorReportPublic])
def my_error_reports(
    session: SessionDep, user: Annotated[User, requires(DATA_RECEIVE)]
) -> list[ErrorReportPublic]:
    return [
        ErrorReportPublic.model_validate(r, from_attributes=True)
        for r in reports.errors_reported(session, user)
    ]


@router.get("/error-reports/queue", response_model=list[ErrorReportPublic])
def error_queue(
    session: SessionDep, user: Annotated[User, requires(SHARING_ANSWER)]
) -> list[ErrorReportPublic]:
    return [
        ErrorReportPublic.model_validate(r, from_attributes=True)
        for r in reports.errors_to_answer(session, user)
    ]


@router.post("/error-reports/{report_id}/answer", response_model=ErrorReportPublic)
def answer_error(
    report_id: Id,
    body: ErrorReportAnswerCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
) -> ErrorReportPublic:
    report = reports.answer_error(session, report_id, actor=user, **body.model_dump())
    return ErrorReportPublic.model_validate(report, from_attributes=True)
