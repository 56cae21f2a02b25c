"""Consent and rights requests over JSON (PIP-1 to PIP-6).

An organization's own systems use a bearer token of one of its users (scope
``consent:record``) and reach only their organization's records.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import (
    ACCOUNT_SELF,
    CONSENT_RECORD,
    PRIVACY_HANDLE,
    PRIVACY_REQUEST,
    PRIVACY_SUPERVISE,
    PUBLIC,
)
from gongshu.privacy import clock, consent, erasure, service
from gongshu.privacy.errors import ConsentNotFound, NotHandler
from gongshu.privacy.letters import letter_pdf
from gongshu.privacy.person import person_hash
from gongshu.privacy.schemas import (
    AuthorizationCreate,
    ConsentAnswerPublic,
    ConsentCheckCreate,
    ConsentCreate,
    ConsentLookupCreate,
    ConsentPublic,
    LegalHoldCreate,
    LegalHoldPublic,
    MatchPublic,
    MatchUpdate,
    NoticeCreate,
    NoticePublic,
    RightsCodeCreate,
    RightsCodePublic,
    RightsRequestCreate,
    RightsRequestPublic,
    WithdrawalCreate,
)
from gongshu.web.bounds import Id
from gongshu.web.deps import SessionDep
from gongshu.web.downloads import media

router = APIRouter(prefix="/api/v1", tags=["privacy"])


def _org(user: User):  # noqa: ANN202
    if user.org is None:
        raise NotHandler("须以机构账户记录同意")
    return user.org


def _public(session, req) -> RightsRequestPublic:  # noqa: ANN001
    out = RightsRequestPublic.model_validate(req, from_attributes=True)
    out.matches = [
        MatchPublic.model_validate(m, from_attributes=True) for m in service.matches(session, req)
    ]
    return out


@router.post("/consents", response_model=ConsentPublic, status_code=201)
def record_consent(
    body: ConsentCreate,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CONSENT_RECORD)],
) -> ConsentPublic:
    """Record a consent given to your organization (PIP-1, PIP-3)."""
    rec = consent.give(
        session,
        org=_org(user),
        id_number=body.id_number,
        purpose=body.purpose,
        method=body.method,
        data_kinds=body.data_kinds,
        on=body.on,
        evidence=body.evidence,
        guardian_id_number=body.guardian_id_number,
        abroad_recipient_org_id=body.abroad_recipient_org_id,
        operator_org_id=body.operator_org_id,
        secret=request.app.state.settings.secret_key,
        actor=user.actor,
    )
    return ConsentPublic.model_validate(rec, from_attributes=True)


@router.post("/consents/{consent_id}/withdraw", response_model=ConsentPublic, status_code=201)
def withdraw_consent(
    consent_id: Id,
    body: WithdrawalCreate,
    session: SessionDep,
    user: Annotated[User, requires(CONSENT_RECORD)],
) -> ConsentPublic:
    """Record a withdrawal received through your own channels (PIP-4): a new record."""
    given = consent.get(session, consent_id)
    if given.org_id != _org(user).id:
        raise ConsentNotFound(f"同意记录不存在：{consent_id}")
    rec = consent.withdraw(session, consent_id, on=body.on, actor=user, reason=body.reason)
    return ConsentPublic.model_validate(rec, from_attributes=True)


@router.post("/consents/check", response_model=ConsentAnswerPublic)
def check_consent(
    body: ConsentCheckCreate,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CONSENT_RECORD)],
) -> ConsentAnswerPublic:
    """Is there valid consent to your organization for this purpose, method and kinds?"""
    answer = consent.check(
        session,
        org_id=_org(user).id,
        person=person_hash(body.id_number, request.app.state.settings.secret_key),
        purpose=body.purpose,
        method=body.method,
        data_kinds=body.data_kinds,
        on=body.on,
    )
    return ConsentAnswerPublic(**answer.__dict__)


@router.post("/consents/lookup", response_model=list[ConsentPublic])
def lookup_consents(
    body: ConsentLookupCreate,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CONSENT_RECORD)],
) -> list[ConsentPublic]:
    """One person's records with your organization (POST: the ID number stays out of URLs)."""
    who = person_hash(body.id_number, request.app.state.settings.secret_key)
    rows = consent.of_org(session, _org(user).id, person=who)
    return [ConsentPublic.model_validate(r, from_attributes=True) for r in rows]


@router.get("/consents", response_model=list[ConsentPublic])
def org_consents(
    session: SessionDep, user: Annotated[User, requires(CONSENT_RECORD)]
) -> list[ConsentPublic]:
    return [
        ConsentPublic.model_validate(r, from_attributes=True)
        for r in consent.of_org(session, _org(user).id)
    ]


@router.post("/privacy/requests/code", response_model=RightsCodePublic, status_code=201)
def request_code(
    body: RightsCodeCreate,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_REQUEST)],
) -> RightsCodePublic:
    """Send a one-time code to the mobile number the resident register holds for the
    verified person; the answer names the number only masked (PIP-5)."""
    from gongshu.accounts.throttle import client_address

    sent_to = service.request_code(
        session,
        user=user,
        id_number=body.id_number,
        checker=request.app.state.identity_checker,
        secret=request.app.state.settings.secret_key,
        caller=client_address(request),
    )
    return RightsCodePublic(sent_to=sent_to)


@router.post("/privacy/requests", response_model=RightsRequestPublic, status_code=201)
def file_request(
    body: RightsRequestCreate,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_REQUEST)],
) -> RightsRequestPublic:
    """A verified person asks to see, copy, transfer, correct, supplement or delete
    their data, or for processing to be explained (PIP-5, PIP-6)."""
    settings = request.app.state.settings
    req = service.file_request(
        session,
        user=user,
        kind=body.kind,
        id_number=body.id_number,
        code=body.code,
        mobile=body.mobile,
        details=body.details,
        corrections=body.corrections,
        secret=settings.secret_key,
        datasets_dir=settings.datasets_dir,
    )
    return _public(session, req)


@router.get("/privacy/requests", response_model=list[RightsRequestPublic])
def my_requests(
    session: SessionDep, user: Annotated[User, requires(PRIVACY_REQUEST)]
) -> list[RightsRequestPublic]:
    return [_public(session, r) for r in service.of_user(session, user)]


@router.get("/privacy/requests/{request_id}", response_model=RightsRequestPublic)
def get_request(
    request_id: Id, session: SessionDep, user: Annotated[User, requires(ACCOUNT_SELF)]
) -> RightsRequestPublic:
    return _public(session, service.get_visible(session, request_id, user))


@router.get("/privacy/requests/{request_id}/letter.pdf", responses=media("application/pdf"))
def reply_letter(
    request_id: Id, session: SessionDep, user: Annotated[User, requires(ACCOUNT_SELF)]
) -> Response:
    """The reply letter, generated from the request's records."""
    req = service.get_visible(session, request_id, user)
    return Response(
        letter_pdf(session, req),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="rights-{req.id}.pdf"'},
    )


@router.get("/privacy/inbox", response_model=list[MatchPublic])
def inbox(
    session: SessionDep, user: Annotated[User, requires(PRIVACY_HANDLE)]
) -> list[MatchPublic]:
    if user.org_id is None:
        return []
    return [
        MatchPublic.model_validate(m, from_attributes=True)
        for m, _ in service.inbox(session, user.org_id)
    ]


@router.post("/privacy/matches/{match_id}/handle", response_model=MatchPublic)
def handle(
    match_id: Id,
    body: MatchUpdate,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_HANDLE)],
) -> MatchPublic:
    """The provider executes its part: delete, correct, export, explain or refuse."""
    settings = request.app.state.settings
    match = service.handle(
        session,
        match_id,
        actor=user,
        action=body.action,
        note=body.note,
        values=body.values,
        mobile_confirmed=body.mobile_confirmed,
        secret=settings.secret_key,
        datasets_dir=settings.datasets_dir,
    )
    return MatchPublic.model_validate(match, from_attributes=True)


@router.get("/privacy/overdue", response_model=list[RightsRequestPublic])
def overdue(
    session: SessionDep, user: Annotated[User, requires(PRIVACY_SUPERVISE)]
) -> list[RightsRequestPublic]:
    return [_public(session, r) for r in clock.overdue(session, area=clock.supervised_area(user))]


@router.post("/privacy/grants/{grant_id}/authorize", status_code=201)
def authorize_use(
    grant_id: Id,
    body: AuthorizationCreate,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_REQUEST)],
) -> dict:
    """Authorize a market entity to use your own data gathered here (PIP-10)."""
    from gongshu.privacy.authorize import authorize
    from gongshu.timeutil import BEIJING, utcnow

    grant = authorize(
        session,
        grant_id,
        user=user,
        org_id=body.org_id,
        purpose=body.purpose,
        days=body.days,
        on=utcnow().astimezone(BEIJING).date(),
    )
    return {"grant_id": grant.id, "expires_at": grant.expires_at, "source_ref": grant.source_ref}


@router.post("/privacy/notices", response_model=NoticePublic, status_code=201)
def publish_notice(
    body: NoticeCreate, session: SessionDep, user: Annotated[User, requires(CONSENT_RECORD)]
) -> NoticePublic:
    """Publish a new version of your organization's processing rules (PIP-7)."""
    from gongshu.privacy import notices

    notice = notices.publish(session, _org(user), body.model_dump(), actor=user.actor)
    return NoticePublic.model_validate(notice, from_attributes=True)


@router.get("/privacy/notices/{org_id}", response_model=NoticePublic)
def get_notice(
    org_id: Id, session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]
) -> NoticePublic:
    """An organization's processing rules in force: public, as PIP-7 requires."""
    from gongshu.privacy import notices
    from gongshu.privacy.errors import NoticeNotFound

    notice = notices.current(session, org_id)
    if notice is None:
        raise NoticeNotFound(f"该单位尚未公布个人信息处理规则：{org_id}")
    return NoticePublic.model_validate(notice, from_attributes=True)


@router.post("/privacy/holds", response_model=LegalHoldPublic, status_code=201)
def place_legal_hold(
    body: LegalHoldCreate,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_SUPERVISE)],
) -> LegalHoldPublic:
    """Keep one stored version out of erasures until the hold ends (PIP-6): a platform
    administrator, or the data authority over the provider's area."""
    hold = erasure.place_hold(
        session,
        body.dataset_version_id,
        actor=user,
        reason=body.reason,
        case_reference=body.case_reference,
        expires_at=body.expires_at,
    )
    return LegalHoldPublic.model_validate(hold, from_attributes=True)


@router.post("/privacy/holds/{hold_id}/release", response_model=LegalHoldPublic)
def release_legal_hold(
    hold_id: Id,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_SUPERVISE)],
) -> LegalHoldPublic:
    """End a hold; erasures it deferred run again at once."""
    hold = erasure.release_hold(session, hold_id, actor=user)
    return LegalHoldPublic.model_validate(hold, from_attributes=True)
