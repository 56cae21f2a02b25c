"""Login, logout and token pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from gongshu.accounts import service
from gongshu.accounts.deps import SESSION_COOKIE, requires
from gongshu.accounts.errors import AccountLocked, LoginFailed, LoginThrottled
from gongshu.accounts.models import User
from gongshu.accounts.permissions import ACCOUNT_SELF, OUTBOX_READ, PUBLIC
from gongshu.accounts.throttle import client_address, guard_for
from gongshu.web.csrf import CSRF_COOKIE, set_csrf_cookie, token_for
from gongshu.web.deps import SessionDep
from gongshu.web.render import render

pages = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    # Only same-site paths: never redirect a user off the platform after login.
    if not value or urlparse(value).netloc or not value.startswith("/"):
        return "/"
    return value


@pages.get("/login")
def login_page(
    request: Request, _: Annotated[User | None, requires(PUBLIC)], next: str = "/"
) -> Response:
    s = request.app.state.settings
    return render(
        request,
        "login.html",
        next=_safe_next(next),
        max_failed=s.max_failed_logins,
        lockout=s.lockout_minutes,
    )


@pages.post("/login")
def login(
    request: Request,
    session: SessionDep,
    _: Annotated[User | None, requires(PUBLIC)],
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    s = request.app.state.settings
    try:
        user = service.authenticate(
            session,
            username,
            password,
            max_failed=s.max_failed_logins,
            lockout_minutes=s.lockout_minutes,
            address=client_address(request),
            guard=guard_for(request),
        )
    except (LoginFailed, AccountLocked, LoginThrottled) as exc:
        # The failed counter is part of this request's transaction; keep it.
        session.commit()
        return render(
            request,
            "login.html",
            status_code=exc.status,
            error=exc.message,
            username=username,
            next=_safe_next(next),
            max_failed=s.max_failed_logins,
            lockout=s.lockout_minutes,
        )
    plaintext, _token = service.issue_token(
        session, user, kind="session", ttl=timedelta(hours=s.session_hours)
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        plaintext,
        max_age=s.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=s.secure_cookies,
    )
    set_csrf_cookie(
        response,
        token_for(s.secret_key, plaintext),
        secure=s.secure_cookies,
        max_age=s.session_hours * 3600,
    )
    return response


@pages.post("/logout")
def logout(
    request: Request, session: SessionDep, _: Annotated[User | None, requires(PUBLIC)]
) -> Response:
    if cookie := request.cookies.get(SESSION_COOKIE):
        service.end_session(session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


@pages.get("/account/tokens")
def tokens_page(
    request: Request, session: SessionDep, user: Annotated[User, requires(ACCOUNT_SELF)]
) -> Response:
    return render(request, "tokens.html", tokens=service.api_tokens(session, user))


@pages.post("/account/tokens")
def create_token(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
    name: Annotated[str, Form()],
    days: Annotated[int, Form()] = 90,
) -> Response:
    plaintext, _token = service.issue_token(
        session, user, kind="api", ttl=timedelta(days=max(1, min(days, 365))), name=name
    )
    return render(
        request, "tokens.html", tokens=service.api_tokens(session, user), new_token=plaintext
    )


@pages.post("/account/tokens/{token_id}/revoke")
def revoke(
    token_id: int, session: SessionDep, user: Annotated[User, requires(ACCOUNT_SELF)]
) -> Response:
    service.revoke_token(session, user, token_id)
    return RedirectResponse("/account/tokens", status_code=303)


@pages.get("/register")
def register_page(request: Request, _: Annotated[User | None, requires(PUBLIC)]) -> Response:
    return render(request, "register.html", data={}, errors={})


@pages.post("/register")
def register(
    request: Request,
    session: SessionDep,
    _: Annotated[User | None, requires(PUBLIC)],
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
    mobile: Annotated[str, Form()] = "",
) -> Response:
    from gongshu.accounts.identity import verifier
    from gongshu.accounts.throttle import client_address
    from gongshu.errors import GongshuError

    s = request.app.state.settings
    try:
        # No savepoint: register_public writes nothing before its last check passes
        # except the record of the identity check, which stays (refused or not).
        service.register_public(
            session,
            username,
            password,
            name=name,
            id_number=id_number,
            mobile=mobile,
            secret=s.secret_key,
            verifier=verifier(request.app.state.identity_verifier),
            caller=client_address(request),
        )
    except GongshuError as exc:
        field = getattr(exc, "field", "") or ""
        return render(
            request,
            "register.html",
            status_code=exc.status,
            error=exc.message if not field else "",
            errors={field: exc.message} if field else {},
            data={"username": username, "name": name, "mobile": mobile},
        )
    return RedirectResponse("/login?registered=1", status_code=303)


@pages.get("/admin/outbox")
def outbox_page(
    request: Request, session: SessionDep, _: Annotated[User, requires(OUTBOX_READ)]
) -> Response:
    """The embedded notifier's outbox: messages an SMS gateway would have sent."""
    from gongshu.accounts.notify import outbox

    return render(request, "outbox.html", messages=outbox(session))


@pages.get("/account/verify")
def verify_page(request: Request, user: Annotated[User, requires(ACCOUNT_SELF)]) -> Response:
    """A member of the public verifies (again) against the resident register."""
    return render(
        request,
        "verify.html",
        proven=service.identity_proven(user),
        data={"name": user.display_name},
        errors={},
    )


@pages.post("/account/verify")
def verify_again(
    request: Request,
    session: SessionDep,
    user: Annotated[User, requires(ACCOUNT_SELF)],
    name: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
    mobile: Annotated[str, Form()] = "",
) -> Response:
    from gongshu.accounts.identity import verifier
    from gongshu.accounts.throttle import client_address
    from gongshu.errors import GongshuError

    try:
        # As at registration: nothing is written before the checks pass but the
        # check's own ledger entry.
        service.verify_again(
            session,
            user,
            name=name,
            id_number=id_number,
            mobile=mobile,
            secret=request.app.state.settings.secret_key,
            verifier=verifier(request.app.state.identity_verifier),
            caller=client_address(request),
        )
    except GongshuError as exc:
        field = getattr(exc, "field", "") or ""
        return render(
            request,
            "verify.html",
            status_code=exc.status,
            proven=service.identity_proven(user),
            error=exc.message if not field else "",
            errors={field: exc.message} if field else {},
            data={"name": name, "mobile": mobile},
        )
    return RedirectResponse("/account/verify?verified=1", status_code=303)


def _recovery_guard(request: Request):  # noqa: ANN202
    from gongshu.accounts.recovery import RecoveryGuard

    state = request.app.state
    guard = getattr(state, "recovery_guard", None)
    if guard is None:
        guard = state.recovery_guard = RecoveryGuard()
    return guard


@pages.get("/account/recover")
def recover_page(request: Request, _: Annotated[User | None, requires(PUBLIC)]) -> Response:
    """Password recovery: a code to the register's mobile, then a new password."""
    return render(request, "recover.html", data={}, errors={}, sent=False)


@pages.post("/account/recover/code")
def recover_code(
    request: Request,
    session: SessionDep,
    _: Annotated[User | None, requires(PUBLIC)],
    username: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
) -> Response:
    from gongshu.accounts import recovery
    from gongshu.accounts.notify import notifier
    from gongshu.errors import GongshuError

    errors = {}
    if not username.strip():
        errors["username"] = "请填写用户名"
    if not id_number.strip():
        errors["id_number"] = "请填写居民身份证号码"
    data = {"username": username.strip()}
    if errors:
        return render(request, "recover.html", status_code=400, data=data, errors=errors)
    try:
        _recovery_guard(request).take(username, client_address(request))
    except GongshuError as exc:
        return render(
            request, "recover.html", status_code=exc.status, data=data, errors={}, error=exc.message
        )
    recovery.request_code(
        session,
        username=username,
        id_number=id_number,
        lookup=request.app.state.identity_checker,
        notifier=notifier(),
        secret=request.app.state.settings.secret_key,
        caller=client_address(request),
    )
    return render(
        request, "recover.html", data=data, errors={}, sent=True, flash=recovery.SENT_MESSAGE
    )


@pages.post("/account/recover")
def recover(
    request: Request,
    session: SessionDep,
    _: Annotated[User | None, requires(PUBLIC)],
    username: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
) -> Response:
    from gongshu.accounts import otp, recovery
    from gongshu.accounts.errors import WeakPassword

    data = {"username": username.strip()}
    errors = {}
    if not username.strip():
        errors["username"] = "请填写用户名"
    if not code.strip():
        errors["code"] = "请填写短信验证码"
    if password != password_again:
        errors["password_again"] = "两次填写的新密码不一致"
    if not errors:
        try:
            recovery.reset_password(
                session,
                username=username,
                code=code,
                password=password,
                secret=request.app.state.settings.secret_key,
            )
        except WeakPassword as exc:
            errors["password"] = exc.message
        except otp.CodeRefused as exc:
            session.commit()  # the attempt is counted even though the reset fails
            errors["code"] = exc.message
    if errors:
        return render(request, "recover.html", status_code=400, data=data, errors=errors, sent=True)
    return RedirectResponse("/login?reset=1", status_code=303)
