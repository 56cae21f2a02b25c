"""Real-name verification of members of the public (OPN-2: identity authentication).

The province's real-name service (the public security authority's identity
check) is outside this machine, so verification is a Protocol. The default
verifier only proves what can be proved here: the number is a valid GB 11643
resident ID, and its holder is 14 or older (PIP-1: a younger child's
information needs a guardian's consent, so a child cannot register alone).
Its method is recorded as ``gb11643-checksum`` so nobody mistakes it for a
real-name check; a deployment plugs its real service in through
``set_verifier``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from gongshu.identifiers import id_birth_date, is_resident_id, normalize_id


@dataclass(frozen=True)
class Verification:
    ok: bool
    method: str
    reason: str = ""


class IdentityVerifier(Protocol):
    def verify(self, name: str, id_number: str, *, today: date) -> Verification: ...


class ChecksumVerifier:
    """Format, check digit, region and birth date; age 14 or older."""

    method = "gb11643-checksum"

    def verify(self, name: str, id_number: str, *, today: date) -> Verification:
        number = normalize_id(id_number)
        if not name.strip():
            return Verification(False, self.method, "请填写真实姓名 (name)")
        if len(number) != 18 or not is_resident_id(number, today=today):
            return Verification(
                False, self.method, "居民身份证号码无效 (GB 11643 resident ID)，请核对"
            )
        born = id_birth_date(number)
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        if age < 14:
            return Verification(
                False, self.method, "未满十四周岁不能自行注册，须由监护人同意 (PIP-1, minors)"
            )
        return Verification(True, self.method)


_verifier: list[IdentityVerifier] = [ChecksumVerifier()]


def verifier() -> IdentityVerifier:
    return _verifier[0]


def set_verifier(v: IdentityVerifier) -> None:
    """Plug in the province's real-name service (a deployment's choice)."""
    _verifier[0] = v
