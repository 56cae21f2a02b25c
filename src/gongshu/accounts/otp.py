"""One-time codes sent to a person's mobile on record (PIP-5: a rights request is
made by the person, not by whoever knows their ID number).

Six digits from ``secrets``; only an HMAC-SM3 of the code under a key derived from
the instance secret is stored, bound to the code's row. A code expires after ten
minutes, allows five attempts and is used once; a new code replaces the unused ones
of the same purpose. A wrong code counts its attempt even though the request fails
(``CodeRefused.commit_anyway``).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gongshu.accounts.identity import mask_mobile
from gongshu.accounts.models import OneTimeCode, User
from gongshu.accounts.notify import Notifier
from gongshu.errors import GongshuError, InvalidInput
from gongshu.ledger import record
from gongshu.protect.crypto import derive_key, hmac_sm3
from gongshu.timeutil import as_utc, utcnow

TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
PURPOSES = {"rights": "个人信息权利请求", "recover": "找回密码"}


class CodeRefused(InvalidInput):
    """A wrong, expired, used or exhausted code; the attempt is kept."""

    commit_anyway = True


class CodeTooSoon(GongshuError):
    status = 429
    code = "rate_limited"


def _hash(secret: str, row_id: int, code: str) -> str:
    key = derive_key(secret.encode(), "gongshu/accounts/one-time-code")
    return hmac_sm3(key, f"{row_id}:{code}".encode()).hex()


def issue(
    session: Session,
    user: User,
    *,
    purpose: str,
    mobile: str,
    notifier: Notifier,
    secret: str,
    now: datetime | None = None,
) -> OneTimeCode:
    """Send a new code to ``mobile`` (the number on record, found by the caller) and
    keep its hash. Earlier unused codes of ``purpose`` stop working."""
    if purpose not in PURPOSES:
        raise InvalidInput(f"验证码用途无效：{purpose}")
    now = now or utcnow()
    last = session.scalar(
        select(OneTimeCode)
        .where(OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose)
        .order_by(OneTimeCode.id.desc())
        .limit(1)
    )
    if last is not None and as_utc(last.created_at) > now - RESEND_AFTER:
        raise CodeTooSoon("验证码发送过于频繁，请 1 分钟后再试")
    session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.user_id == user.id,
            OneTimeCode.purpose == purpose,
            OneTimeCode.used_at.is_(None),
        )
        .values(expires_at=now)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    row = OneTimeCode(
        user_id=user.id,
        purpose=purpose,
        code_hash="",
        sent_to=mask_mobile(mobile),
        created_at=now,
        expires_at=now + TTL,
    )
    session.add(row)
    session.flush()
    row.code_hash = _hash(secret, row.id, code)
    notifier.send(
        session,
        to=mobile,
        text=(
            f"【公共数据平台】您的验证码为 {code}，用于{PURPOSES[purpose]}，"
            f"{int(TTL.total_seconds() // 60)} 分钟内有效。如非本人操作请忽略。"
        ),
        purpose=purpose,
    )
    record(
        session,
        "otp.sent",
        actor=user.actor,
        subject=f"user:{user.id}",
        payload={"purpose": purpose, "to": row.sent_to, "code": row.id},
    )
    return row


def redeem(
    session: Session,
    user: User,
    code: str,
    *,
    purpose: str,
    secret: str,
    now: datetime | None = None,
) -> OneTimeCode:
    """Use the newest code of ``purpose``: right, unexpired, unused and within the
    attempts, or ``CodeRefused`` (the failed attempt is counted and kept)."""
    now = now or utcnow()
    code = (code or "").strip()
    row = session.scalar(
        select(OneTimeCode)
        .where(OneTimeCode.user_id == user.id, OneTimeCode.purpose == purpose)
        .order_by(OneTimeCode.id.desc())
        .limit(1)
    )
    if row is None:
        raise CodeRefused("请先获取短信验证码")
    if row.used_at is not None:
        raise CodeRefused("该验证码已使用，请重新获取")
    if as_utc(row.expires_at) <= now:
        raise CodeRefused("验证码已过期，请重新获取")
    if row.attempts >= MAX_ATTEMPTS:
        raise CodeRefused(f"验证码已输错 {MAX_ATTEMPTS} 次，请重新获取")
    row.attempts += 1
    if not (
        len(code) == 6
        and code.isdigit()
        and hmac.compare_digest(row.code_hash, _hash(secret, row.id, code))
    ):
        session.flush()
        left = MAX_ATTEMPTS - row.attempts
        raise CodeRefused(f"验证码错误，还可尝试 {left} 次" if left else "验证码错误，请重新获取")
    row.used_at = now
    session.flush()
    return row
