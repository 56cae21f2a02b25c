"""Reading data through grants: the API face of the egress door."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import CATALOG_EDIT, DATA_RECEIVE, IDENTITY_VERIFY
from gongshu.egress import service
from gongshu.egress.download import file_response
from gongshu.web.bounds import MAX_INT, Code, Id, Name, Text
from gongshu.web.deps import SessionDep, read_first
from gongshu.web.downloads import DATA_MEDIA, media
from gongshu.web.render import render

router = APIRouter(prefix="/api/v1", tags=["egress"])
pages = APIRouter(include_in_schema=False)


class GrantPublic(BaseModel):
    id: int
    entry_id: int
    dataset_version_id: int | None
    recipient_user_id: int | None
    recipient_org_id: int | None
    columns: list[str] | None
    row_filter: list[dict]
    purpose: str
    source: str
    expires_at: datetime
    revoked_at: datetime | None


class GrantCreate(BaseModel):
    scenario: Name


class RevocationCreate(BaseModel):
    reason: Text


def _public(grant) -> GrantPublic:  # noqa: ANN001
    return GrantPublic.model_validate(grant, from_attributes=True)


def _file(
    request: Request,
    session,
    grant_id: int,
    user: User,
    fmt: str,  # noqa: ANN001
    offset: int,
    limit: int | None,
) -> StreamingResponse:
    settings = request.app.state.settings
    out = service.deliver(
        session,
        grant_id,
        actor=user,
        fmt=fmt,
        offset=offset,
        limit=limit,
        datasets_dir=settings.datasets_dir,
        work_dir=settings.data_dir / "egress",
        secret=settings.secret_key,
    )
    # The delivery and its ledger entry are durable before the first byte leaves.
    session.commit()
    return file_response(out)


@router.get("/grants", response_model=list[GrantPublic])
def my_grants(
    session: SessionDep, user: Annotated[User, requires(DATA_RECEIVE)]
) -> list[GrantPublic]:
    return [_public(g) for g in service.grants_for(session, user)]


@router.post("/catalog/{entry_id}/grants", response_model=GrantPublic, status_code=201)
def take(
    entry_id: Id,
    body: GrantCreate,
    session: SessionDep,
    user: Annotated[User, requires(DATA_RECEIVE)],
) -> GrantPublic:
    """Obtain unconditional-share data for your agency, stating the scenario (SHR-2)."""
    return _public(
        service.take_unconditional(session, entry_id, actor=user, scenario=body.scenario)
    )


@router.get("/grants/{grant_id}/data", responses=media(*DATA_MEDIA))
@read_first()
def read_data(
    grant_id: Id,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(DATA_RECEIVE)],
    format: Annotated[str, Query(pattern="^(csv|json|parquet)$", max_length=7)] = "json",
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=100000)] = 1000,
) -> StreamingResponse:
    """Rows under the grant: masked by its policy, watermarked, recorded (SHR-5)."""
    return _file(request, session, grant_id, user, format, offset, limit)


@router.post("/grants/{grant_id}/revoke", response_model=GrantPublic)
def revoke(
    grant_id: Id,
    body: RevocationCreate,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_EDIT)],
) -> GrantPublic:
    return _public(service.revoke_grant(session, grant_id, actor=user, reason=body.reason))


@pages.get("/grants")
def grants_page(
    request: Request, session: SessionDep, user: Annotated[User, requires(DATA_RECEIVE)]
) -> Response:
    from gongshu.catalog import service as catalog

    grants = service.grants_for(session, user)
    entries = {g.entry_id: catalog.get(session, g.entry_id) for g in grants}
    return render(request, "grants.html", grants=grants, entries=entries)


@pages.get("/grants/{grant_id}/download")
@read_first()
def download(
    grant_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(DATA_RECEIVE)],
    format: Annotated[str, Query(pattern="^(csv|json|parquet)$", max_length=7)] = "csv",
) -> Response:
    return _file(request, session, grant_id, user, format, 0, None)


@pages.post("/catalog/{entry_id}/take")
def take_page(
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(DATA_RECEIVE)],
    scenario: Annotated[str, Form()] = "",
) -> Response:
    service.take_unconditional(session, entry_id, actor=user, scenario=scenario)
    return RedirectResponse("/grants", status_code=303)


class IdentityCheckCreate(BaseModel):
    name: Name
    id_number: Code
    mobile: Code


class IdentityCheckPublic(BaseModel):
    match: bool


@router.post("/identity/verify", response_model=IdentityCheckPublic)
def verify_identity(
    body: IdentityCheckCreate,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(IDENTITY_VERIFY)],
) -> IdentityCheckPublic:
    """核验: does this name, resident ID number and mobile belong together in the
    resident register? Only for an organization with an active grant on the register;
    the answer is match or no match, nothing else (the check is recorded)."""
    from gongshu.egress.verify import check_for_agency

    found = check_for_agency(
        session,
        request.app.state.identity_checker,
        user,
        name=body.name,
        id_number=body.id_number,
        mobile=body.mobile,
    )
    return IdentityCheckPublic(match=found)
