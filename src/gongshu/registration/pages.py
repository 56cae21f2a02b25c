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
from gongshu.capability import installed
from gongshu.catalog.models import CatalogEntry
from gongshu.errors import GongshuError, InvalidInput
from gongshu.registration import codes, gaps, service
from gongshu.registration.errors import NotRegistrant
from gongshu.registration.models import KINDS, PRICE_MODES, RIGHTS, STATUSES
from gongshu.web.deps import FormDep, SessionDep
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
LABELS = {"kinds": KINDS, "rights": RIGHTS, "price_modes": PRICE_MODES, "statuses": STATUSES}
FLASHES = {
    "submitted": "已提交登记申请，等待数据管理部门审核。",
    "changed": "变更已提交审核。",
    "national": "已报送国家登记平台，进度将在本页更新。",
}


def _entry_ids(session: Session, text: str, what: str) -> list[int]:
    ids = []
    for token in re.split(r"[\s,，、;；]+", text or ""):
        if not token:
            continue
        entry_id = session.scalar(
            select(CatalogEntry.id).where(CatalogEntry.resource_code == token)
        )
        if entry_id is None:
            raise InvalidInput(f"{what}中的资源代码不存在：{token}")
        ids.append(entry_id)
    return ids


def _form(form: FormData, session: Session) -> dict:
    data_entry = _entry_ids(session, str(form.get("data_entry_code") or ""), "产品数据目录")
    return {
        "kind": form.get("kind") or "product",
        "name": form.get("name"),
        "description": form.get("description"),
        "processing_summary": form.get("processing_summary") or "",
        "source_entry_ids": _entry_ids(session, str(form.get("source_codes") or ""), "来源数据"),
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
    regs = service.of_org(session, user.org_id) if user.org_id else []
    return render(
        request, "registrations.html", regs=regs, labels=LABELS, flash=FLASHES.get(flash or "")
    )


@pages.post("/registrations")
def apply(
    form: FormDep, session: SessionDep, user: Annotated[User, requires(REGISTRATION_APPLY)]
) -> Response:
    reg = service.apply(session, _form(form, session), actor=user)
    return RedirectResponse(f"/registrations/{reg.id}?flash=submitted", status_code=303)


@pages.get("/registrations/{reg_id}")
def detail(
    reg_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_APPLY)],
    flash: str | None = None,
) -> Response:
    reg = service.get(session, reg_id)
    if "admin" not in user.roles and reg.registrant_org_id != user.org_id:
        raise NotRegistrant("只能查看本单位的登记")
    return render(
        request,
        "registration.html",
        reg=reg,
        versions=service.versions(session, reg.id),
        source_codes=_codes_of(session, reg.source_entry_ids),
        data_code=_codes_of(session, [reg.data_entry_id] if reg.data_entry_id else []),
        labels=LABELS,
        review=False,
        flash=FLASHES.get(flash or ""),
        sections=_sections(session, reg, user),
    )


@pages.post("/registrations/{reg_id}")
def change(
    reg_id: int,
    form: FormDep,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_APPLY)],
) -> Response:
    data = _form(form, session)
    data.pop("kind")
    service.update(session, reg_id, data, actor=user)
    return RedirectResponse(f"/registrations/{reg_id}?flash=changed", status_code=303)


# ---------------------------------------------------------------- review


@pages.get("/registration-review")
def review_queue(
    request: Request, session: SessionDep, user: Annotated[User, requires(REGISTRATION_REVIEW)]
) -> Response:
    return render(
        request,
        "registration_review.html",
        queue=service.queue(session, user),
        gaps=gaps.gaps(session),
        labels=LABELS,
    )


@pages.get("/registration-review/{reg_id}")
def review_detail(
    reg_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_REVIEW)],
) -> Response:
    reg = service.get(session, reg_id)
    return render(
        request,
        "registration.html",
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
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_REVIEW)],
    comment: FormStr = "",
) -> Response:
    service.approve(session, reg_id, actor=user, comment=comment)
    return RedirectResponse("/registration-review", status_code=303)


@pages.post("/registration-review/{reg_id}/return")
def return_(
    reg_id: int,
    session: SessionDep,
    user: Annotated[User, requires(REGISTRATION_REVIEW)],
    comment: FormStr = "",
) -> Response:
    service.return_(session, reg_id, actor=user, comment=comment)
    return RedirectResponse("/registration-review", status_code=303)
