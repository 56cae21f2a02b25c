"""Password recovery for members of the public (issue 17 item 7).

A verified account holds no mobile number, only the keyed hash of the person's ID
number; the resident register holds the mobile. So the person gives their username
and ID number: when both belong to one verified account, a one-time code goes to the
register's mobile on record through the notifier (``otp.issue``, purpose "recover"),
then the code and a new password set the password, end every session of the account
and clear its lockout.

The answer to a code request is the same whether or not the account exists, the ID
number matches or a number is on record (no account enumeration); every request is
in the ledger. Requests are throttled per address and per username (``RecoveryGuard``),
and ``otp`` allows one code a minute, ten minutes' validity, five attempts, one use.
Staff accounts (of an organization) are reset by their administrator, not here.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gongshu.accounts import otp
from gongshu.accounts.errors import WeakPassword
from gongshu.accounts.models import AuthToken, User
from gongshu.accounts.notify import Notifier
from gongshu.errors import GongshuError
from gongshu.ledger import record
from gongshu.protect.crypto import derive_key, hmac_sm3
from gongshu.timeutil import utcnow
from gongshu.web.ratelimit import TokenBuckets

PURPOSE = "recover"
# The one answer to every code request.
SENT_MESSAGE = (
    "如果用户名和身份证号码属于同一个已实名认证的账户，且户籍登记信息中留有您的手机号码，"
    "验证码已发送到该号码，10 分钟内有效。请在下方填写验证码和新密码。"
)
REFUSED_MESSAGE = "验证码错误或已失效，请重新获取"


class ContactLookup(Protocol):
    """The register's mobile for an ID number (``egress.verify.Checker``)."""

    def mobile_on_record(
        self, session: Session, id_number: str, *, by: str, caller: str
    ) -> str | None: ...


class RecoveryThrottled(GongshuError):
    status = 429
    code = "rate_limited"


class RecoveryGuard:
    """Code requests per address and per username (kept in this process, per app)."""

    def __init__(self, *, per_minute: int = 3, burst: int = 5) -> None:
        self.buckets = TokenBuckets(per_minute, burst)

    def take(self, username: str, address: str) -> None:
        """Count one request; ``RecoveryThrottled`` past the limit (the same for any
        username, so it says nothing about the account)."""
        if self.buckets.take(f"addr:{address}") > 0 or (
            self.buckets.take(f"user:{username.strip().lower()}") > 0
        ):
            raise RecoveryThrottled("找回密码的请求过于频繁，请稍后再试")


def _id_hash(id_number: str, secret: str) -> str:
    # The key and normal form registration uses (service.register_public).
    from gongshu.identifiers import normalize_id

    key = derive_key(secret.encode(), "gongshu/accounts/id-number")
    return hmac_sm3(key, normalize_id(id_number or "").encode()).hex()


def _account(session: Session, username: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.is_active or user.org_id is not None or not user.id_number_hash:
        return None
    return user


def request_code(
    session: Session,
    *,
    username: str,
    id_number: str,
    lookup: ContactLookup,
    notifier: Notifier,
    secret: str,
    caller: str,
) -> None:
    """Send a recovery code to the register's mobile of the account's person, when
    ``username`` and ``id_number`` name one verified account; otherwise do nothing.
    Either way the caller shows ``SENT_MESSAGE``."""
    user = _account(session, username)
    digest = _id_hash(id_number, secret)
    sent = False
    if user is not None and digest == user.id_number_hash:
        try:
            with session.begin_nested():  # a failed send leaves no code behind
                phone = lookup.mobile_on_record(session, id_number, by=user.actor, caller=caller)
                if phone:
                    otp.issue(
                        session,
                        user,
                        purpose=PURPOSE,
                        mobile=phone,
                        notifier=notifier,
                        secret=secret,
                    )
                    sent = True
        except GongshuError:
            # Too soon, the register throttled or unavailable: the same answer as for
            # a stranger, so the answer never tells whether the account exists.
            sent = False
    record(
        session,
        "user.recovery_requested",
        actor=user.actor if user is not None else "anonymous",
        subject=f"user:{user.id}" if user is not None else None,
        payload={"caller": caller, "sent": sent},
    )


def reset_password(
    session: Session, *, username: str, code: str, password: str, secret: str
) -> User:
    """Set a new password with the code just sent: ``CodeRefused`` on a wrong,
    expired, used or exhausted code (the attempt is kept), ``WeakPassword`` before
    the code is tried. Every session of the account ends; its lockout is cleared."""
    if len(password) < 8:
        raise WeakPassword("新密码至少 8 个字符")
    user = _account(session, username)
    if user is None:
        raise otp.CodeRefused(REFUSED_MESSAGE)
    otp.redeem(session, user, code, purpose=PURPOSE, secret=secret)
    from gongshu.accounts.service import hash_password

    now = utcnow()
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    ended = session.execute(
        update(AuthToken)
        .where(
            AuthToken.user_id == user.id,
            AuthToken.kind == "session",
            AuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    ).rowcount
    session.flush()
    record(
        session,
        "user.password_reset",
        actor=user.actor,
        subject=f"user:{user.id}",
        payload={"method": "sms_code", "sessions_ended": ended},
    )
    return user
