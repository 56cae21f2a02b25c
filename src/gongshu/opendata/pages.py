"""Open-data portal pages: browse and search without login (OPN-1), declare a use
(OPN-2), apply, answer or refer (the provider), decide a referred application (the
data authority), and sign the open-use agreement (OPN-3, OPN-4).

Data leaves only through the egress door: grants (/grants/{id}/download and the
APIs), and the masked preview on an unconditionally open entry's page, one recorded
delivery to the public kept for a while (preview.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.deps import requires
from gongshu.accounts.models import User
from gongshu.accounts.permissions import OPEN_APPLY, PUBLIC, SHARING_ANSWER, SHARING_DECIDE
from gongshu.errors import Conflict, GongshuError, InvalidField, InvalidInput
from gongshu.opendata import agreements, preview, service
from gongshu.opendata.entries import get_open, slug
from gongshu.opendata.errors import NotApplicant
from gongshu.opendata.licence import licence_for
from gongshu.opendata.models import COMPLAINT_KINDS
from gongshu.opendata.packages import resource_id
from gongshu.opendata.search import FACETS, search
from gongshu.web.deps import SessionDep, read_first, read_only
from gongshu.web.forms import form_errors
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
PER_PAGE = 20
FormStr = Annotated[str, Form()]


@pages.get("/open")
@read_only()
def portal(
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
    q: str | None = None,
    page: int = 1,
) -> Response:
    active = {k: v for k in FACETS if (v := request.query_params.get(k))}
    page = max(page, 1)
    result = search(
        session,
        q=q,
        filters={k: [v] for k, v in active.items()},
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    return render(
        request,
        "open_list.html",
        result=result,
        q=q or "",
        active=active,
        facet_labels=FACETS,
        page=page,
        per_page=PER_PAGE,
    )


@pages.get("/open/{entry_id:int}")
@read_first()  # reads; records the preview's delivery when it is read again
def entry_page(
    entry_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
    declared: int | None = None,
    complained: int | None = None,
) -> Response:
    return _entry_page(
        request,
        session,
        user,
        entry_id,
        flash=_done(session, user, declared, complained),
        read_preview=True,
    )


def _done(
    session: Session, user: User | None, declared: int | None, complained: int | None
) -> str | None:
    """What the step just taken did, with its reference number and the next step."""
    from gongshu.capability import reference
    from gongshu.opendata.models import Complaint, OpenUseDeclaration

    if declared is not None and user is not None:
        d = session.get(OpenUseDeclaration, declared)
        if d is not None and d.user_id == user.id:
            return (
                f"已声明用途，受理编号 {reference('KFSM', d.created_at, d.id)}。"
                "数据使用授权已生效：下一步，在下方“获取数据”处下载。"
            )
    if complained is not None:
        c = session.get(Complaint, complained)
        if c is not None and c.complainant_user_id is None:
            return (
                f"投诉已提交，受理编号 {reference('KFTS', c.created_at, c.id)}。"
                "下一步：数据提供单位核实后按您留下的联系方式答复，请记下受理编号以便查询。"
            )
    return None


def _entry_page(
    request: Request,
    session: Session,
    user: User | None,
    entry_id: int,
    *,
    status_code: int = 200,
    data: dict | None = None,
    flash: str | None = None,
    read_preview: bool = False,
    **failed: object,
) -> Response:
    """The entry's page. ``read_preview``: on a plain view, read the preview through
    the door when none is kept, and commit its delivery before showing it; a form
    shown again with its errors only uses a kept one (its failed work is not committed)."""
    entry = get_open(session, entry_id)
    version = storage.newest(session, entry.id)
    plan = preview.release_plan(session, entry, version)
    rows, withheld = None, False
    if entry.opening_attr == "unconditional" and version is not None and plan is not None:
        rows = preview.kept(session, entry, version)
        if rows is None and read_preview:
            try:
                rows = preview.take(session, entry, version, settings=request.app.state.settings)
            except GongshuError:  # a gate of the door refuses: the page stands, without rows
                withheld = True
            else:
                session.commit()  # the delivery is on record before its rows are shown or kept
                preview.keep(session, entry, version, rows)
    ctx: dict = {"declaration": None, "grant": None, "applications": []}
    if user is not None:
        ctx["declaration"] = service.declaration_of(session, entry.id, user)
        ctx["grant"] = service.active_grant(session, entry.id, user)
        ctx["applications"] = [
            (a, agreements.agreement_for(session, a.id))
            for a in service.applications_of(session, user)
            if a.entry_id == entry.id
        ]
    return render(
        request,
        "open_entry.html",
        status_code=status_code,
        entry=entry,
        version=version,
        plan=plan,
        preview=rows,
        preview_withheld=withheld,
        mask_labels=preview.MASK_LABELS,
        licence=licence_for(entry.opening_attr),
        package_name=slug(entry.resource_code),
        resource_id=resource_id(entry),
        base=str(request.base_url).rstrip("/"),
        can_apply=user is not None and OPEN_APPLY in user.scopes,
        data=data or {},
        errors=failed.pop("errors", {}),
        flash=flash,
        **failed,
        **ctx,
    )


@pages.post("/open/{entry_id:int}/declare")
def declare(
    entry_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPEN_APPLY)],
    use: FormStr = "",
    scenario: FormStr = "",
) -> Response:
    try:
        declaration = service.declare_use(session, entry_id, actor=user, use=use, scenario=scenario)
    except (InvalidInput, Conflict) as exc:
        # Checked before anything is written: the page again, the message beside
        # the field, what was typed kept.
        data = {"use": use, "scenario": scenario}
        return _entry_page(
            request,
            session,
            user,
            entry_id,
            status_code=exc.status,
            data=data,
            **form_errors(exc),
        )
    return RedirectResponse(f"/open/{entry_id}?declared={declaration.id}", status_code=303)


@pages.post("/open/{entry_id:int}/apply")
def apply(
    entry_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPEN_APPLY)],
    use: FormStr = "",
    scenario: FormStr = "",
    security_measures: FormStr = "",
    term_days: FormStr = "",
    fields: Annotated[list[str] | None, Form()] = None,
) -> Response:
    data = {
        "use": use,
        "scenario": scenario,
        "security_measures": security_measures,
        "term_days": term_days,
        "fields": fields or [],
        "applied": True,
    }
    try:
        days = int(term_days.strip() or service.DEFAULT_TERM_DAYS)
    except ValueError:
        days = 0  # refused below, beside the field, as any other wrong term
    try:
        application = service.apply(
            session,
            entry_id,
            actor=user,
            use=use,
            scenario=scenario,
            security_measures=security_measures,
            fields=fields,
            term_days=days,
        )
    except (InvalidInput, Conflict) as exc:
        return _entry_page(
            request,
            session,
            user,
            entry_id,
            status_code=exc.status,
            data=data,
            **form_errors(exc),
        )
    return RedirectResponse(f"/me/applications/{application.id}?done=1", status_code=303)


@pages.get("/open/inbox")
def inbox(
    request: Request, session: SessionDep, user: Annotated[User, requires(SHARING_ANSWER)]
) -> Response:
    return _inbox(request, session, user)


def _inbox(
    request: Request,
    session: Session,
    user: User,
    *,
    deciding: bool = False,
    status_code: int = 200,
    failed: GongshuError | None = None,
    key: str = "",
    typed: dict | None = None,
) -> Response:
    """The provider's inbox (or the authority's referred queue); after a refused answer
    the same page with each message beside its field of that card, what was typed
    kept (``key`` names the card: fields are ``name-key``)."""
    from gongshu.catalog import service as catalog
    from gongshu.opendata import complaints

    apps = service.inbox(session, user)
    if deciding:
        apps = [a for a in apps if a.status == "referred"]
        filed = None
    else:
        filed = complaints.for_provider(session, user)
    entries = {
        e: catalog.get(session, e)
        for e in {a.entry_id for a in apps} | {c.entry_id for c in filed or []}
    }
    said = form_errors(failed) if failed is not None else {"errors": {}}
    return render(
        request,
        "open_inbox.html",
        status_code=status_code,
        applications=apps,
        entries=entries,
        complaints=filed,
        kinds=COMPLAINT_KINDS,
        deciding=deciding,
        errors={f"{name}-{key}": text for name, text in said["errors"].items()},
        error=said.get("error"),
        data={f"{name}-{key}": value for name, value in (typed or {}).items()},
    )


@pages.post("/open/{entry_id:int}/complaints")
def complain(
    entry_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User | None, requires(PUBLIC)],
    kind: FormStr = "",
    description: FormStr = "",
    contact: FormStr = "",
) -> Response:
    """QUA-4: anyone may complain, signed in or not (a contact is then required)."""
    from gongshu.opendata import complaints

    try:
        filed = complaints.submit(
            session, entry_id, kind=kind, description=description, contact=contact, actor=user
        )
    except InvalidInput as exc:
        data = {"kind": kind, "description": description, "contact": contact}
        return _entry_page(
            request,
            session,
            user,
            entry_id,
            status_code=exc.status,
            data=data,
            **form_errors(exc),
        )
    if user is not None:
        return RedirectResponse(f"/me/complaints/{filed.id}?done=1", status_code=303)
    return RedirectResponse(
        f"/open/{entry_id}?complained={filed.id}#complaint-form", status_code=303
    )


@pages.post("/open/complaints/{complaint_id}/answer")
def answer_complaint(
    complaint_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
    text: FormStr = "",
) -> Response:
    from gongshu.opendata import complaints

    try:
        complaints.answer(session, complaint_id, actor=user, text=text)
    except InvalidInput as exc:
        failed = InvalidField(exc.message, field="text")
        key = f"c{complaint_id}"
        return _inbox(
            request,
            session,
            user,
            status_code=exc.status,
            failed=failed,
            key=key,
            typed={"text": text},
        )
    return RedirectResponse("/open/inbox", status_code=303)


@pages.post("/open/applications/{application_id}/refer")
def refer(
    application_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
    note: FormStr = "",
) -> Response:
    try:
        service.refer(session, application_id, actor=user, note=note)
    except InvalidInput as exc:
        return _inbox(
            request,
            session,
            user,
            status_code=exc.status,
            failed=exc,
            key=str(application_id),
            typed={"note": note},
        )
    return RedirectResponse("/open/inbox", status_code=303)


@pages.get("/open/referred")
def referred(
    request: Request, session: SessionDep, user: Annotated[User, requires(SHARING_DECIDE)]
) -> Response:
    """The data authority's queue: applications its tier's providers referred (SHR-4)."""
    return _inbox(request, session, user, deciding=True)


def _answer_form(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    application_id: int,
    *,
    deciding: bool,
    decision: str,
    reason: str,
    legal_basis: str,
    conditions: str,
) -> Response:
    """The provider's answer or the authority's decision: the service, or on a refusal
    without its reason or legal basis the queue again, each message beside its field
    of this application, what was typed kept."""
    try:
        service.answer(
            session,
            application_id,
            actor=user,
            approve=decision == "approve",
            reason=reason,
            legal_basis=legal_basis,
            conditions=conditions,
        )
    except InvalidInput as exc:
        typed = {"reason": reason, "legal_basis": legal_basis, "conditions": conditions}
        return _inbox(
            request,
            session,
            user,
            deciding=deciding,
            status_code=exc.status,
            failed=exc,
            key=str(application_id),
            typed=typed,
        )
    return RedirectResponse("/open/referred" if deciding else "/open/inbox", status_code=303)


@pages.post("/open/applications/{application_id}/decide")
def decide(
    application_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_DECIDE)],
    decision: FormStr = "",
    reason: FormStr = "",
    legal_basis: FormStr = "",
    conditions: FormStr = "",
) -> Response:
    return _answer_form(
        request,
        session,
        user,
        application_id,
        deciding=True,
        decision=decision,
        reason=reason,
        legal_basis=legal_basis,
        conditions=conditions,
    )


@pages.post("/open/applications/{application_id}/answer")
def answer(
    application_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(SHARING_ANSWER)],
    decision: FormStr = "",
    reason: FormStr = "",
    legal_basis: FormStr = "",
    conditions: FormStr = "",
) -> Response:
    return _answer_form(
        request,
        session,
        user,
        application_id,
        deciding=False,
        decision=decision,
        reason=reason,
        legal_basis=legal_basis,
        conditions=conditions,
    )


@pages.get("/open/agreements/{agreement_id}")
def agreement_page(
    agreement_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPEN_APPLY)],
) -> Response:
    agreement = agreements.get_agreement(session, agreement_id)
    if agreement.user_id != user.id and "admin" not in user.roles:
        raise NotApplicant("只能查看本人的开放利用协议")
    return render(
        request,
        "open_agreement.html",
        agreement=agreement,
        term_end=agreements.term_end(agreement),
        breaches=agreements.breaches_of(session, agreement.id),
        feedback=agreements.feedback_of(session, agreement.id),
    )


@pages.post("/open/agreements/{agreement_id}/feedback")
def feedback(
    agreement_id: int,
    session: SessionDep,
    user: Annotated[User, requires(OPEN_APPLY)],
    text: FormStr = "",
) -> Response:
    agreements.give_feedback(session, agreement_id, actor=user, text=text)
    return RedirectResponse(f"/open/agreements/{agreement_id}", status_code=303)


@pages.post("/open/agreements/{agreement_id}/sign")
def sign(
    agreement_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(OPEN_APPLY)],
    confirm: FormStr = "",
) -> Response:
    """OPN-4: the signature is this explicit, confirmed click; it is recorded in the ledger."""
    if confirm != "yes":
        agreement = agreements.get_agreement(session, agreement_id)
        if agreement.user_id != user.id:
            raise NotApplicant("只有申请人本人可以签署该协议")
        return render(
            request,
            "open_agreement.html",
            status_code=400,
            flash="签署协议须勾选确认已阅读并同意协议全部条款",
            agreement=agreement,
            term_end=None,
            breaches=[],
        )
    agreements.sign(session, agreement_id, actor=user)
    return RedirectResponse(f"/open/agreements/{agreement_id}", status_code=303)


@pages.post("/open/agreements/{agreement_id}/dispose")
def dispose(
    agreement_id: int, session: SessionDep, user: Annotated[User, requires(OPEN_APPLY)]
) -> Response:
    agreements.confirm_disposal(session, agreement_id, actor=user)
    return RedirectResponse(f"/open/agreements/{agreement_id}", status_code=303)
