"""Identity verification against the resident register (核验; OPN-2, PIP-5).

The platform's own resident register (the public-security entry, named by
``Settings.identity_register``, its resource code) answers one question: do this
name, resident ID number and mobile number belong together in its newest version?
The answer is match or no match; no value of the register leaves this module. The
check reads through the storage layer like every in-platform reader of the door
(the ID column is sealed at rest), is rate-limited per person and per caller, and
every check goes to the ledger with the keyed hash of the ID number, never the
number.

Three callers: registration (``RegisterVerifier``, the default
``accounts.identity.IdentityVerifier``), the one-time code of a rights request
(``mobile_on_record``: the number the code is sent to, never shown), and agencies
holding an active grant on the register (the ``/api/v1/identity/verify`` route,
``check_for_agency``), which get the same match or no match.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.identity import ChecksumVerifier, Verification, clean_mobile
from gongshu.accounts.models import User
from gongshu.catalog.models import CatalogEntry
from gongshu.egress.models import Grant
from gongshu.errors import Forbidden, GongshuError, InvalidInput
from gongshu.identifiers import normalize_id
from gongshu.ledger import record
from gongshu.protect.crypto import derive_key, hmac_sm3
from gongshu.timeutil import as_utc, utcnow

# The register's columns, by the names the public-security entry uses (GA/T 2000).
NAME, ID_NUMBER, MOBILE = "姓名", "公民身份号码", "手机号码"
METHOD = "resident-register"
NO_MATCH = "姓名、居民身份证号码与手机号码未能通过户籍信息核验，请核对后重试"
# The same keyed hash registration keeps (accounts.service, privacy.person).
ID_HASH_LABEL = "gongshu/accounts/id-number"


class RegisterUnavailable(GongshuError):
    """The register is not in the catalog or has no loaded version: fail closed."""

    status = 503
    code = "register_unavailable"


class VerifyThrottled(GongshuError):
    status = 429
    code = "rate_limited"


class NotGrantedRegister(Forbidden):
    """An agency without an active grant on the register asked for a check."""


@dataclass(frozen=True)
class Limits:
    per_person: int = 5  # checks of one ID number an hour: no guessing of names or numbers
    per_caller: int = 30  # checks by one address or organization an hour
    window: float = 3600.0


class Limiter:
    """Sliding-window counts per key, in this process (like the login throttle)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.seen: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def take(self, key: str, limit: int, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self.lock:
            hits = self.seen.setdefault(key, deque())
            while hits and hits[0] <= now - self.limits.window:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True


def id_hash(number: str, secret: str) -> str:
    return hmac_sm3(derive_key(secret.encode(), ID_HASH_LABEL), normalize_id(number).encode()).hex()


def register_entry(session: Session, code: str) -> CatalogEntry:
    entry = session.scalar(select(CatalogEntry).where(CatalogEntry.resource_code == code))
    if entry is None:
        raise RegisterUnavailable(
            f"平台目录中没有户籍人口登记库（资源代码 {code}），暂不能核验身份，请联系平台管理员"
        )
    return entry


def _rows(
    session: Session,
    entry: CatalogEntry,
    datasets_dir: Path,
    what: str,
    where: str,
    params: list[Any],
) -> list[tuple]:
    version = storage.newest(session, entry.id)
    if version is None:
        raise RegisterUnavailable(
            f"户籍人口登记库「{entry.name}」尚未载入数据，暂不能核验身份，请平台管理员载入后再试"
        )
    names = {c["name"] for c in version.columns}
    missing = [c for c in (NAME, ID_NUMBER, MOBILE) if c not in names]
    if missing:
        raise RegisterUnavailable(
            f"户籍人口登记库「{entry.name}」缺少列：{'、'.join(missing)}，暂不能核验身份"
        )
    con = duckdb.connect()
    try:
        # one scan of the three columns, a sealed frame decrypted at a time (issue 19)
        source = storage.streamed(con, datasets_dir, version, [NAME, ID_NUMBER, MOBILE])
        return con.execute(f"SELECT {what} FROM {source} WHERE {where}", params).fetchall()
    finally:
        con.close()


_MOBILE_SQL = f"""right(regexp_replace(CAST("{MOBILE}" AS VARCHAR), '[^0-9]', '', 'g'), 11)"""
_ID_SQL = f'upper(trim(CAST("{ID_NUMBER}" AS VARCHAR)))'


class Checker:
    """The verification service of the door for one instance (its register and limits)."""

    def __init__(
        self,
        *,
        register_code: str,
        datasets_dir: Path,
        secret: str,
        limiter: Limiter | None = None,
    ) -> None:
        self.register_code = register_code
        self.datasets_dir = Path(datasets_dir)
        self.secret = secret
        self.limiter = limiter or Limiter()

    @classmethod
    def from_settings(cls, settings: Any) -> Checker:  # noqa: ANN401 - gongshu.config.Settings
        return cls(
            register_code=settings.identity_register,
            datasets_dir=settings.datasets_dir,
            secret=settings.secret_key,
        )

    def _throttle(self, person: str, caller: str) -> None:
        limits = self.limiter.limits
        if not self.limiter.take(f"caller:{caller}", limits.per_caller):
            raise VerifyThrottled("身份核验请求过于频繁，请稍后再试")
        if not self.limiter.take(f"person:{person}", limits.per_person):
            raise VerifyThrottled("该身份证号码的核验次数过多，请一小时后再试")

    def matches(
        self,
        session: Session,
        name: str,
        id_number: str,
        mobile: str,
        *,
        by: str,
        caller: str,
        purpose: str,
    ) -> bool:
        """Do the three values belong to one row of the register's newest version?
        Rate-limited, recorded in the ledger (the ID number as its keyed hash)."""
        number = normalize_id(id_number)
        person = id_hash(number, self.secret)
        entry = register_entry(session, self.register_code)
        self._throttle(person, caller or by)
        phone = clean_mobile(mobile)
        found = (
            bool(phone and name.strip() and number)
            and _rows(
                session,
                entry,
                self.datasets_dir,
                "count(*) > 0",
                f'{_ID_SQL} = ? AND trim(CAST("{NAME}" AS VARCHAR)) = ? AND {_MOBILE_SQL} = ?',
                [number, name.strip(), phone],
            )[0][0]
        )
        record(
            session,
            "identity.checked",
            actor=by,
            subject=f"entry:{entry.id}",
            payload={
                "person": person,
                "purpose": purpose,
                "result": "match" if found else "no_match",
            },
        )
        return bool(found)

    def mobile_on_record(
        self, session: Session, id_number: str, *, by: str, caller: str
    ) -> str | None:
        """The register's mobile number for this ID number, for sending the person a
        code; the caller never shows it (``accounts.identity.mask_mobile``)."""
        number = normalize_id(id_number)
        person = id_hash(number, self.secret)
        entry = register_entry(session, self.register_code)
        self._throttle(person, caller or by)
        rows = _rows(
            session,
            entry,
            self.datasets_dir,
            f"DISTINCT {_MOBILE_SQL}",
            f"{_ID_SQL} = ?",
            [number],
        )
        phones = sorted({clean_mobile(r[0] or "") for r in rows} - {""})
        record(
            session,
            "identity.contact_looked_up",
            actor=by,
            subject=f"entry:{entry.id}",
            payload={"person": person, "found": len(phones) == 1},
        )
        return phones[0] if len(phones) == 1 else None


class RegisterVerifier:
    """``accounts.identity.IdentityVerifier`` over the resident register: a valid
    number of someone 14 or older (``ChecksumVerifier``), then name, number and
    mobile matched together in the register."""

    method = METHOD

    def __init__(self, checker: Checker) -> None:
        self.checker = checker

    @classmethod
    def from_settings(cls, settings: Any) -> RegisterVerifier:  # noqa: ANN401
        return cls(Checker.from_settings(settings))

    def verify(
        self,
        session: Session,
        name: str,
        id_number: str,
        mobile: str,
        *,
        today: date,
        caller: str = "",
    ) -> Verification:
        first = ChecksumVerifier().verify(session, name, id_number, today=today)
        if not first.ok:
            return Verification(False, self.method, first.reason, first.field)
        if not clean_mobile(mobile):
            return Verification(False, self.method, "手机号码须为 11 位中国大陆手机号", "mobile")
        if not self.checker.matches(
            session,
            name,
            id_number,
            mobile,
            by="self-registration",
            caller=caller,
            purpose="registration",
        ):
            return Verification(False, self.method, NO_MATCH)
        return Verification(True, self.method)


def active_register_grant(session: Session, entry: CatalogEntry, org_id: int) -> Grant | None:
    now = utcnow()
    for grant in session.scalars(
        select(Grant).where(
            Grant.entry_id == entry.id,
            Grant.recipient_org_id == org_id,
            Grant.revoked_at.is_(None),
        )
    ):
        if as_utc(grant.expires_at) > now:
            return grant
    return None


def check_for_agency(
    session: Session, checker: Checker, actor: User, *, name: str, id_number: str, mobile: str
) -> bool:
    """核验 offered to agencies: an organization with an active grant on the register
    asks whether a person's name, ID number and mobile match; it learns nothing else."""
    entry = register_entry(session, checker.register_code)
    if actor.org_id is None or active_register_grant(session, entry, actor.org_id) is None:
        raise NotGrantedRegister(f"本机构没有「{entry.name}」的有效共享授权，不能使用身份核验服务")
    if not (name or "").strip() or len(normalize_id(id_number or "")) != 18:
        raise InvalidInput("请填写姓名和 18 位居民身份证号码")
    return checker.matches(
        session,
        name,
        id_number,
        mobile,
        by=actor.actor,
        caller=f"org:{actor.org_id}",
        purpose=f"agency:{actor.org_id}",
    )
