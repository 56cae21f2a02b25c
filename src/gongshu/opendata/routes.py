"""Open-data JSON API (/api/v1/open/...) and the DCAT-AP 3 export.

Browsing and the DCAT export are public (OPN-1); declaring a use, applying
and signing need OPEN_APPLY; answering or referring an application is the
provider's (SHARING_ANSWER, as in SHR-4); deciding a referred application and
deciding breaches is the data authority's (SHARING_DECIDE; OPN-3, OPN-5).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import OPEN_APPLY, PUBLIC, SHARING_ANSWER, SHARING_DECIDE
from gongshu.opendata import agreements, breaches, dcat, service
from gongshu.opendata.entries import all_open, get_open, latest_versions
from gongshu.opendata.search import FACETS, search
from gongshu.web.bounds import Count, Days, Id, Limit, Name, Names, Search, Text
from gongshu.web.deps import SessionDep, read_only

router = APIRouter(tags=["opendata"])


class UseDeclarationCreate(BaseModel):
    use: Name
    scenario: Name


class OpenApplicationCreate(BaseModel):
    use: Name
    scenario: Name
    security_measures: Text
    fields: Names | None = None
    term_days: Days = service.DEFAULT_TERM_DAYS


class OpenApplicationAnswerCreate(BaseModel):
    approve: bool
    reason: Text = ""
    legal_basis: Text = ""
    conditions: Text = ""


class OpenReferralCreate(BaseModel):
    note: Text


class BreachCreate(BaseModel):
    finding: Text
    correction_order: Text
    correction_workdays: Days


class BreachCorrectionCreate(BaseModel):
    note: Text


class BreachFineCreate(BaseModel):
    amount_yuan: Count
    reason: Text  # overdue | serious
    note: Text


def _iso(value) -> str | None:  # noqa: ANN001
    return value.isoformat() if value else None


def _breach(b) -> dict:  # noqa: ANN001
    return {
        "id": b.id,
        "agreement_id": b.agreement_id,
        "authority_org_id": b.authority_org_id,
        "finding": b.finding,
        "correction_order": b.correction_order,
        "correction_workdays": b.correction_workdays,
        "deadline": _iso(b.deadline),
        "deadline_warning": b.deadline_warning,
        "penalty_clause": b.penalty_clause,
        "corrected_at": _iso(b.corrected_at),
        "fine_yuan": b.fine_yuan,
        "fine_reason": b.fine_reason,
        "decided_by": b.recorded_by,
        "decided_at": _iso(b.created_at),
    }


def _application(a) -> dict:  # noqa: ANN001
    return {
        "id": a.id,
        "entry_id": a.entry_id,
        "status": a.status,
        "use": a.use,
        "scenario": a.scenario,
        "fields": a.fields,
        "term_days": a.term_days,
        "reason": a.answer_reason,
        "legal_basis": a.legal_basis,
        "conditions": a.conditions,
        "received_at": _iso(a.created_at),
        "deadline": _iso(a.deadline),
        "deadline_warning": a.deadline_warning,
        "referred_region_code": a.referred_region_code,
    }


def _agreement(a) -> dict:  # noqa: ANN001
    return {
        "id": a.id,
        "application_id": a.application_id,
        "entry_id": a.entry_id,
        "terms": a.terms,
        "sha256": a.sha256,
        "sm3": a.sm3,
        "signed_at": a.signed_at.isoformat() if a.signed_at else None,
        "grant_id": a.grant_id,
    }


@router.get("/api/v1/open/entries")
@read_only()
def list_entries(
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
    q: Search | None = None,
    limit: Limit = 20,
    offset: Count = 0,
) -> dict:
    """Search open entries; facet filters as query parameters (provider, region, ...)."""
    filters = {k: request.query_params.getlist(k) for k in FACETS}
    result = search(session, q=q, filters=filters, limit=min(max(limit, 1), 200), offset=offset)
    return {
        "total": result.total,
        "entries": [
            {
                "id": e.id,
                "resource_code": e.resource_code,
                "name": e.name,
                "provider": e.provider.name,
                "opening_attr": e.opening_attr,
            }
            for e in result.entries
        ],
        "facets": {k: [list(item) for item in v] for k, v in result.facets.items()},
    }


@router.post("/api/v1/open/entries/{entry_id}/declarations", status_code=201)
def declare(
    entry_id: Id,
    body: UseDeclarationCreate,
    session: SessionDep,
    user: Annotated[User, requires(OPEN_APPLY)],
) -> dict:
    """OPN-2: declare the use of unconditional-open data; returns the grant to read through."""
    d = service.declare_use(session, entry_id, actor=user, use=body.use, scenario=body.scenario)
    return {"id": d.id, "entry_id": d.entry_id, "grant_id": d.grant_id}


@router.post("/api/v1/open/entries/{entry_id}/applications", status_code=201)
def apply(
    entry_id: Id,
    body: OpenApplicationCreate,
    session: SessionDep,
    user: Annotated[User, requires(OPEN_APPLY)],
) -> dict:
    """OPN-3: apply for conditional-open data."""
    return _application(service.apply(session, entry_id, actor=user, **body.model_dump()))


@router.post("/api/v1/open/applications/{application_id}/answer")
def answer(
    application_id: Id,
    body: OpenApplicationAnswerCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
) -> dict:
    """SHR-4 / OPN-3: the provider approves (drafting the agreement) or refuses."""
    a = service.answer(session, application_id, actor=user, **body.model_dump())
    out = _application(a)
    agreement = agreements.agreement_for(session, a.id)
    out["agreement_id"] = agreement.id if agreement else None
    return out


@router.get("/api/v1/open/agreements/{agreement_id}")
def agreement(
    agreement_id: Id, session: SessionDep, user: Annotated[User, requires(OPEN_APPLY)]
) -> dict:
    a = agreements.get_agreement(session, agreement_id)
    if a.user_id != user.id and "admin" not in user.roles:
        from gongshu.opendata.errors import NotApplicant

        raise NotApplicant("只能查看本人的开放利用协议")
    out = _agreement(a)
    out["breaches"] = [_breach(b) for b in agreements.breaches_of(session, a.id)]  # OPN-5
    return out


@router.post("/api/v1/open/agreements/{agreement_id}/sign")
def sign(
    agreement_id: Id, session: SessionDep, user: Annotated[User, requires(OPEN_APPLY)]
) -> dict:
    """OPN-4: sign the agreement (recorded in the ledger with its hashes); creates the grant."""
    return _agreement(agreements.sign(session, agreement_id, actor=user))


@router.post("/api/v1/open/applications/{application_id}/referral")
def refer(
    application_id: Id,
    body: OpenReferralCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
) -> dict:
    """SHR-4 / OPN-3: the provider, unsure, reports to the data authority of its tier."""
    return _application(service.refer(session, application_id, actor=user, note=body.note))


@router.post("/api/v1/open/applications/{application_id}/decision")
def decide_referred(
    application_id: Id,
    body: OpenApplicationAnswerCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
) -> dict:
    """SHR-4 / OPN-3: the data authority decides a referred application."""
    return _application(service.answer(session, application_id, actor=user, **body.model_dump()))


@router.post("/api/v1/open/agreements/{agreement_id}/breaches", status_code=201)
def decide_breach(
    agreement_id: Id,
    body: BreachCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
) -> dict:
    """OPN-5: the data authority orders use outside the agreement corrected."""
    return _breach(breaches.decide(session, agreement_id, actor=user, **body.model_dump()))


@router.post("/api/v1/open/breaches/{breach_id}/correction")
def confirm_correction(
    breach_id: Id,
    body: BreachCorrectionCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
) -> dict:
    return _breach(breaches.confirm_correction(session, breach_id, actor=user, note=body.note))


@router.post("/api/v1/open/breaches/{breach_id}/fine")
def impose_fine(
    breach_id: Id,
    body: BreachFineCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
) -> dict:
    """OPN-5: a fine within the legal range, when not corrected in time or serious."""
    return _breach(breaches.impose_fine(session, breach_id, actor=user, **body.model_dump()))


# ---------------------------------------------------------------- DCAT-AP 3

JSONLD = "application/ld+json"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/catalog.jsonld", include_in_schema=False)
@read_only()
def catalog_jsonld(
    request: Request, session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]
) -> Response:
    entries = all_open(session)
    doc = dcat.catalog(
        entries,
        latest_versions(session, [e.id for e in entries]),
        _base(request),
        "公共数据开放目录",
    )
    return JSONResponse(doc, media_type=JSONLD)


@router.get("/catalog.ttl", include_in_schema=False)
@read_only()
def catalog_ttl(
    request: Request, session: SessionDep, user: Annotated[User | None, requires(PUBLIC)]
) -> Response:
    entries = all_open(session)
    doc = dcat.catalog(
        entries,
        latest_versions(session, [e.id for e in entries]),
        _base(request),
        "公共数据开放目录",
    )
    return Response(dcat.to_turtle(doc), media_type="text/turtle; charset=utf-8")


@router.get("/open/{entry_id:int}.jsonld", include_in_schema=False)
@read_only()
def entry_jsonld(
    entry_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
) -> Response:
    entry = get_open(session, entry_id)
    version = latest_versions(session, [entry.id]).get(entry.id)
    return JSONResponse(dcat.single(entry, version, _base(request)), media_type=JSONLD)


@router.get("/open/{entry_id:int}.ttl", include_in_schema=False)
@read_only()
def entry_ttl(
    entry_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
) -> Response:
    entry = get_open(session, entry_id)
    version = latest_versions(session, [entry.id]).get(entry.id)
    doc = dcat.single(entry, version, _base(request))
    return Response(dcat.to_turtle(doc), media_type="text/turtle; charset=utf-8")
