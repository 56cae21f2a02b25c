"""Real-name verification of members of the public (OPN-2: identity authentication).

A person is verified, never taken at their word: the name, resident ID number and
mobile number they give must match the platform's own resident register (the
public-security entry), checked by the egress door's verification service
(``gongshu.egress.verify.RegisterVerifier``, which answers match or no match and
returns no data). The app factory builds that verifier from the settings; a
deployment with another real-name service plugs it in through ``set_verifier``.

``ChecksumVerifier`` proves only what arithmetic can (a valid GB 11643 number, a
holder aged 14 or older): it verifies nobody and is kept for tests and as the first
step of the register check. With no verifier given, ``Unconfigured`` refuses every
registration: the control fails closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from gongshu.identifiers import id_birth_date, is_resident_id, normalize_id

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Verification:
    ok: bool
    method: str
    reason: str = ""
    field: str = ""  # the form field the reason is about ("" for the whole claim)


class IdentityVerifier(Protocol):
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
        """Match or no match for a person's claim; ``caller`` (an address, a user)
        is what the check is rate-limited by. Returns no data about the person."""
        ...


def clean_mobile(mobile: str) -> str:
    """The 11 digits of a mainland mobile number, or "" when it is not one."""
    digits = "".join(ch for ch in (mobile or "") if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if len(digits) == 11 and digits.startswith("1") else ""


def mask_mobile(mobile: str) -> str:
    """138****1234: how a number on record is shown (never in full)."""
    digits = clean_mobile(mobile)
    return f"{digits[:3]}****{digits[-4:]}" if digits else "****"


class ChecksumVerifier:
    """Format, check digit, region and birth date; age 14 or older. For tests only:
    a valid number proves nothing about who typed it."""

    method = "gb11643-checksum"

    def verify(
        self,
        session: Session | None,
        name: str,
        id_number: str,
        mobile: str = "",
        *,
        today: date,
        caller: str = "",
    ) -> Verification:
        number = normalize_id(id_number)
        if not name.strip():
            return Verification(False, self.method, "请填写真实姓名", "name")
        if len(number) != 18 or not is_resident_id(number, today=today):
            return Verification(False, self.method, "居民身份证号码无效，请核对", "id_number")
        born = id_birth_date(number)
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if age < 14:
            return Verification(
                False, self.method, "未满十四周岁不能自行注册，须由监护人同意", "id_number"
            )
        return Verification(True, self.method)


class Unconfigured:
    """No real-name service: every claim is refused (fail closed)."""

    method = "unconfigured"

    def verify(
        self,
        session: Session | None,
        name: str,
        id_number: str,
        mobile: str,
        *,
        today: date,
        caller: str = "",
    ) -> Verification:
        return Verification(
            False, self.method, "平台未接入实名核验服务，暂不能注册，请联系平台管理员"
        )


_plugged: list[IdentityVerifier] = []


def verifier(default: IdentityVerifier | None = None) -> IdentityVerifier:
    """The verifier a deployment plugged in, else ``default``, else one that refuses."""
    if _plugged:
        return _plugged[0]
    return default if default is not None else Unconfigured()


def set_verifier(v: IdentityVerifier | None) -> None:
    """Plug in another real-name service (a deployment's choice); None unplugs it."""
    _plugged[:] = [v] if v is not None else []
