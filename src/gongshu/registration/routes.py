"""Registration JSON API: apply and change (REGISTRATION_APPLY), review and the REG-1
gaps (REGISTRATION_REVIEW), and the public registry look-up and certificate (PUBLIC)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import PUBLIC, REGISTRATION_APPLY, REGISTRATION_REVIEW
from gongshu.registration import gaps, service
from gongshu.registration.certificate import certificate_pdf
from gongshu.registration.errors import NotRegistrant
from gongshu.registration.models import Registration
from gongshu.registration.schemas import (
    RegistrationCreate,
    RegistrationPublic,
    RegistrationReviewCreate,
    RegistrationUpdate,
    RegistryRecordPublic,
)
from gongshu.web.bounds import Code, Id
from gongshu.web.deps import SessionDep
from gongshu.web.downloads import media

router = APIRouter(prefix="/api/v1", tags=["registration"])


def _public(reg: Registration) -> RegistrationPublic:
    return RegistrationPublic.model_validate(reg, from_attributes=True)


def registry_record(reg: Registration) -> RegistryRecordPublic:
    snap = reg.approved_snapshot or {}
    return RegistryRecordPublic(
        code=reg.code,
        valid=True,
        kind=snap["kind"],
        name=snap["name"],
        registrant=snap.get("registrant") or "",
        rights=snap.get("rights") or [],
        acting_for=snap.get("acting_for"),
        description=snap.get("description") or "",
        processing_summary=snap.get("processing_summary") or "",
        sources=snap.get("sources") or [],
        issuer=snap.get("issuer"),
        approved_version_no=reg.approved_version_no,
        approved_at=reg.approved_at,
        pending_change=reg.status != "approved",
    )


@router.post("/registrations", response_model=RegistrationPublic, status_code=201)
def apply(
    body: RegistrationCreate,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_APPLY)],
) -> RegistrationPublic:
    """Register a data resource or product for your organization (REG-2, REG-4)."""
    return _public(service.apply(session, body.model_dump(), actor=user))


@router.get("/registrations", response_model=list[RegistrationPublic])
def mine(
    session: SessionDep, user: Annotated[User, requires(REGISTRATION_APPLY)]
) -> list[RegistrationPublic]:
    if user.org_id is None:
        return []
    return [_public(r) for r in service.of_org(session, user.org_id)]


@router.get("/registrations/{reg_id}", response_model=RegistrationPublic)
def get_one(
    reg_id: Id, session: SessionDep, user: Annotated[User, requires(REGISTRATION_APPLY)]
) -> RegistrationPublic:
    reg = service.get(session, reg_id)
    if "admin" not in user.roles and reg.registrant_org_id != user.org_id:
        raise NotRegistrant("只能查看本单位的登记")
    return _public(reg)


@router.patch("/registrations/{reg_id}", response_model=RegistrationPublic)
def change(
    reg_id: Id,
    body: RegistrationUpdate,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_APPLY)],
) -> RegistrationPublic:
    """A change is a new version with its diff, reviewed again; the code stays."""
    return _public(service.update(session, reg_id, body.model_dump(exclude_unset=True), actor=user))


@router.get("/registrations/{reg_id}/versions")
def versions(
    reg_id: Id, session: SessionDep, user: Annotated[User, requires(REGISTRATION_APPLY)]
) -> list[dict]:
    get_one(reg_id, session, user)
    return [
        {
            "version_no": v.version_no,
            "action": v.action,
            "changes": v.changes,
            "actor": v.actor,
            "comment": v.comment,
            "created_at": v.created_at,
        }
        for v in service.versions(session, reg_id)
    ]


@router.get("/registration-review", response_model=list[RegistrationPublic])
def review_queue(
    session: SessionDep, user: Annotated[User, requires(REGISTRATION_REVIEW)]
) -> list[RegistrationPublic]:
    return [_public(r) for r in service.queue(session, user)]


@router.post("/registration-review/{reg_id}/approve", response_model=RegistrationPublic)
def approve(
    reg_id: Id,
    body: RegistrationReviewCreate,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_REVIEW)],
) -> RegistrationPublic:
    """Approve; the first approval issues the registration code (REG-3)."""
    return _public(service.approve(session, reg_id, actor=user, comment=body.comment))


@router.post("/registration-review/{reg_id}/return", response_model=RegistrationPublic)
def return_(
    reg_id: Id,
    body: RegistrationReviewCreate,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_REVIEW)],
) -> RegistrationPublic:
    return _public(service.return_(session, reg_id, actor=user, comment=body.comment))


@router.get("/registration-gaps")
def registration_gaps(
    session: SessionDep, user: Annotated[User, requires(REGISTRATION_REVIEW)]
) -> list[dict]:
    """REG-1: operated public data and derived products not yet registered."""
    return [
        {
            "kind": g.kind,
            "org": g.org.name,
            "entry_id": g.entry.id,
            "entry": g.entry.name,
            "registration_id": g.registration.id if g.registration else None,
            "message": g.message,
        }
        for g in gaps.gaps(session)
    ]


@router.get("/registry/{code}", response_model=RegistryRecordPublic)
def registry(
    code: Code, session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]
) -> RegistryRecordPublic:
    """Anyone looks a registration code up (no login)."""
    return registry_record(service.lookup(session, code))


@router.get("/registry/{code}/certificate.pdf", responses=media("application/pdf"))
def certificate(
    code: Code, session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]
) -> Response:
    reg = service.lookup(session, code)
    return Response(
        certificate_pdf(reg),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{reg.code}.pdf"'},
    )
