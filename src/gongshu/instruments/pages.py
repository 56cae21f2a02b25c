"""Pages of the instruments capability: list, issue and revoke records; declare vendors.

The issuer is the signed-in user's organization; whether it may issue a kind for an
entry is decided by ``service.issue`` (errors are shown beside the field they name)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from gongshu.accounts.deps import requires
from gongshu.accounts.models import Organization, User
from gongshu.accounts.permissions import CATALOG_READ, INSTRUMENT_ISSUE
from gongshu.catalog.models import CatalogEntry
from gongshu.errors import GongshuError
from gongshu.instruments import service, vendors
from gongshu.web.deps import SessionDep
from gongshu.web.render import render
from gongshu.web.uploads import SealedUploadRoute

pages = APIRouter(include_in_schema=False, route_class=SealedUploadRoute)
FormStr = Annotated[str, Form()]
DONE = {
    "issued": "记录已出具，列在上表；有效期内相关数据的授权以此为依据。",
    "revoked": "记录已撤销，依据它的授权随之失效。",
    "vendor": "外包服务商已登记。"
    "下一步：为它出具“外包服务商安全审查”和“外包服务商保密协议”两项记录。",
}


def _said(exc: GongshuError, key: str = "") -> dict:
    """An error for the page: beside the field its ``detail["field"]`` (or ``field``)
    names, keyed ``name-key`` for one card's form, else in the summary; its status."""
    field = getattr(exc, "field", "") or (
        (exc.detail or {}).get("field") if isinstance(exc.detail, dict) else ""
    )
    if field:
        return {"errors": {f"{field}-{key}" if key else field: exc.message}, "status": exc.status}
    return {"errors": {}, "error": exc.message, "status": exc.status}


def _page(request: Request, session, user: User, **extra) -> Response:  # noqa: ANN001, ANN003
    entries = list(
        session.scalars(
            select(CatalogEntry)
            .where(CatalogEntry.published_version.is_not(None))
            .order_by(CatalogEntry.resource_code)
        ).unique()
    )
    orgs = list(session.scalars(select(Organization).order_by(Organization.name)))
    admin = "admin" in (user.roles or [])
    items = service.listing(session, None if admin else user.org_id)
    if not admin and user.org_id is None:
        items = []
    return render(
        request,
        "instruments_index.html",
        status_code=extra.pop("status", 200),
        items=items,
        vendors=vendors.active(session, user.org_id) if user.org_id else [],
        entries=entries,
        orgs={o.id: o for o in orgs},
        entry_names={e.id: e.name for e in entries},
        K=service.KINDS,
        P=service.PURPOSES,
        data=extra.pop("data", {}),
        errors=extra.pop("errors", {}),
        **extra,
    )


@pages.get("/instruments")
def index(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    done: str = "",
) -> Response:
    return _page(request, session, user, flash=DONE.get(done))


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@pages.post("/instruments")
def issue(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(INSTRUMENT_ISSUE)],
    document: Annotated[UploadFile | None, File()] = None,
    kind: FormStr = "",
    title: FormStr = "",
    entry_id: FormStr = "",
    purpose: FormStr = "",
    recipient_org_id: FormStr = "",
    vendor_id: FormStr = "",
    valid_from: FormStr = "",
    valid_until: FormStr = "",
) -> Response:
    data = {
        "kind": kind,
        "title": title,
        "entry_id": entry_id,
        "purpose": purpose,
        "recipient_org_id": recipient_org_id,
        "vendor_id": vendor_id,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    start, end = _day(valid_from), _day(valid_until)
    errors: dict[str, str] = {}
    if start is None:
        errors["valid_from"] = "请按“年-月-日”填写生效日期"
    if end is None:
        errors["valid_until"] = "请按“年-月-日”填写有效期至（含当日）"
    if errors:
        return _page(request, session, user, data=data, errors=errors, status=400)
    try:
        with session.begin_nested():
            raw = document.file.read() if document is not None else b""
            path, digest = service.store_document(
                raw,
                (document.filename if document else "") or "",
                data_dir=request.app.state.settings.data_dir,
            )
            service.issue(
                session,
                actor=user,
                kind=kind,
                title=title,
                purpose=purpose,
                entry_id=int(entry_id) if entry_id.strip().isdigit() else None,
                recipient_org_id=int(recipient_org_id) if recipient_org_id.isdigit() else None,
                vendor_id=int(vendor_id) if vendor_id.strip().isdigit() else None,
                valid_from=start,
                valid_until=service.day_start(end) + timedelta(days=1),
                document_name=(document.filename if document else "") or "document.pdf",
                document_path=path,
                document_sm3=digest,
            )
    except GongshuError as exc:  # the wrong party too: said on the page, nothing written
        return _page(request, session, user, data=data, **_said(exc))
    return RedirectResponse("/instruments?done=issued", status_code=303)


@pages.post("/instruments/{instrument_id}/revoke")
def revoke(
    request: Request,
    session: SessionDep,
    instrument_id: int,
    user: Annotated[User, requires(INSTRUMENT_ISSUE)],
    reason: FormStr = "",
) -> Response:
    try:
        with session.begin_nested():
            service.revoke(session, instrument_id, actor=user, reason=reason)
    except GongshuError as exc:
        key = f"i{instrument_id}"
        return _page(request, session, user, data={f"reason-{key}": reason}, **_said(exc, key))
    return RedirectResponse("/instruments?done=revoked", status_code=303)


@pages.post("/instruments/vendors")
def declare_vendor(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(INSTRUMENT_ISSUE)],
    name: FormStr = "",
    credit_code: FormStr = "",
    service_text: FormStr = "",
) -> Response:
    try:
        with session.begin_nested():
            vendors.declare(
                session, actor=user, name=name, credit_code=credit_code, service_text=service_text
            )
    except GongshuError as exc:
        typed = {"name": name, "credit_code": credit_code, "service_text": service_text}
        return _page(request, session, user, data=typed, **_said(exc))
    return RedirectResponse("/instruments?done=vendor", status_code=303)
