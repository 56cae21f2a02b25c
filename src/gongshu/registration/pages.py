"""Registration pages: the public registry (no login), the registrant's forms, and the
data authority's review queue with the REG-1 gaps."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import PUBLIC, REGISTRATION_APPLY, REGISTRATION_REVIEW
from gongshu.capability import installed, reference
from gongshu.catalog.models import CatalogEntry
from gongshu.errors import Conflict, GongshuError, InvalidField, InvalidInput
from gongshu.registration import codes, gaps, service
from gongshu.registration.errors import NotRegistrant
from gongshu.registration.models import KINDS, PRICE_MODES, RIGHTS, STATUSES
from gongshu.web.deps import FormDep, SessionDep
from gongshu.web.forms import form_errors, refused
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
LABELS = {"kinds": KINDS, "rights": RIGHTS, "price_modes": PRICE_MODES, "statuses": STATUSES}
FLASHES = {
    "submitted": "已提交登记申请，等待数据管理部门审核。",
    "changed": "变更已提交审核。下一步：数据管理部门审核，通过前公开的仍是已登记的版本。",
    "national": "已报送国家登记平台，进度将在本页更新。",
}
REVIEWED = {
    "approved": "已审核通过并发放登记证书，登记编码已公开可查。",
    "returned": "已退回，退回意见已告知登记主体。",
}
# A refused post comes back on its own page (issue 17 item 6); a missing right or
# record still ends on the error page.
REFUSED = (InvalidInput, Conflict)
# The service names a field as the API does; the form names it by what is typed.
FORM_NAMES = {"source_entry_ids": "source_codes", "data_entry_id": "data_entry_code"}
TEXT_FIELDS = (
    "kind",
    "name",
    "description",
    "processing_summary",
    "source_codes",
    "data_entry_code",
    "acting_for",
    "price_mode",
    "price_yuan",
    "price_unit",
    "fee_item",
    "holder_authorization",
    "important_data_consent",
)


def _typed(form: FormData) -> dict:
    """What was typed into the registration form, to show it again."""
    data = {k: str(form.get(k) or "") for k in TEXT_FIELDS}
    data["rights"] = [str(r) for r in form.getlist("rights")]
    return data


def _of(reg) -> dict:  # noqa: ANN001
    """The registration as its change form shows it at first."""
    return {
        "kind": reg.kind,
        "name": reg.name or "",
        "description": reg.description or "",
        "processing_summary": reg.processing_summary or "",
        "acting_for": reg.acting_for or "",
        "price_mode": reg.price_mode,
        "price_yuan": reg.price_yuan or "",
        "price_unit": reg.price_unit or "",
        "fee_item": reg.fee_item or "",
        "holder_authorization": reg.holder_authorization or "",
        "important_data_consent": reg.important_data_consent or "",
        "rights": list(reg.rights or []),
    }


def _said(failed: GongshuError | None) -> dict:
    if failed is None:
        return {"errors": {}}
    said = form_errors(failed)
    said["errors"] = {FORM_NAMES.get(k, k): v for k, v in said["errors"].items()}
    return said


def _entry_ids(session: Session, text: str, what: str, field: str) -> list[int]:
    ids = []
    for token in re.split(r"[\s,，、;；]+", text or ""):
        if not token:
            continue
        entry_id = session.scalar(
            select(CatalogEntry.id).where(CatalogEntry.resource_code == token)
        )
        if entry_id is None:
            raise InvalidField(f"{what}中的资源代码不存在：{token}", field=field)
        ids.append(entry_id)
    return ids


def _form(form: FormData, session: Session) -> dict:
    data_entry = _entry_ids(
        session, str(form.get("data_entry_code") or ""), "产品数据目录", "data_entry_code"
    )
    sources = _entry_ids(session, str(form.get("source_codes") or ""), "来源数据", "source_codes")
    return {
        "kind": form.get("kind") or "product",
        "name": form.get("name"),
        "description": form.get("description"),
        "processing_summary": form.get("processing_summary") or "",
        "source_entry_ids": sources,
        "rights": form.getlist("rights"),
        "acting_for": form.get("acting_for") or None,
        "price_mode": form.get("price_mode") or "self",
        "price_yuan": form.get("price_yuan") or None,
        "price_unit": form.get("price_unit") or None,
        "fee_item": form.get("fee_item") or None,
        "data_entry_id": data_entry[0] if data_entry else None,
        "holder_authorization": form.get("holder_authorization") or None,
        "important_data_consent": form.get("important_data_consent") or None,
    }


def _sections(session: Session, reg, user: User) -> list[dict]:  # noqa: ANN001
    """What capabilities above registration show on its page (the national docking)."""
    found = (section(session, reg, user) for section in installed().registration_sections())
    return [s for s in found if s is not None]


def _codes_of(session: Session, ids: list[int]) -> str:
    return " ".join(e.resource_code for i in ids if (e := session.get(CatalogEntry, i)))


# ---------------------------------------------------------------- public registry


@pages.get("/registry")
def registry(
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
    code: str | None = None,
) -> Response:
    """Anyone looks a registration code up; a wrong check character is said so."""
    reg, problem = None, None
    if code:
        try:
            reg = service.lookup(session, code)
        except GongshuError as exc:
            problem = exc.message
    if reg is not None:
        return RedirectResponse(f"/registry/{reg.code}", status_code=303)
    return render(
        request,
        "registry.html",
        reg=None,
        code=code or "",
        problem=problem,
        recent=service.registered(session),
        labels=LABELS,
    )


@pages.get("/registry/{code}")
def registry_record(
    code: str,
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
) -> Response:
    reg = service.lookup(session, code)
    return render(
        request,
        "registry.html",
        reg=reg,
        snap=reg.approved_snapshot,
        code=reg.code,
        valid=codes.is_valid(reg.code),
        problem=None,
        labels=LABELS,
    )


# ---------------------------------------------------------------- registrant


@pages.get("/registrations")
def mine(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_APPLY)],
    flash: str | None = None,
) -> Response:
    return _mine(request, session, user, flash=FLASHES.get(flash or ""))


def _mine(
    request: Request,
    session: Session,
    user: User,
    *,
    flash: str | None = None,
    failed: GongshuError | None = None,
    typed: dict | None = None,
) -> Response:
    regs = service.of_org(session, user.org_id) if user.org_id else []
    return render(
        request,
        "registrations.html",
        status_code=failed.status if failed else 200,
        regs=regs,
        labels=LABELS,
        flash=flash,
        data=typed or {"kind": "product", "rights": []},
        **_said(failed),
    )


@pages.post("/registrations")
def apply(
    request: Request,
    form: FormDep,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_APPLY)],
) -> Response:
    try:
        reg = service.apply(session, _form(form, session), actor=user)
    except REFUSED as exc:
        refused(session, exc)
        return _mine(request, session, user, failed=exc, typed=_typed(form))
    return RedirectResponse(f"/registrations/{reg.id}?flash=submitted", status_code=303)


@pages.get("/registrations/{reg_id}")
def detail(
    reg_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_APPLY)],
    flash: str | None = None,
) -> Response:
    return _detail(request, session, reg_id, user, flash=flash)


def _detail(
    request: Request,
    session: Session,
    reg_id: int,
    user: User,
    *,
    flash: str | None = None,
    failed: GongshuError | None = None,
    typed: dict | None = None,
) -> Response:
    reg = service.get(session, reg_id)
    if "admin" not in user.roles and reg.registrant_org_id != user.org_id:
        raise NotRegistrant("只能查看本单位的登记")
    source_codes = _codes_of(session, reg.source_entry_ids)
    data_code = _codes_of(session, [reg.data_entry_id] if reg.data_entry_id else [])
    said = FLASHES.get(flash or "")
    if flash == "submitted":
        said = (
            f"已提交登记申请，受理编号 {reference('SJDJ', reg.created_at, reg.id)}。"
            "下一步：等待数据管理部门审核，通过后发放登记证书。"
        )
    return render(
        request,
        "registration.html",
        status_code=failed.status if failed else 200,
        reg=reg,
        versions=service.versions(session, reg.id),
        source_codes=source_codes,
        data_code=data_code,
        labels=LABELS,
        review=False,
        flash=said,
        data=typed or {**_of(reg), "source_codes": source_codes, "data_entry_code": data_code},
        **_said(failed),
        sections=_sections(session, reg, user),
    )


@pages.post("/registrations/{reg_id}")
def change(
    reg_id: int,
    request: Request,
    form: FormDep,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_APPLY)],
) -> Response:
    try:
        data = _form(form, session)
        data.pop("kind")
        service.update(session, reg_id, data, actor=user)
    except REFUSED as exc:
        refused(session, exc)
        return _detail(request, session, reg_id, user, failed=exc, typed=_typed(form))
    return RedirectResponse(f"/registrations/{reg_id}?flash=changed", status_code=303)


# ---------------------------------------------------------------- review


@pages.get("/registration-review")
def review_queue(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_REVIEW)],
    done: str = "",
) -> Response:
    return render(
        request,
        "registration_review.html",
        queue=service.queue(session, user),
        gaps=gaps.gaps(session),
        labels=LABELS,
        flash=REVIEWED.get(done),
    )


@pages.get("/registration-review/{reg_id}")
def review_detail(
    reg_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_REVIEW)],
) -> Response:
    return _review_detail(request, session, reg_id, user)


def _review_detail(
    request: Request,
    session: Session,
    reg_id: int,
    user: User,
    *,
    failed: GongshuError | None = None,
    typed: dict | None = None,
) -> Response:
    """The reviewer's page; a refused approval or return comes back on it with the
    comment beside its field (``approve_comment`` or ``comment``)."""
    reg = service.get(session, reg_id)
    return render(
        request,
        "registration.html",
        status_code=failed.status if failed else 200,
        data=typed or {},
        **_said(failed),
        reg=reg,
        versions=service.versions(session, reg.id),
        source_codes=_codes_of(session, reg.source_entry_ids),
        data_code=_codes_of(session, [reg.data_entry_id] if reg.data_entry_id else []),
        labels=LABELS,
        review=True,
        standing=gaps.source_standing(session, reg),
        sections=_sections(session, reg, user),
        flash=FLASHES.get(request.query_params.get("flash") or ""),
    )


@pages.post("/registration-review/{reg_id}/approve")
def approve(
    reg_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_REVIEW)],
    comment: FormStr = "",
) -> Response:
    try:
        service.approve(session, reg_id, actor=user, comment=comment)
    except REFUSED as exc:
        refused(session, exc)
        if getattr(exc, "field", "") == "comment":
            exc.field, exc.fields = "approve_comment", {"approve_comment": exc.message}
        typed = {"approve_comment": comment}
        return _review_detail(request, session, reg_id, user, failed=exc, typed=typed)
    return RedirectResponse("/registration-review?done=approved", status_code=303)


@pages.post("/registration-review/{reg_id}/return")
def return_(
    reg_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_REVIEW)],
    comment: FormStr = "",
) -> Response:
    try:
        service.return_(session, reg_id, actor=user, comment=comment)
    except REFUSED as exc:
        refused(session, exc)
        return _review_detail(
            request, session, reg_id, user, failed=exc, typed={"comment": comment}
        )
    return RedirectResponse("/registration-review?done=returned", status_code=303)
