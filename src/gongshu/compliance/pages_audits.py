"""Audit pages: engagements, the 31 points with evidence, rectification, signing (AUD-2..AUD-8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import (
    ACCOUNT_SELF,
    AUDIT_CONDUCT,
    COMPLIANCE_MANAGE,
    COMPLIANCE_SUPERVISE,
)
from gongshu.compliance import audits, framework, rectification, reports, signing
from gongshu.compliance.errors import NotYourOrganization
from gongshu.compliance.forms import FLASHES, FormStr, Typed, pdf
from gongshu.compliance.models import Rectification
from gongshu.errors import Conflict, GongshuError, InvalidField, InvalidInput
from gongshu.web.deps import FormDep, SessionDep
from gongshu.web.downloads import uploaded_file
from gongshu.web.forms import form_errors, refused
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)


@pages.get("/compliance/audits")
def audit_list(
    request: Request, session: SessionDep, user: Annotated[User, requires(AUDIT_CONDUCT)]
) -> Response:
    return render(request, "compliance_audits.html", audits=audits.listing(session, user))


@pages.get("/compliance/audits/new")
def audit_form(
    request: Request, session: SessionDep, user: Annotated[User, requires(COMPLIANCE_MANAGE)]
) -> Response:
    return _audit_form(request, session, {})


def _audit_form(request: Request, session, data: dict, **extra) -> Response:  # noqa: ANN001, ANN003
    return render(
        request,
        "compliance_audit_new.html",
        institutions=audits.institutions(session),
        data=data,
        errors=extra.pop("errors", {}),
        **extra,
    )


@pages.post("/compliance/audits/new")
def audit_create(
    request: Request,
    posted: FormDep,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
) -> Response:
    form = dict(posted.items())
    try:
        typed = Typed()
        institution = typed.number(form.get("institution_org_id", "0"), "institution_org_id")
        notified = form.get("notified_at", "")
        notified_at = typed.moment(notified, "notified_at", "收到通知时间") if notified else None
        typed.check()
        with session.begin_nested():
            audit = audits.create(
                session,
                actor=user,
                subject_org_id=user.org_id or 0,
                trigger=form.get("trigger", ""),
                conductor=form.get("conductor", ""),
                institution_org_id=institution or None,
                institution_head=form.get("institution_head", ""),
                lead_name=form.get("lead_name", ""),
                scope=form.get("scope", ""),
                notified_at=notified_at,
            )
    except GongshuError as exc:
        return _audit_form(request, session, form, status_code=exc.status, **form_errors(exc))
    return RedirectResponse(f"/compliance/audits/{audit.id}", status_code=303)


@pages.get("/compliance/audits/order")
def audit_order_form(
    request: Request, session: SessionDep, user: Annotated[User, requires(COMPLIANCE_SUPERVISE)]
) -> Response:
    return _order_form(request, session, user, {})


def _order_form(request: Request, session, user: User, data: dict, **extra) -> Response:  # noqa: ANN001, ANN003
    return render(
        request,
        "compliance_audit_order.html",
        subjects=audits.orderable_subjects(session, user),
        institutions=audits.institutions(session),
        data=data,
        errors=extra.pop("errors", {}),
        **extra,
    )


@pages.post("/compliance/audits/order")
def audit_order(
    request: Request,
    posted: FormDep,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_SUPERVISE)],
) -> Response:
    """A regulator orders an organization in its area to be audited (AUD-2): the order is
    the notice, and the 90 working days run from it."""
    form = dict(posted.items())
    try:
        typed = Typed()
        subject = typed.number(form.get("subject_org_id", "0"), "subject_org_id")
        institution = typed.number(form.get("institution_org_id", "0"), "institution_org_id")
        typed.check()
        with session.begin_nested():
            audit = audits.order(
                session,
                actor=user,
                subject_org_id=subject,
                institution_org_id=institution or None,
                institution_head=form.get("institution_head", ""),
                lead_name=form.get("lead_name", ""),
                scope=form.get("scope", ""),
            )
    except GongshuError as exc:
        return _order_form(request, session, user, form, status_code=exc.status, **form_errors(exc))
    return RedirectResponse(f"/compliance/audits/{audit.id}?flash=ordered", status_code=303)


@pages.get("/compliance/audits/{audit_id}")
def audit_page(
    request: Request,
    audit_id: int,
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
) -> Response:
    return _audit_page(request, session, user, audit_id)


def _audit_page(request: Request, session, user: User, audit_id: int, **extra) -> Response:  # noqa: ANN001, ANN003
    audit = audits.get_visible(session, audit_id, user)
    conductor_org = (
        audit.institution_org_id if audit.conductor == "institution" else audit.subject_org_id
    )
    done = audits.results(session, audit.id)
    files: dict[int, list] = {}
    for f in audits.evidence_files(session, audit.id):
        files.setdefault(f.point, []).append(f)
    live = {p: audits.live_evidence(session, audit, p) for p in framework.assessable()}
    extra.setdefault("point_error", {})
    extra.setdefault("fix_errors", {})
    extra.setdefault("fix_typed", {})
    extra.setdefault("error_field", {})
    extra.setdefault("page_error", None)
    return render(
        request,
        "compliance_audit.html",
        audit=audit,
        nodes=framework.nodes(),
        done=done,
        files=files,
        live=live,
        progress=_progress(done),
        fixes=rectification.rectifications(session, audit.id),
        RL=audits.RESULT_LABELS,
        conducting=user.org_id == conductor_org and AUDIT_CONDUCT in user.scopes,
        subject_user=user.org_id == audit.subject_org_id,
        signatures=_checked(session, audit.id),
        can_sign=signing.roles_for(audit, user),
        flash=FLASHES.get(request.query_params.get("flash", "")),
        **extra,
    )


def _progress(done: dict, after: int = 0) -> dict:
    """已评 n/N over the assessable points (30 of the 31: point 1 is explanatory), and the
    next point still to assess (after ``after`` first, then from the start)."""
    points = framework.assessable()
    todo = [p for p in points if p not in done]
    later = [p for p in todo if p > after]
    return {
        "done": len(points) - len(todo),
        "total": len(points),
        "next": (later or todo or [None])[0],
    }


def _checked(session, audit_id: int) -> list:  # noqa: ANN001
    checks = {role: (role, ok, why) for role, ok, why in signing.verify(session, audit_id)}
    return [(s, checks[s.role]) for s in signing.signatures(session, audit_id)]


@pages.post("/compliance/audits/{audit_id}/points/{point}")
def audit_assess(
    request: Request,
    audit_id: int,
    point: int,
    session: SessionDep,
    user: Annotated[User, requires(AUDIT_CONDUCT)],
    result: FormStr = "",
    findings: FormStr = "",
) -> Response:
    try:
        with session.begin_nested():
            audits.assess(session, audit_id, point, actor=user, result=result, findings=findings)
    except InvalidInput as exc:
        # Shown beside the point's form, which keeps what was typed.
        return _audit_page(
            request,
            session,
            user,
            audit_id,
            point_error={point: exc.message},
            error_field={
                point: exc.detail.get("field", "findings")
                if isinstance(exc.detail, dict)
                else "findings"
            },
            typed={point: {"result": result, "findings": findings}},
            status_code=exc.status,
        )
    # Point by point: on to the next point still to assess.
    following = _progress(audits.results(session, audit_id), after=point)["next"] or point
    return RedirectResponse(
        f"/compliance/audits/{audit_id}?flash=assessed#p{following}", status_code=303
    )


@pages.post("/compliance/audits/{audit_id}/points/{point}/evidence")
def audit_evidence(
    audit_id: int,
    point: int,
    session: SessionDep,
    user: Annotated[User, requires(AUDIT_CONDUCT)],
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    try:
        if file is None or not file.filename:
            raise InvalidInput("请选择要上传的证据文件")
        content = file.file.read()  # a plain def: this runs on a worker thread
        with session.begin_nested():
            audits.add_evidence(
                session,
                audit_id,
                point,
                actor=user,
                filename=file.filename or "evidence",
                media_type=file.content_type or "application/octet-stream",
                content=content,
            )
    except InvalidInput as exc:
        # The audit page again, the message beside this point's file field.
        return _audit_page(
            request,
            session,
            user,
            audit_id,
            status_code=exc.status,
            fix_errors={f"evidence-{point}": exc.message},
        )
    return RedirectResponse(
        f"/compliance/audits/{audit_id}?flash=evidence#p{point}", status_code=303
    )


@pages.get("/compliance/audits/{audit_id}/evidence/{evidence_id}")
def audit_evidence_file(
    audit_id: int,
    evidence_id: int,
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
) -> Response:
    audits.get_visible(session, audit_id, user)
    item = next((f for f in audits.evidence_files(session, audit_id) if f.id == evidence_id), None)
    if item is None:
        raise NotYourOrganization("证据文件不存在")
    return uploaded_file(item.content, item.filename)


@pages.post("/compliance/audits/{audit_id}/points/{point}/rectifications")
def audit_rectification(
    audit_id: int,
    point: int,
    session: SessionDep,
    user: Annotated[User, requires(AUDIT_CONDUCT)],
    request: Request,
    text: FormStr = "",
    owner: FormStr = "",
    due_on: FormStr = "",
) -> Response:
    typed = Typed()
    due = typed.day(due_on, "due_on")
    try:
        if due is None and "due_on" not in typed.problems:
            typed.problems["due_on"] = "请填写整改期限"
        try:
            with session.begin_nested():
                rectification.add_rectification(
                    session, audit_id, point, actor=user, text=text, owner=owner, due_on=due
                )
        except InvalidField as exc:
            typed.problems.update(exc.fields)
        typed.check()
    except InvalidField as exc:
        # The point's rectification form again, each message beside its field.
        return _audit_page(
            request,
            session,
            user,
            audit_id,
            status_code=exc.status,
            fix_errors={f"fix-{k.replace('_on', '')}-{point}": v for k, v in exc.fields.items()},
            fix_typed={
                f"fix-text-{point}": text,
                f"fix-owner-{point}": owner,
                f"fix-due-{point}": due_on,
            },
        )
    return RedirectResponse(f"/compliance/audits/{audit_id}?flash=rectification", status_code=303)


@pages.post("/compliance/rectifications/{item_id}/done")
def rectification_done(
    item_id: int,
    session: SessionDep,
    user: Annotated[User, requires(COMPLIANCE_MANAGE)],
    request: Request,
    note: FormStr = "",
) -> Response:
    try:
        with session.begin_nested():
            item = rectification.complete_rectification(session, item_id, actor=user, note=note)
    except InvalidField as exc:
        audit_id = session.get(Rectification, item_id).audit_id
        return _audit_page(
            request,
            session,
            user,
            audit_id,
            status_code=exc.status,
            fix_errors={f"done-note-{item_id}": exc.message},
            fix_typed={f"done-note-{item_id}": note},
        )
    return RedirectResponse(f"/compliance/audits/{item.audit_id}", status_code=303)


@pages.post("/compliance/rectifications/{item_id}/review")
def rectification_review(
    item_id: int,
    session: SessionDep,
    user: Annotated[User, requires(AUDIT_CONDUCT)],
    request: Request,
    ok: FormStr = "",
    note: FormStr = "",
) -> Response:
    try:
        item = rectification.review_rectification(
            session, item_id, actor=user, ok=ok == "1", note=note
        )
    except (InvalidInput, Conflict) as exc:
        audit_id = session.get(Rectification, item_id).audit_id
        return _refused_on_page(
            request, session, user, audit_id, exc, field=f"review-note-{item_id}", typed=note
        )
    return RedirectResponse(f"/compliance/audits/{item.audit_id}", status_code=303)


def _refused_on_page(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    audit_id: int,
    exc: GongshuError,
    *,
    field: str = "",
    typed: str = "",
) -> Response:
    """A refused review, signature or submission shown on the audit page (issue 17
    item 6): the step undone, the message beside its field, or in the summary at the
    top when it concerns no field."""
    refused(session, exc)
    if field:
        return _audit_page(
            request,
            session,
            user,
            audit_id,
            status_code=exc.status,
            fix_errors={field: exc.message},
            fix_typed={field: typed},
        )
    return _audit_page(
        request, session, user, audit_id, status_code=exc.status, page_error=exc.message
    )


def _keys(request: Request):  # noqa: ANN202
    from gongshu import storage

    return storage.keystore(request.app.state.settings.datasets_dir)


@pages.post("/compliance/audits/{audit_id}/sign")
def audit_sign(
    request: Request,
    audit_id: int,
    session: SessionDep,
    user: Annotated[User, requires(AUDIT_CONDUCT)],
    role: FormStr = "",
) -> Response:
    """The signed-in lead or head signs the report's SM3 with their own SM2 key."""
    try:
        signing.sign_report(session, audit_id, actor=user, role=role, keys=_keys(request))
    except (InvalidInput, Conflict) as exc:
        return _refused_on_page(request, session, user, audit_id, exc)
    return RedirectResponse(f"/compliance/audits/{audit_id}?flash=signed", status_code=303)


@pages.post("/compliance/audits/{audit_id}/submit")
def audit_submit(
    request: Request,
    audit_id: int,
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
) -> Response:
    try:
        signing.submit(session, audit_id, actor=user)
    except (InvalidInput, Conflict) as exc:
        return _refused_on_page(request, session, user, audit_id, exc)
    return RedirectResponse(f"/compliance/audits/{audit_id}?flash=submitted", status_code=303)


@pages.get("/compliance/audits/{audit_id}/report.pdf")
def auditpdf(
    audit_id: int, session: SessionDep, user: Annotated[User, requires(ACCOUNT_SELF)]
) -> Response:
    audit = audits.get_visible(session, audit_id, user)
    return pdf(reports.audit_report(session, audit), f"audit-{audit.id}")
