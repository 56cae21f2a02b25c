"""Catalog pages: browse and search, an agency's own entries, the entry form,
the entry page (fields, versions, datasets), the review queue (CAT-1..CAT-7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import CATALOG_EDIT, CATALOG_READ, CATALOG_REVIEW
from gongshu.capability import installed
from gongshu.catalog import drafts, service
from gongshu.catalog import search as catalog_search
from gongshu.catalog import versions as catalog_versions
from gongshu.catalog.errors import EntryNotFound, NotReviewer
from gongshu.catalog.models import (
    FIELD_KINDS,
    FIELD_TYPES,
    LOAD_POLICIES,
    OPENING_ATTRS,
    SECURITY_GRADES,
    SHARING_ATTRS,
    UPDATE_FREQUENCIES,
    CatalogEntry,
)
from gongshu.entities import ENTITY_LABELS
from gongshu.errors import Conflict, GongshuError, InvalidInput
from gongshu.web.deps import SessionDep
from gongshu.web.forms import form_errors
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)

FORM_CHOICES = {
    "field_types": FIELD_TYPES,
    "field_kinds": FIELD_KINDS,
    "frequencies": UPDATE_FREQUENCIES,
    "grades": SECURITY_GRADES,
    "sharing_attrs": SHARING_ATTRS,
    "opening_attrs": OPENING_ATTRS,
    "load_policies": LOAD_POLICIES,
}
FACET_LABELS = {
    "tier": "层级",
    "sharing_attr": "共享属性",
    "opening_attr": "开放属性",
    "provider_org_id": "提供单位",
    "status": "状态",
    "security_grade": "安全级别",
    "update_frequency": "更新频率",
}


@pages.get("/catalog")
def browse(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    q: str | None = None,
    page: int = 1,
) -> Response:
    filters = {k: request.query_params.get(k) for k in catalog_search.FACETS}
    per_page = 20
    page = max(page, 1)
    result = catalog_search.search(
        session, actor=user, q=q, filters=filters, limit=per_page, offset=(page - 1) * per_page
    )
    active = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "catalog_list.html",
        result=result,
        q=q or "",
        active=active,
        facet_labels=FACET_LABELS,
        page=page,
        per_page=per_page,
    )


@pages.get("/catalog/mine")
def mine(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_EDIT)],
    deleted: str | None = None,
) -> Response:
    entries = catalog_search.provided_by(session, user.org_id) if user.org_id else []
    said = (
        f"草稿“{deleted}”已删除，其修改记录一并删除（审计账本保留删除记录）。" if deleted else None
    )
    return render(request, "catalog_mine.html", entries=entries, flash=said)


@pages.post("/catalog/{entry_id}/delete")
def delete_draft(
    entry_id: int, session: SessionDep, user: Annotated[User, requires(CATALOG_EDIT)]
) -> Response:
    """A draft that never left its provider is deleted (issue 17 item 6)."""
    from urllib.parse import quote

    entry = drafts.delete_draft(session, entry_id, actor=user)
    return RedirectResponse(f"/catalog/mine?deleted={quote(entry.name)}", status_code=303)


FormStr = Annotated[str, Form()]
FormList = Annotated[list[str] | None, Form()]


def entry_form(
    name: FormStr = "",
    resource_code: FormStr = "",
    summary: FormStr = "",
    update_frequency: FormStr = "",
    security_grade: FormStr = "",
    sharing_attr: FormStr = "conditional",
    sharing_conditions: FormStr = "",
    no_share_basis: FormStr = "",
    opening_attr: FormStr = "none",
    opening_conditions: FormStr = "",
    formats: FormStr = "",
    load_policy: FormStr = "quarantine",
    field_name: FormList = None,
    field_type: FormList = None,
    field_desc: FormList = None,
    field_kind: FormList = None,
    field_required: FormList = None,
) -> dict:
    """The entry form as the service's data dict; field rows come as parallel lists."""
    rows = zip(
        field_name or [],
        field_type or [],
        field_desc or [],
        field_kind or [],
        field_required or [],
        strict=False,
    )
    # Every row, numbered as on the page: the service passes over a row left wholly
    # blank (the spare row) and names a row with a description but no name.
    fields = [
        {"name": n, "type": t, "description": d, "kind": k or None, "required": r == "1"}
        for n, t, d, k, r in rows
    ]
    return {
        "name": name,
        "resource_code": resource_code,
        "summary": summary,
        "update_frequency": update_frequency,
        "security_grade": security_grade,
        "sharing_attr": sharing_attr,
        "sharing_conditions": sharing_conditions,
        "no_share_basis": no_share_basis,
        "opening_attr": opening_attr,
        "opening_conditions": opening_conditions,
        "formats": formats.replace("，", ",").split(","),
        "load_policy": load_policy,
        "fields": fields,
    }


EntryForm = Annotated[dict, Depends(entry_form)]


@pages.get("/catalog/new")
def new_form(request: Request, user: Annotated[User, requires(CATALOG_EDIT)]) -> Response:
    return render(request, "catalog_form.html", entry=None, data={}, errors={}, **FORM_CHOICES)


@pages.post("/catalog/new")
def create(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_EDIT)],
    data: EntryForm,
) -> Response:
    try:
        with session.begin_nested():
            entry = service.create(session, data, actor=user)
    except GongshuError as exc:
        return render(
            request,
            "catalog_form.html",
            status_code=exc.status,
            entry=None,
            data=data,
            **form_errors(exc),
            **FORM_CHOICES,
        )
    return RedirectResponse(f"/catalog/{entry.id}?flash=created", status_code=303)


def _entry_for(session, entry_id: int, user: User):  # noqa: ANN001, ANN202
    entry = service.get(session, entry_id)
    if not catalog_search.can_see(entry, user):
        raise EntryNotFound(f"目录不存在：{entry_id}")
    return entry


FLASHES = {
    "created": "目录已保存为草稿。",
    "saved": "修改已保存为新版本。",
    "submitted": "已提交审核。",
    "approved": "已审核通过。",
    "returned": "已退回。",
    "loaded": "数据已加载。",
}


@pages.get("/catalog/{entry_id}")
def entry_page(
    request: Request,
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    flash: str | None = None,
) -> Response:
    return _entry_page(request, session, user, entry_id, flash=FLASHES.get(flash or ""))


def _entry_page(
    request: Request,
    session: Session,
    user: User,
    entry_id: int,
    *,
    flash: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    entry = _entry_for(session, entry_id, user)
    history = catalog_versions.versions(session, entry_id)
    return render(
        request,
        "catalog_entry.html",
        status_code=status_code,
        error=error,
        entry=entry,
        versions=history,
        datasets=storage.versions_of(session, entry_id),
        can_edit="catalog:edit" in user.scopes
        and (user.org_id == entry.provider_org_id or "admin" in user.roles),
        can_review="catalog:review" in user.scopes
        and user.org is not None
        and entry.review_region_code == user.org.region_code,
        flash=flash,
        deletable=drafts.deletable(session, entry),
        entity_labels=ENTITY_LABELS,
        # what capabilities above the catalog show here (Capability.entry_sections)
        sections=[section(session, entry, user) for section in installed().entry_sections()],
    )


@pages.get("/catalog/{entry_id}/versions/{version_no}")
def version_page(
    request: Request,
    entry_id: int,
    version_no: int,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_READ)],
    against: int | None = None,
) -> Response:
    entry = _entry_for(session, entry_id, user)
    new = catalog_versions.version(session, entry_id, version_no)
    base_no = against if against is not None else version_no - 1
    old = catalog_versions.version(session, entry_id, base_no) if base_no >= 1 else None
    changes, fields = catalog_versions.diff(old.snapshot if old else {}, new.snapshot)
    return render(
        request,
        "catalog_version.html",
        entry=entry,
        new=new,
        old=old,
        changes=changes,
        field_changes=fields,
    )


@pages.get("/catalog/{entry_id}/edit")
def edit_form(
    request: Request,
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_EDIT)],
) -> Response:
    entry = _entry_for(session, entry_id, user)
    return render(
        request,
        "catalog_form.html",
        entry=entry,
        data=catalog_versions.snapshot(entry),
        errors={},
        **FORM_CHOICES,
    )


@pages.post("/catalog/{entry_id}/edit")
def save(
    request: Request,
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_EDIT)],
    data: EntryForm,
) -> Response:
    entry = _entry_for(session, entry_id, user)
    try:
        with session.begin_nested():
            service.update(session, entry_id, data, actor=user)
    except GongshuError as exc:
        session.refresh(entry)
        return render(
            request,
            "catalog_form.html",
            status_code=exc.status,
            entry=entry,
            data=data,
            **form_errors(exc),
            **FORM_CHOICES,
        )
    return RedirectResponse(f"/catalog/{entry_id}?flash=saved", status_code=303)


@pages.post("/catalog/{entry_id}/submit")
def submit(
    entry_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_EDIT)],
) -> Response:
    try:
        with session.begin_nested():
            service.submit(session, entry_id, actor=user)
    except (InvalidInput, Conflict) as exc:
        # Incomplete or not a draft: the entry page again, saying what is missing.
        session.expire_all()
        said = exc.message + ("。请点击“修改”补全后再提交审核。" if exc.status == 400 else "")
        return _entry_page(request, session, user, entry_id, error=said, status_code=exc.status)
    return RedirectResponse(f"/catalog/{entry_id}?flash=submitted", status_code=303)


@pages.get("/review")
def review_queue(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
    flash: str | None = None,
    entry: int | None = None,
) -> Response:
    return render(
        request,
        "catalog_review.html",
        entries=service.review_queue(session, user),
        flash=_review_flash(session, flash, entry),
        errors={},
        typed={},
    )


def _review_flash(session: Session, flash: str | None, entry_id: int | None) -> str | None:
    """What the review just did, naming the entry and what happens next."""
    said = FLASHES.get(flash or "")
    if said is None or entry_id is None:
        return said
    entry = session.get(CatalogEntry, entry_id)
    if entry is None:
        return said
    named = f"《{entry.name}》（{entry.resource_code}）"
    if flash == "returned":
        return f"已退回{named}：提供单位在本单位目录中看到退回意见，修改后可重新提交审核。"
    if flash == "approved":
        return f"已审核通过{named}，第 {entry.version_no} 版。"
    return said


@pages.post("/catalog/{entry_id}/approve")
def approve(
    entry_id: int,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
    request: Request,
    comment: FormStr = "",
) -> Response:
    try:
        with session.begin_nested():
            service.approve(session, entry_id, actor=user, comment=comment.strip() or None)
    except (InvalidInput, Conflict, NotReviewer) as exc:
        # Already decided (a second tab, a colleague) or not reviewable here now: the
        # queue again, saying so, rather than an error page.
        session.expire_all()
        return render(
            request,
            "catalog_review.html",
            status_code=exc.status,
            entries=service.review_queue(session, user),
            errors={},
            typed={},
            error=exc.message,
        )
    return RedirectResponse(f"/review?flash=approved&entry={entry_id}", status_code=303)


@pages.post("/catalog/{entry_id}/return")
def return_(
    entry_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(CATALOG_REVIEW)],
    comment: FormStr = "",
) -> Response:
    try:
        service.return_(session, entry_id, actor=user, comment=comment)
    except InvalidInput as exc:
        # The reason is missing (checked before anything is written): the queue
        # again, the message beside this entry's field, what was typed kept.
        return render(
            request,
            "catalog_review.html",
            status_code=exc.status,
            entries=service.review_queue(session, user),
            errors={entry_id: exc.message},
            typed={entry_id: comment},
        )
    return RedirectResponse(f"/review?flash=returned&entry={entry_id}", status_code=303)
