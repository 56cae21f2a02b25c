"""Node-to-node endpoints under /federation/v1 (JSON).

They declare ``PUBLIC``: no user calls them, and the gate is the SM2 signature each
request carries (a join request signed with the key it names, a message signed with
the directory's key for its sender), checked before anything is written. GET
handlers write nothing; the directory and chain heads are signed on the fly.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import (
    ACCOUNT_SELF,
    CATALOG_READ,
    DATA_RECEIVE,
    PUBLIC,
    REGISTRATION_REVIEW,
    SHARING_APPLY,
)
from gongshu.errors import InvalidInput
from gongshu.federation import (
    chain,
    directory,
    docking,
    feed,
    identity,
    members,
    national,
    returned,
    review,
    sharing,
)
from gongshu.federation.envelope import MAX_MESSAGE_BYTES
from gongshu.web.bounds import Code, Count, Days, Id, Limit, Names, Text
from gongshu.web.deps import SessionDep, read_only

router = APIRouter(prefix="/federation/v1", tags=["federation"])
api = APIRouter(prefix="/api/v1/federation", tags=["federation"])

Anyone = Annotated[User | None, requires(PUBLIC)]
CHANNELS = (
    feed.CHANNEL,
    review.CHANNEL,
    national.CHANNEL,
    national.STATUS_CHANNEL,
    sharing.CHANNEL,
)
APPLIERS = {
    **feed.APPLIERS,
    **review.APPLIERS,
    **national.APPLIERS,
    **docking.APPLIERS,
    **sharing.APPLIERS,
    **returned.APPLIERS,
}


def _private(request: Request) -> bytes:
    return identity.private_key(request.app.state.settings)


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_MESSAGE_BYTES:
        raise chain.Refused("oversized", limit=MAX_MESSAGE_BYTES)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_MESSAGE_BYTES:
            raise chain.Refused("oversized", limit=MAX_MESSAGE_BYTES)
    return body


def _refusal(session, exc: chain.Refused) -> JSONResponse:  # noqa: ANN001
    session.rollback()  # nothing half-applied
    status = {"oversized": 413, "unknown_node": 403, "bad_signature": 403}.get(exc.code, 409)
    return JSONResponse({"error": exc.code, "message": exc.message}, status_code=status)


@router.get("/directory", responses={409: {}})
@read_only()
def get_directory(request: Request, session: SessionDep, _: Anyone) -> dict:
    """The province's signed directory of nodes."""
    return directory.publish(session, _private(request))


def _join(session, raw: bytes) -> dict:  # noqa: ANN001 - on a worker thread
    try:
        signed = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput("加入申请不是有效的 JSON") from exc
    if not isinstance(signed, dict):
        raise InvalidInput("加入申请应为 JSON 对象")
    join = members.receive_join(session, signed)
    return {"request_id": join.id, "status": join.status}


@router.post("/join", status_code=202)
async def post_join(request: Request, session: SessionDep, _: Anyone):  # noqa: ANN201
    """A lower node's signed join request; the province's data authority decides."""
    try:
        raw = await _body(request)
    except chain.Refused as exc:
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=413)
    return await run_in_threadpool(_join, session, raw)


@router.get("/chains/{sender}/{channel}", responses={409: {}})
@read_only()
def get_chain_head(request: Request, sender: Code, channel: Code, session: SessionDep, _: Anyone):  # noqa: ANN201
    """The last number and hash this node accepted from ``sender``, signed."""
    if channel not in CHANNELS:
        raise InvalidInput(f"未知通道：{channel}")
    return feed.chain_head(session, sender, _private(request), channel)


def _accept(session, raw: bytes, settings) -> JSONResponse | dict:  # noqa: ANN001
    """On a worker thread: check, apply, store, sign the receipt; or roll back and name
    the refusal (nothing half-applied)."""
    try:
        return chain.accept(session, raw, identity.private_key(settings), APPLIERS)
    except chain.Refused as exc:
        return _refusal(session, exc)


@router.post("/messages")
async def post_message(request: Request, session: SessionDep, _: Anyone):  # noqa: ANN201
    """Accept one signed message; answers with this node's signed receipt."""
    try:
        raw = await _body(request)
    except chain.Refused as exc:
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=413)
    return await run_in_threadpool(_accept, session, raw, request.app.state.settings)


def _serve(session, raw: bytes, settings) -> JSONResponse | dict:  # noqa: ANN001
    """On a worker thread: a consumer node's signed fetch request, served through the
    egress door; or rolled back and refused by name."""
    try:
        answer = sharing.serve(session, raw, settings, identity.private_key(settings))
    except sharing.FetchRefused as exc:
        session.rollback()
        return JSONResponse({"error": exc.code, "message": str(exc)}, status_code=exc.status)
    session.commit()  # the delivery and its ledger entry are durable before the bytes leave
    return answer


@router.post("/sharing/fetch", responses={403: {}, 404: {}, 409: {}})
async def post_sharing_fetch(request: Request, session: SessionDep, _: Anyone):  # noqa: ANN201
    """A page of a granted entry's rows for a consumer node (the signature is the gate)."""
    try:
        raw = await _body(request)
    except chain.Refused as exc:
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=413)
    return await run_in_threadpool(_serve, session, raw, request.app.state.settings)


class CrossSharingCreate(BaseModel):
    provider_node: Code
    entry_id: Id
    reason: Text
    legal_basis: Text
    use: Text
    scenario: Text
    requested_fields: Names
    term_days: Days


def _sharing(row) -> dict:  # noqa: ANN001 - CrossSharing
    return {
        "id": row.id,
        "side": row.side,
        "ref": row.ref,
        "consumer_node": row.consumer_node,
        "provider_node": row.provider_node,
        "entry_id": row.entry_id,
        "entry_name": row.entry_name,
        "org_name": row.org_name,
        "state": row.state,
        "state_label": sharing.SHARING_LABELS[row.state],
        "deadline": row.deadline,
        "deadline_warning": row.deadline_warning,
        "reason": row.reason,
        "grant_expires_at": row.grant_expires_at,
        "history": row.history,
    }


@api.post("/sharing", status_code=201)
def cross_apply(
    request: Request,
    body: CrossSharingCreate,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_APPLY)],
) -> dict:
    """An agency of this node applies for an entry held on another node."""
    row = sharing.apply(session, actor=user, private=_private(request), **body.model_dump())
    return _sharing(row)


@api.get("/sharing")
@read_only()
def cross_list(session: SessionDep, user: Annotated[User, requires(SHARING_APPLY)]) -> list[dict]:
    """This agency's applications to other nodes, with their state and deadline."""
    return [_sharing(r) for r in sharing.listing(session, user.org_id or 0)]


@api.get("/sharing/{sharing_id}/data")
def cross_data(
    request: Request,
    sharing_id: Id,
    session: SessionDep,
    user: Annotated[User, requires(DATA_RECEIVE)],
    offset: Count = 0,
    limit: Limit = 100,
) -> Response:
    """A page of rows straight from the provider node (CSV, masked and watermarked
    there for this organization)."""
    data = sharing.fetch(
        session,
        sharing_id,
        actor=user,
        settings=request.app.state.settings,
        offset=offset,
        limit=limit,
    )
    return Response(data, media_type="text/csv; charset=utf-8")


@api.get("/entries")
@read_only()
def list_entries(
    session: SessionDep, _: Annotated[User, requires(CATALOG_READ)], home_node: Code | None = None
) -> list[dict]:
    """Lower nodes' entries as the province holds them, with their home node."""
    return [
        {
            "home_node": e.home_node,
            "home_entry_id": e.home_entry_id,
            **{k: getattr(e, k) for k in feed.FIELDS},
            "seq": e.seq,
        }
        for e in feed.entries(session, home_node)
    ]


def _record(row) -> dict:  # noqa: ANN001 - NationalRecord
    return {
        "id": row.id,
        "province": row.province,
        "kind": row.kind,
        "name": row.name,
        "registrant": row.registrant,
        "province_code": row.province_code,
        "status": row.status,
        "reason": row.reason,
        "field": row.field,
        "publicity_until": row.publicity_until,
        "code": row.code,
        "history": row.history,
    }


@api.get("/national/records")
@read_only()
def national_records(session: SessionDep, _: Anyone) -> list[dict]:
    """National node: the registrations received, with their step and unified code
    (public: the publicity notice)."""
    return [_record(r) for r in national.records(session)]


class ObjectionCreate(BaseModel):
    reason: Text


class ObjectionDecision(BaseModel):
    upheld: bool
    note: Text = ""


@api.post("/national/records/{record_id}/objections", status_code=201)
def national_object(
    record_id: Id,
    body: ObjectionCreate,
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
) -> dict:
    """National node: an objection during a record's publicity period (公示)."""
    objection = national.object_(session, record_id, actor=user, reason=body.reason)
    return {"id": objection.id, "record_id": objection.record_id, "status": objection.status}


@api.post("/national/objections/{objection_id}/decide")
def national_decide(
    objection_id: Id,
    body: ObjectionDecision,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_REVIEW)],
) -> dict:
    """National node: its data authority decides an objection."""
    row = national.decide_objection(
        session, objection_id, actor=user, upheld=body.upheld, note=body.note
    )
    return _record(row)
