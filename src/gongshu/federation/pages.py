"""Pages: the node page of the province's data authority (join requests to decide,
members, this node) and the federated catalog (every tier's entries with their home
node)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import (
    CATALOG_READ,
    CATALOG_REVIEW,
    REGISTRATION_REVIEW,
    SHARING_APPLY,
)
from gongshu.errors import Conflict, GongshuError, InvalidInput, NotFound
from gongshu.federation import (
    directory,
    docking,
    feed,
    identity,
    members,
    national,
    peers,
    returned,
    review,
    sharing,
)
from gongshu.web.bounds import Id, Text
from gongshu.web.deps import SessionDep, read_only
from gongshu.web.forms import form_errors
from gongshu.web.render import render

router = APIRouter(prefix="/federation", tags=["federation"], include_in_schema=False)
FormText = Annotated[Text, Form()]


@router.get("/nodes")
@read_only()
def nodes_page(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
    done: str = "",
):  # noqa: ANN201
    said = {
        "approved": "已批准加入，该节点成为本省成员。",
        "refused": "已拒绝加入申请。",
        "returned": "已向下级节点回流，该节点将收到通知并可取得数据。",
        "unreturned": "已撤销回流，下级节点不能再取得该数据。",
    }
    return _nodes(request, session, flash=said.get(done))


def _nodes(
    request: Request,
    session,  # noqa: ANN001
    *,
    flash: str | None = None,
    failed: GongshuError | None = None,
    data: dict | None = None,
) -> Response:
    """The node page; a refused decision on a join request is said in the summary
    (the decision has no field), a refused return down beside its field."""
    node = identity.maybe_me(session)
    said = form_errors(failed) if failed is not None else {"errors": {}}
    province = node is not None and node.role == "province"
    return render(
        request,
        "federation_nodes.html",
        status_code=failed.status if failed is not None else 200,
        flash=flash,
        errors=said["errors"],
        error=said.get("error"),
        data=data or {},
        returned_out=returned.listing(session, "provider") if province else [],
        returned_in=returned.listing(session, "consumer")
        if node and node.role in ("city", "county")
        else [],
        return_targets={
            m.node_id: f"{m.node_id}（{m.region_code}）" for m in returned.targets(session)
        }
        if province
        else {},
        return_entries=returned.returnable(session) if province else {},
        stale=returned.stale,
        node=node,
        warning=directory.warning(session) if node else None,
        chains=feed.overview(session)["chains"] if node else [],
        requests=members.pending(session) if node and node.role == "province" else [],
        members=members.members(session) if node and node.role == "province" else [],
        reviews=review.received(session) if node and node.role in ("city", "county") else [],
        records=national.records(session) if node and node.role == "national" else [],
        peers=peers.known(session),
        alerts=peers.alerts(session, request.app.state.settings.federation_alert_minutes)
        if node
        else [],
        stalls=sharing.stalled(session) if node else [],
        shared=sharing.listing(session)[:200] if node and node.role != "national" else [],
        sharing_labels=sharing.SHARING_LABELS,
    )


@router.post("/returned")
def return_down(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
    entry_id: FormText = "",
    target_node: FormText = "",
    region_column: FormText = "",
) -> Response:
    """The provincial data authority returns an entry (or a region's rows) down to a
    city or county node (AGG-7); a refusal is shown beside its field."""
    data = {"entry_id": entry_id, "target_node": target_node, "region_column": region_column}
    try:
        with session.begin_nested():
            returned.return_down(
                session,
                actor=user,
                entry_id=int(entry_id) if entry_id.strip().isdigit() else 0,
                target_node=target_node.strip(),
                region_column=region_column,
                private=identity.private_key(request.app.state.settings),
            )
    except GongshuError as exc:
        return _nodes(request, session, failed=exc, data=data)
    return RedirectResponse("/federation/nodes?done=returned#returned", status_code=303)


@router.post("/returned/{sharing_id}/revoke")
def return_revoke(
    request: Request,
    sharing_id: Id,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
    reason: FormText = "",
) -> Response:
    """The provincial data authority stops a return down (the grant is revoked)."""
    try:
        with session.begin_nested():
            returned.revoke(session, sharing_id, actor=user, reason=reason)
    except GongshuError as exc:
        return _nodes(request, session, failed=exc)
    return RedirectResponse("/federation/nodes?done=unreturned#returned", status_code=303)


@router.post("/returned/{sharing_id}/data")
def returned_data(
    request: Request,
    sharing_id: Id,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
) -> Response:
    """A city or county data authority takes the rows returned to it (CSV, masked and
    watermarked at the province for this node). A POST: the fetch uses a number and
    is recorded in both ledgers."""
    row = sharing.get(session, sharing_id)
    if not returned.is_returned(row):
        raise NotFound(f"回流记录不存在：{sharing_id}")
    data = sharing.fetch(
        session, sharing_id, actor=user, settings=request.app.state.settings, limit=1000
    )
    return Response(data, media_type="text/csv; charset=utf-8")


@router.post("/joins/{request_id}/approve")
def approve(
    request_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
) -> Response:
    try:
        with session.begin_nested():
            members.decide(session, request_id, actor=user, approve=True)
    except (InvalidInput, Conflict) as exc:
        return _nodes(request, session, failed=exc)
    return RedirectResponse("/federation/nodes?done=approved", status_code=303)


@router.post("/joins/{request_id}/refuse")
def refuse(
    request_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
) -> Response:
    try:
        with session.begin_nested():
            members.decide(session, request_id, actor=user, approve=False)
    except (InvalidInput, Conflict) as exc:
        return _nodes(request, session, failed=exc)
    return RedirectResponse("/federation/nodes?done=refused", status_code=303)


def _entries(
    request: Request,
    session: SessionDep,
    home_node: str | None,
    *,
    status_code: int = 200,
    **extra,  # noqa: ANN003
) -> Response:
    node = identity.maybe_me(session)
    return render(
        request,
        "federation_entries.html",
        status_code=status_code,
        entries=feed.entries(session, home_node),
        home_node=home_node,
        is_province=node is not None and node.role == "province",
        data=extra.pop("data", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/entries")
@read_only()
def entries_page(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    home_node: str | None = None,
) -> Response:
    return _entries(request, session, home_node, done=request.query_params.get("done"))


@router.post("/entries/{federated_id}/review")
def review_entry(
    request: Request,
    federated_id: Id,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
    decision: FormText = "",
    reason: FormText = "",
) -> Response:
    """The province's review of a lower node's entry (CAT-2); re-renders with the
    error beside the field, keeping what was typed."""
    try:
        with session.begin_nested():
            row = review.decide(
                session,
                federated_id,
                actor=user,
                decision=decision,
                reason=reason,
                private=identity.private_key(request.app.state.settings),
            )
    except GongshuError as exc:
        field = (exc.detail or {}).get("field") if isinstance(exc.detail, dict) else None
        key = f"e{federated_id}"  # one form per entry: its fields are ``name-key``
        return _entries(
            request,
            session,
            None,
            status_code=exc.status,
            data={"id": federated_id, f"decision-{key}": decision, f"reason-{key}": reason},
            errors={f"{field}-{key}": exc.message} if field else {},
            error=None if field else exc.message,
            error_for=federated_id,
        )
    return RedirectResponse(f"/federation/entries?done={row.id}#e{row.id}", status_code=303)


@router.post("/registrations/{reg_id}/national")
def submit_national(
    request: Request,
    reg_id: Id,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_REVIEW)],
) -> RedirectResponse:
    """The provincial data authority submits an approved registration to the national
    registry (a refusal is shown as the error page names it)."""
    docking.submit(
        session, reg_id, actor=user, private=identity.private_key(request.app.state.settings)
    )
    return RedirectResponse(f"/registration-review/{reg_id}?flash=national", status_code=303)


def _split(text: str) -> list[str]:
    return [f for f in re.split(r"[,，、;；\s]+", text or "") if f]


def _cross(request: Request, session, user: User, **extra) -> Response:  # noqa: ANN001, ANN003
    node = identity.maybe_me(session)
    return render(
        request,
        "federation_sharing.html",
        status_code=extra.pop("status_code", 200),
        node=node,
        rows=sharing.listing(session, user.org_id or 0) if node else [],
        peers=sharing.providers(session) if node else [],
        labels=sharing.SHARING_LABELS,
        data=extra.pop("data", {"term_days": "365"}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.get("/sharing")
@read_only()
def sharing_page(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_APPLY)],
    done: str = "",
) -> Response:
    """This agency's applications to entries held on other nodes, and the form."""
    flash = "申请已发往数据提供节点，提供单位应在 10 个工作日内答复。" if done else None
    return _cross(request, session, user, flash=flash)


@router.post("/sharing")
def sharing_apply(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_APPLY)],
    provider_node: FormText = "",
    entry_id: FormText = "",
    reason: FormText = "",
    legal_basis: FormText = "",
    use: FormText = "",
    scenario: FormText = "",
    requested_fields: FormText = "",
    term_days: FormText = "",
) -> Response:
    data = {
        "provider_node": provider_node,
        "entry_id": entry_id,
        "reason": reason,
        "legal_basis": legal_basis,
        "use": use,
        "scenario": scenario,
        "requested_fields": requested_fields,
        "term_days": term_days,
    }
    try:
        with session.begin_nested():
            sharing.apply(
                session,
                actor=user,
                provider_node=provider_node.strip(),
                entry_id=int(entry_id) if entry_id.strip().isdigit() else 0,
                reason=reason,
                legal_basis=legal_basis,
                use=use,
                scenario=scenario,
                requested_fields=_split(requested_fields),
                term_days=int(term_days) if term_days.strip().isdigit() else 0,
                private=identity.private_key(request.app.state.settings),
            )
    except GongshuError as exc:
        return _cross(request, session, user, data=data, status_code=exc.status, **form_errors(exc))
    return RedirectResponse("/federation/sharing?done=1", status_code=303)
