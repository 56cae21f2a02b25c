"""Pages: a person sees and withdraws their consents and files rights requests; a
provider handles its part; the data authority sees overdue requests (PIP-1 to PIP-6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts.deps import requires
from gongshu.accounts.models import Organization, User
from gongshu.accounts.otp import CodeRefused, CodeTooSoon
from gongshu.accounts.permissions import (
    ACCOUNT_SELF,
    PRIVACY_HANDLE,
    PRIVACY_REQUEST,
    PRIVACY_SUPERVISE,
)
from gongshu.catalog.models import CatalogEntry
from gongshu.entities import ENTITY_LABELS
from gongshu.errors import Conflict, GongshuError, InvalidInput
from gongshu.privacy import clock, consent, notices, service
from gongshu.privacy.errors import NoMobileOnRecord, NotThePerson
from gongshu.privacy.models import (
    MATCH_OUTCOMES,
    REQUEST_KINDS,
    REQUEST_STATUS,
    RightsMatch,
    RightsRequest,
)
from gongshu.timeutil import BEIJING, utcnow
from gongshu.web.deps import SessionDep
from gongshu.web.forms import form_errors, keyed, refused
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)
# A refused post comes back on its own page (issue 17 item 6); a missing right or
# record still ends on the error page.
REFUSED = (InvalidInput, Conflict)
HANDLED = {
    "handled": "已办理，结果已记入答复函。",
    "authorized": "已授权，被授权的市场主体可在授权期限内按所述目的使用您的数据。",
}
FormStr = Annotated[str, Form()]
LABELS = {
    "kinds": REQUEST_KINDS,
    "status": REQUEST_STATUS,
    "outcomes": MATCH_OUTCOMES,
    "entities": ENTITY_LABELS,
    "actions": {
        "delete": "删除",
        "correct": "更正",
        "export": "提供副本",
        "explain": "解释说明",
        "refuse": "不予办理",
    },
}


def _today():  # noqa: ANN202
    return utcnow().astimezone(BEIJING).date()


def _names(session, ids: set[int], model) -> dict:  # noqa: ANN001
    return {i: session.get(model, i) for i in ids}


def _my_page(
    request: Request,
    session,  # noqa: ANN001
    user: User,
    *,
    status_code: int = 200,
    errors: dict | None = None,
    sent_to: str = "",
    data: dict | None = None,
    error: str | None = None,
    flash: str | None = None,
) -> Response:
    errors = dict(errors or {})
    error = error or errors.pop("form", None)  # about no one field: the summary says it
    records = consent.of_person(session, user.id_number_hash) if user.id_number_hash else []
    withdrawn = {r.withdraws_id for r in records if r.action == "withdraw"}
    orgs = _names(session, {r.org_id for r in records}, Organization)
    # A processor's name links to its processing rules only once it has published them.
    published = {i for i in orgs if notices.current(session, i) is not None}
    return render(
        request,
        "privacy_me.html",
        status_code=status_code,
        records=records,
        withdrawn=withdrawn,
        orgs=orgs,
        published=published,
        requests=service.of_user(session, user),
        P=LABELS,
        errors=errors,
        error=error,
        flash=flash,
        sent_to=sent_to,
        data=data or {},
    )


@pages.get("/privacy")
def my_privacy(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_REQUEST)],
    withdrawn: int = 0,
    authorized: int = 0,
) -> Response:
    said = (
        "已撤回同意。下一步：处理者须在 15 日内删除或匿名化处理相关个人信息。"
        if withdrawn
        else "已授权，被授权的市场主体可在授权期限内按所述目的使用您的数据。"
        if authorized
        else None
    )
    return _my_page(request, session, user, flash=said)


@pages.post("/privacy/consents/{consent_id}/withdraw")
def withdraw_page(
    consent_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_REQUEST)],
) -> Response:
    try:
        consent.withdraw_own(session, consent_id, user=user, on=_today())
    except REFUSED as exc:  # about no field: the summary says it
        refused(session, exc)
        return _my_page(request, session, user, status_code=exc.status, error=exc.message)
    return RedirectResponse("/privacy?withdrawn=1", status_code=303)


def _settle(savepoint, exc: GongshuError) -> None:  # noqa: ANN001
    """Keep what an error marked ``commit_anyway`` wrote (a counted attempt, a recorded
    look-up: written before anything else); undo everything else."""
    (savepoint.commit if getattr(exc, "commit_anyway", False) else savepoint.rollback)()


def _field_of(exc: GongshuError) -> str:
    """The form field a refusal is about, so the page shows it beside that field."""
    if isinstance(exc, CodeRefused | CodeTooSoon):
        return "code"
    if isinstance(exc, NotThePerson | NoMobileOnRecord) or "身份证" in exc.message:
        return "request_id_number"
    if "手机号码" in exc.message:
        return "mobile"
    if "更正" in exc.message:
        return "correct_column"
    return "kind" if "请求类型" in exc.message else "form"


@pages.post("/privacy/requests/code")
def code_page(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_REQUEST)],
    id_number: FormStr = "",
) -> Response:
    """Send the one-time code to the mobile number on record (shown masked)."""
    from gongshu.accounts.throttle import client_address

    savepoint = session.begin_nested()
    try:
        sent_to = service.request_code(
            session,
            user=user,
            id_number=id_number,
            checker=request.app.state.identity_checker,
            secret=request.app.state.settings.secret_key,
            caller=client_address(request),
        )
    except GongshuError as exc:
        # The look-up of a number not on record stays in the ledger; nothing else does.
        _settle(savepoint, exc)
        return _my_page(
            request, session, user, status_code=exc.status, errors={"id_number": exc.message}
        )
    savepoint.commit()
    return _my_page(request, session, user, sent_to=sent_to)


@pages.post("/privacy/requests")
def file_page(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_REQUEST)],
    kind: FormStr = "",
    id_number: FormStr = "",
    code: FormStr = "",
    mobile: FormStr = "",
    details: FormStr = "",
    correct_column: FormStr = "",
    correct_value: FormStr = "",
) -> Response:
    settings = request.app.state.settings
    corrections = {correct_column.strip(): correct_value} if correct_column.strip() else None
    savepoint = session.begin_nested()
    try:
        req = service.file_request(
            session,
            user=user,
            kind=kind,
            id_number=id_number,
            code=code,
            mobile=mobile or None,
            details=details,
            corrections=corrections,
            secret=settings.secret_key,
            datasets_dir=settings.datasets_dir,
        )
    except GongshuError as exc:
        # A refused code keeps its counted attempt (written before anything else);
        # any other refusal leaves nothing behind.
        _settle(savepoint, exc)
        return _my_page(
            request,
            session,
            user,
            status_code=exc.status,
            errors={_field_of(exc): exc.message},
            data={
                "kind": kind,
                "mobile": mobile,
                "details": details,
                "correct_column": correct_column,
                "correct_value": correct_value,
            },
        )
    savepoint.commit()
    return RedirectResponse(f"/privacy/requests/{req.id}?filed=1", status_code=303)


@pages.get("/privacy/requests/{request_id}")
def request_page(
    request_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
    filed: int = 0,
    done: str = "",
) -> Response:
    return _request_page(request, session, request_id, user, filed=filed, done=done)


def _request_page(
    request: Request,
    session,  # noqa: ANN001
    request_id: int,
    user: User,
    *,
    filed: int = 0,
    done: str = "",
    failed: GongshuError | None = None,
    typed: dict | None = None,
    key: str = "",
) -> Response:
    """The request; after a refused handling or authorization the same page with the
    message beside the field of that record's card (``name-key``)."""
    from sqlalchemy import select

    from gongshu.capability import reference
    from gongshu.privacy.authorize import MARKET_KINDS

    req = service.get_visible(session, request_id, user)
    said = keyed(form_errors(failed) if failed is not None else {"errors": {}}, key)
    matches = service.matches(session, req)
    market = list(
        session.scalars(
            select(Organization)
            .where(Organization.kind.in_(MARKET_KINDS))
            .order_by(Organization.name)
            .limit(200)
        )
    )
    return render(
        request,
        "privacy_request.html",
        status_code=failed.status if failed is not None else 200,
        data={f"{k}-{key}": v for k, v in (typed or {}).items()},
        **said,
        req=req,
        matches=matches,
        entries=_names(session, {m.entry_id for m in matches}, CatalogEntry),
        orgs=_names(session, {m.provider_org_id for m in matches}, Organization),
        allowed=service.ALLOWED_ACTIONS[req.kind],
        mine=req.user_id == user.id,
        market=market,
        P=LABELS,
        # Just filed: what happened, its reference number and the next step.
        flash=(
            f"权利请求已提交，受理编号 {reference('GRXX', req.received_at, req.id)}。"
            f"下一步：{len(matches)} 个含有您信息的目录的提供单位逐一办理，"
            "平台在法定期限内答复；进度见“我的事项”。"
            if filed and req.user_id == user.id
            else HANDLED.get(done)
        ),
    )


@pages.get("/privacy/inbox")
def inbox_page(
    request: Request, session: SessionDep, user: Annotated[User, requires(PRIVACY_HANDLE)]
) -> Response:
    rows = service.inbox(session, user.org_id) if user.org_id else []
    records = consent.of_org(session, user.org_id) if user.org_id else []
    return render(
        request,
        "privacy_inbox.html",
        rows=rows,
        entries=_names(session, {m.entry_id for m, _ in rows}, CatalogEntry),
        records=records,
        withdrawn={r.withdraws_id for r in records if r.action == "withdraw"},
        due=consent.withdrawals_due(session, user.org_id, _today()) if user.org_id else [],
        allowed=service.ALLOWED_ACTIONS,
        P=LABELS,
    )


@pages.post("/privacy/matches/{match_id}/handle")
def handle_page(
    match_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_HANDLE)],
    action: FormStr = "",
    note: FormStr = "",
    mobile_confirmed: FormStr = "",
) -> Response:
    settings = request.app.state.settings
    try:
        match = service.handle(
            session,
            match_id,
            actor=user,
            action=action,
            note=note,
            mobile_confirmed=mobile_confirmed == "1",
            secret=settings.secret_key,
            datasets_dir=settings.datasets_dir,
        )
    except REFUSED as exc:
        refused(session, exc)
        request_id = session.get(RightsMatch, match_id).request_id  # found: the step ran
        typed = {"note": note, "mobile_confirmed": mobile_confirmed}
        return _request_page(
            request, session, request_id, user, failed=exc, typed=typed, key=f"m{match_id}"
        )
    return RedirectResponse(f"/privacy/requests/{match.request_id}?done=handled", status_code=303)


@pages.get("/privacy/supervision")
def supervision_page(
    request: Request, session: SessionDep, user: Annotated[User, requires(PRIVACY_SUPERVISE)]
) -> Response:
    from sqlalchemy import select

    area = clock.supervised_area(user)
    unknown = list(
        session.scalars(
            select(RightsRequest).where(
                RightsRequest.status == "open",
                RightsRequest.deadline.is_(None),
                clock.in_area(area),
            )
        )
    )
    open_count = len(
        list(
            session.scalars(
                select(RightsRequest.id).where(RightsRequest.status == "open", clock.in_area(area))
            )
        )
    )
    return render(
        request,
        "privacy_supervision.html",
        overdue=clock.overdue(session, area=area),
        unknown=unknown,
        open_count=open_count,
        P=LABELS,
    )


@pages.post("/privacy/grants/{grant_id}/authorize")
def authorize_page(
    grant_id: int,
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(PRIVACY_REQUEST)],
    org_id: Annotated[int, Form()] = 0,
    purpose: FormStr = "",
    back: FormStr = "/privacy",
) -> Response:
    from gongshu.privacy.authorize import authorize

    target = back if back.startswith("/privacy/") else "/privacy"
    try:
        authorize(session, grant_id, user=user, org_id=org_id, purpose=purpose, on=_today())
    except REFUSED as exc:
        refused(session, exc)
        typed = {"org_id": org_id, "purpose": purpose}
        request_id = _request_of_grant(session, grant_id)
        if request_id is None:  # authorized from elsewhere: the summary of my page
            return _my_page(request, session, user, status_code=exc.status, error=exc.message)
        return _request_page(
            request, session, request_id, user, failed=exc, typed=typed, key=f"g{grant_id}"
        )
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}done=authorized", status_code=303)


def _request_of_grant(session, grant_id: int) -> int | None:  # noqa: ANN001
    """The rights request whose handling made the grant (the page its form is on)."""
    from sqlalchemy import select

    return session.scalar(
        select(RightsMatch.request_id).where(RightsMatch.grant_id == grant_id).limit(1)
    )
