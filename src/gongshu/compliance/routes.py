"""The compliance API under /api/v1/compliance (SEC-10..12, AUD, XBR, OBL)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import ACCOUNT_SELF, AUDIT_CONDUCT, COMPLIANCE_MANAGE
from gongshu.compliance import assessments, audits, crossborder, framework, incidents, obligations
from gongshu.compliance.models import Incident
from gongshu.compliance.schemas import (
    AssessmentCreate,
    AssessmentPublic,
    AuditPublic,
    CrossborderCheckCreate,
    CrossborderRoutePublic,
    IncidentCreate,
    IncidentFactsUpdate,
    IncidentPublic,
    IncidentUpdate,
    ObligationProfileCreate,
    ObligationPublic,
    PointPublic,
    PointUpdate,
    ReportPublic,
)
from gongshu.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/compliance", tags=["compliance"])


def _public(inc: Incident) -> IncidentPublic:
    nxt = incidents.next_due(inc)
    return IncidentPublic(
        id=inc.id,
        title=inc.title,
        org=inc.org.name,
        found_at=inc.found_at,
        occurred_at=inc.occurred_at,
        grade=inc.grade,
        handled_at=inc.handled_at,
        reports=[
            ReportPublic(
                code=r.code,
                title=incidents.RULES[r.code].title,
                recipient=incidents.RULES[r.code].recipient,
                basis=incidents.RULES[r.code].basis,
                due_at=r.due_at,
                due_warning=r.due_warning,
                submitted_at=r.submitted_at,
            )
            for r in inc.reports
        ],
        next_due=nxt.code if nxt else None,
    )


@router.post("/incidents", response_model=IncidentPublic, status_code=201)
def record_incident(
    body: IncidentCreate, session: SessionDep, user: Annotated[User, requires(COMPLIANCE_MANAGE)]
) -> IncidentPublic:
    return _public(incidents.record_incident(session, actor=user, **body.model_dump()))


@router.get("/incidents/{incident_id}", response_model=IncidentPublic)
def incident(
    incident_id: int, session: SessionDep, user: Annotated[User, requires(ACCOUNT_SELF)]
) -> IncidentPublic:
    return _public(incidents.get_visible(session, incident_id, user))


@router.post("/incidents/{incident_id}/handled", response_model=IncidentPublic)
def handled(
    incident_id: int,
    body: IncidentUpdate,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
) -> IncidentPublic:
    return _public(incidents.mark_handled(session, incident_id, actor=user, at=body.handled_at))


@router.post("/incidents/{incident_id}/facts", response_model=IncidentPublic)
def update_facts(
    incident_id: int,
    body: IncidentFactsUpdate,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
) -> IncidentPublic:
    """Raise the grade or correct the facts; new obligations start their clocks."""
    return _public(incidents.update_facts(session, incident_id, actor=user, **body.model_dump()))


@router.post("/crossborder/route", response_model=CrossborderRoutePublic)
def transfer_route(
    body: CrossborderCheckCreate, user: Annotated[User, requires(COMPLIANCE_MANAGE)]
) -> CrossborderRoutePublic:
    chosen, reasons = crossborder.route(crossborder.Facts(**body.model_dump()))
    return CrossborderRoutePublic(
        route=chosen,
        label=crossborder.ROUTES[chosen],
        reasons=reasons,
        notes=[crossborder.CONSENT_NOTE, crossborder.JUDICIAL_NOTE],
    )


@router.post("/obligations", response_model=list[ObligationPublic])
def obligations_register(
    body: ObligationProfileCreate,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
) -> list[ObligationPublic]:
    profile = obligations.Profile(**body.model_dump())
    found = obligations.register(session, profile, org_id=user.org_id)
    return [ObligationPublic(**o.__dict__) for o in found]


@router.get("/frameworks/pia-a")
def pia_a(user: Annotated[User, requires(ACCOUNT_SELF)]) -> dict:
    """The PIA-A library file (CISO Assistant's format: URNs, requirement nodes)."""
    return framework.library()


@router.post("/audits/{audit_id}/points/{point}", response_model=PointPublic)
def assess_point(
    audit_id: int,
    point: int,
    body: PointUpdate,
    session: SessionDep,
    user: Annotated[User, requires(AUDIT_CONDUCT)],
) -> PointPublic:
    row = audits.assess(session, audit_id, point, actor=user, **body.model_dump())
    return PointPublic(point=row.point, result=row.result, findings=row.findings, live=row.live)


@router.post("/assessments", response_model=AssessmentPublic, status_code=201)
def create_assessment(
    body: AssessmentCreate, session: SessionDep, user: Annotated[User, requires(COMPLIANCE_MANAGE)]
) -> AssessmentPublic:
    """Record an impact assessment of the caller's organization (PIP-8)."""
    item = assessments.create(session, actor=user, **body.model_dump())
    return AssessmentPublic.model_validate(item, from_attributes=True)


@router.get("/audits/{audit_id}", response_model=AuditPublic)
def audit(
    audit_id: int, session: SessionDep, user: Annotated[User, requires(ACCOUNT_SELF)]
) -> AuditPublic:
    """An engagement with every assessed point and its live evidence snapshot."""
    a = audits.get_visible(session, audit_id, user)
    done = audits.results(session, a.id)
    return AuditPublic(
        id=a.id,
        subject=a.subject.name,
        trigger=a.trigger,
        conductor=a.conductor,
        institution=a.institution.name if a.institution else None,
        due_at=a.due_at,
        due_warning=a.due_warning,
        signed_at=a.signed_at,
        points=[
            PointPublic(point=p, result=r.result, findings=r.findings, live=r.live)
            for p, r in sorted(done.items())
        ],
    )
