"""Accounts service: users, login with lockout, sessions and API tokens (SEC-3).

Takes a Session, flushes, never commits. Every state change goes to the ledger.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gongshu.accounts.errors import (
    AccountLocked,
    LoginFailed,
    LoginThrottled,
    RegistrationRefused,
    UnknownRole,
    UsernameTaken,
    UserNotFound,
    WeakPassword,
)
from gongshu.accounts.models import AuthToken, Organization, Region, User
from gongshu.accounts.permissions import ORG_KINDS, ROLE_SCOPES
from gongshu.errors import InvalidInput, NotFound
from gongshu.identifiers import is_region_code, region_tier
from gongshu.ledger import record
from gongshu.timeutil import as_utc, utcnow

if TYPE_CHECKING:
    from gongshu.accounts.identity import IdentityVerifier
    from gongshu.accounts.throttle import LoginGuard

_hasher = PasswordHasher()
# Verifying against this keeps the timing of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("gongshu-timing-equalizer")
TOKEN_PREFIX = "gs_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def token_hash(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------- regions, orgs


def add_region(session: Session, code: str, name: str, *, parent: str | None = None) -> Region:
    """Add a GB/T 2260 region; the tier follows from the code's shape."""
    if not is_region_code(code):
        raise InvalidInput(f"行政区划代码无效：{code}")
    region = Region(code=code, name=name, tier=region_tier(code), parent_code=parent)
    session.add(region)
    session.flush()
    return region


def add_organization(
    session: Session,
    name: str,
    *,
    kind: str,
    region_code: str,
    uscc: str | None = None,
    by: str = "system",
) -> Organization:
    """Add an organization. ``by`` names the channel in the ledger ("cli", "demo"):
    organizations are set up by the platform's operators, not by a signed-in user."""
    if kind not in ORG_KINDS:
        raise InvalidInput(f"机构类型无效：{kind}")
    if session.get(Region, region_code) is None:
        raise InvalidInput(f"行政区划不存在：{region_code}")
    org = Organization(name=name, kind=kind, region_code=region_code, uscc=uscc)
    session.add(org)
    session.flush()
    record(
        session,
        "org.created",
        actor=by,
        subject=f"org:{org.id}",
        payload={"name": name, "kind": kind, "region": region_code},
    )
    return org


def find_org(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        raise NotFound(f"机构不存在：{name}")
    return org


# ---------------------------------------------------------------- users


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    display_name: str | None = None,
    org: Organization | None = None,
    roles: list[str],
    by: str = "system",
) -> User:
    """Create a user with an argon2 password hash; roles must be known. ``by`` names
    the channel in the ledger ("cli", "demo", "self-registration")."""
    username = username.strip()
    if not username or len(username) > 64:
        raise InvalidInput("用户名不能为空且不超过 64 个字符")
    if len(password) < 8:
        raise WeakPassword("密码至少 8 个字符")
    unknown = [r for r in roles if r not in ROLE_SCOPES]
    if unknown or not roles:
        raise UnknownRole(f"角色无效：{'、'.join(unknown) or '未指定'}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UsernameTaken(f"用户名已存在：{username}")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        org_id=org.id if org else None,
        roles=list(roles),
    )
    session.add(user)
    session.flush()
    record(
        session,
        "user.created",
        actor=by,
        subject=f"user:{user.id}",
        payload={"username": username, "roles": list(roles), "org": org.name if org else None},
    )
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserNotFound(f"用户不存在：{username}")
    return user


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    max_failed: int,
    lockout_minutes: int,
    address: str | None = None,
    guard: LoginGuard | None = None,
) -> User:
    """Check a password; lock the account after ``max_failed`` failures in a row.

    With an ``address`` and its ``guard`` (a web request): an address that failed too
    often is throttled, a (username, address) pair that failed ``max_failed`` times is
    locked, unknown usernames alike, and the account-wide counter counts distinct
    failing addresses, so no single stranger locks an account (throttle.py). Every
    failure reads the same whether or not the username exists; a locked account says
    so only to the caller who gave its password.

    Raises LoginFailed, AccountLocked or LoginThrottled; they keep the counter change
    (their ``commit_anyway`` tells the request to commit).
    """
    now = utcnow()
    if guard is not None and address is not None:
        if (wait := guard.address_wait(address)) > 0:
            raise LoginThrottled(f"登录尝试过于频繁，请 {wait:.0f} 秒后重试")
        if guard.pair_locked(username, address):
            raise AccountLocked(_pair_locked_message(max_failed, lockout_minutes))
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.is_active:
        try:
            _hasher.verify(_DUMMY_HASH, password + "x")
        except VerifyMismatchError:
            pass
        if guard is not None and address is not None and guard.fail(username, address):
            raise AccountLocked(_pair_locked_message(max_failed, lockout_minutes))
        raise LoginFailed("用户名或密码错误")
    locked = bool(user.locked_until and as_utc(user.locked_until) > now)
    if locked and guard is None:
        raise AccountLocked(f"账户已锁定，请于 {lockout_minutes} 分钟后重试或联系管理员")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        if guard is not None and address is not None:
            counts = guard.first_failure(username, address)
            pair_now_locked = guard.fail(username, address)
            if counts and not locked:
                _count_failure(session, user, now, max_failed, lockout_minutes)
            session.flush()
            if pair_now_locked:
                raise AccountLocked(_pair_locked_message(max_failed, lockout_minutes)) from None
            raise LoginFailed("用户名或密码错误") from None
        user.failed_logins += 1
        if user.failed_logins >= max_failed:
            user.locked_until = now + timedelta(minutes=lockout_minutes)
            user.failed_logins = 0
            record(
                session,
                "auth.locked",
                actor=user.actor,
                subject=f"user:{user.id}",
                payload={"minutes": lockout_minutes},
            )
            session.flush()
            raise AccountLocked(
                f"连续登录失败 {max_failed} 次，账户已锁定 {lockout_minutes} 分钟"
            ) from None
        session.flush()
        raise LoginFailed("用户名或密码错误") from None
    if locked:  # the right password: now it may be told
        raise AccountLocked(f"账户已锁定，请于 {lockout_minutes} 分钟后重试或联系管理员")
    if guard is not None and address is not None:
        guard.succeed(username, address)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record(session, "auth.login", actor=user.actor, subject=f"user:{user.id}")
    session.flush()
    return user


def _pair_locked_message(max_failed: int, lockout_minutes: int) -> str:
    return (
        f"连续登录失败 {max_failed} 次，本地址对该账户的登录已暂停 {lockout_minutes} 分钟"
        "，请稍后重试或联系管理员"
    )


def _count_failure(
    session: Session, user: User, now: datetime, max_failed: int, lockout_minutes: int
) -> None:
    """One more distinct address failed for ``user``; enough of them lock the account."""
    user.failed_logins += 1
    if user.failed_logins >= max_failed:
        user.locked_until = now + timedelta(minutes=lockout_minutes)
        user.failed_logins = 0
        record(
            session,
            "auth.locked",
            actor=user.actor,
            subject=f"user:{user.id}",
            payload={"minutes": lockout_minutes, "by": "addresses"},
        )


# ---------------------------------------------------------------- tokens


def issue_token(
    session: Session, user: User, *, kind: str, ttl: timedelta, name: str = ""
) -> tuple[str, AuthToken]:
    """Issue a session or API token; returns the plaintext once, stores its hash."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AuthToken(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=token_hash(plaintext),
        prefix=plaintext[:10],
        expires_at=utcnow() + ttl,
    )
    session.add(token)
    session.flush()
    if kind == "api":
        record(
            session,
            "token.issued",
            actor=user.actor,
            subject=f"token:{token.id}",
            payload={"name": name, "expires_at": token.expires_at.isoformat()},
        )
    return plaintext, token


# Built once: every API call and page view asks it.
_BY_HASH = select(AuthToken).where(AuthToken.token_hash == bindparam("h"))


def resolve_token(session: Session, plaintext: str, *, kind: str | None = None) -> User | None:
    """The active user behind a token, or None if unknown, expired or revoked."""
    token = find_token(session, plaintext)
    return token.user if token is not None and token_valid(token, kind=kind) else None


def find_token(session: Session, plaintext: str) -> AuthToken | None:
    """The token row (with its user) for a plaintext token, valid or not."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    return session.scalar(_BY_HASH, {"h": token_hash(plaintext)})


def token_valid(token: AuthToken, *, kind: str | None = None) -> bool:
    """Not revoked, of ``kind``, not expired (now), and its user active."""
    if token.revoked_at is not None or (kind and token.kind != kind):
        return False
    return as_utc(token.expires_at) > utcnow() and token.user.is_active


def revoke_token(session: Session, user: User, token_id: int) -> AuthToken:
    token = session.get(AuthToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"令牌不存在：{token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        if token.kind == "api":
            record(session, "token.revoked", actor=user.actor, subject=f"token:{token.id}")
        session.flush()
    return token


def end_session(session: Session, plaintext: str) -> None:
    token = session.scalar(select(AuthToken).where(AuthToken.token_hash == token_hash(plaintext)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()


def api_tokens(session: Session, user: User) -> list[AuthToken]:
    return list(
        session.scalars(
            select(AuthToken)
            .where(AuthToken.user_id == user.id, AuthToken.kind == "api")
            .order_by(AuthToken.id.desc())
        )
    )


# ---------------------------------------------------------------- public registration


def register_public(
    session: Session,
    username: str,
    password: str,
    *,
    name: str,
    id_number: str,
    mobile: str,
    secret: str,
    verifier: IdentityVerifier,
    caller: str = "",
    today=None,  # noqa: ANN001
) -> User:
    """A member of the public opens a verified account (OPN-2).

    The name, ID number and mobile are checked by ``verifier`` (by default the
    resident register through the egress door: match or no match); the ID number is
    kept only as a keyed SM3 hash (one account per person), never the number.
    Nothing is written before every check has passed except the verifier's own
    record of the check (so a refused claim still leaves its ledger entry). A taken
    username and an identity that already has an account get one answer.
    """
    from datetime import date

    from gongshu.identifiers import normalize_id
    from gongshu.protect.crypto import derive_key, hmac_sm3

    username = username.strip()
    if not username or len(username) > 64:
        raise RegistrationRefused("用户名不能为空且不超过 64 个字符", field="username")
    if len(password) < 8:
        raise RegistrationRefused("密码至少 8 个字符", field="password")
    result = verifier.verify(
        session, name, id_number, mobile, today=today or date.today(), caller=caller
    )
    if not result.ok:
        raise RegistrationRefused(result.reason, field=result.field)
    digest = hmac_sm3(
        derive_key(secret.encode(), "gongshu/accounts/id-number"), normalize_id(id_number).encode()
    ).hex()
    # One answer whether the username or the person is the one already registered:
    # the page does not tell which ID numbers hold accounts (issue 16 items 2 and 5).
    taken = select(User.id).where((User.id_number_hash == digest) | (User.username == username))
    if session.scalar(taken.limit(1)) is not None:
        raise UsernameTaken(TAKEN_MESSAGE)
    user = create_user(
        session,
        username,
        password,
        display_name=name.strip(),
        roles=["public"],
        by="self-registration",
    )
    user.identity_verified_at = utcnow()
    user.identity_method = result.method
    user.id_number_hash = digest
    session.flush()
    record(
        session,
        "user.identity_verified",
        actor=user.actor,
        subject=f"user:{user.id}",
        payload={"method": result.method},
    )
    return user


TAKEN_MESSAGE = (
    "无法以该用户名和身份信息注册：用户名已被使用，或此身份已注册账户，请更换用户名或直接登录"
)


def verify_again(
    session: Session,
    user: User,
    *,
    name: str,
    id_number: str,
    mobile: str,
    secret: str,
    verifier: IdentityVerifier,
    caller: str = "",
    today=None,  # noqa: ANN001
) -> User:
    """A member of the public whose account was verified by the checksum alone (or not
    at all) proves who they are against the register, as registration now does. An
    account that holds an ID number's hash keeps it: only that person can verify it."""
    from datetime import date

    from gongshu.errors import Forbidden
    from gongshu.identifiers import normalize_id
    from gongshu.protect.crypto import derive_key, hmac_sm3

    if "public" not in user.roles or user.org_id is not None:
        raise Forbidden("只有社会公众账户需要实名核验")
    result = verifier.verify(
        session, name, id_number, mobile, today=today or date.today(), caller=caller
    )
    if not result.ok:
        raise RegistrationRefused(result.reason, field=result.field)
    digest = hmac_sm3(
        derive_key(secret.encode(), "gongshu/accounts/id-number"), normalize_id(id_number).encode()
    ).hex()
    if user.id_number_hash and user.id_number_hash != digest:
        raise RegistrationRefused(
            "居民身份证号码与本账户登记的身份不一致，请填写本人的身份信息", field="id_number"
        )
    other = select(User.id).where(User.id_number_hash == digest, User.id != user.id)
    if session.scalar(other.limit(1)) is not None:
        raise UsernameTaken("此身份已注册其他账户，请使用该账户登录")
    user.identity_verified_at = utcnow()
    user.identity_method = result.method
    user.id_number_hash = digest
    session.flush()
    record(
        session,
        "user.identity_verified",
        actor=user.actor,
        subject=f"user:{user.id}",
        payload={"method": result.method, "again": True},
    )
    return user


# Methods that verified nobody: an account verified only by them must verify again.
UNPROVEN_METHODS = frozenset({"gb11643-checksum"})


def identity_proven(user: User) -> bool:
    return user.identity_verified_at is not None and user.identity_method not in UNPROVEN_METHODS


def require_verified(user: User) -> None:
    """Members of the public read open data only with a verified identity (OPN-2); a
    checksum alone verified nobody, so such an account verifies again first."""
    from gongshu.errors import Forbidden

    if "public" in user.roles and user.org_id is None and not identity_proven(user):
        raise Forbidden("请先完成实名认证（“实名核验”页面）后再获取开放数据")
