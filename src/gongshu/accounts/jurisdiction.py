"""Jurisdiction: whether an authority, reviewer or regulator may act on an object of a
region (issue 16 item 1).

GB/T 2260 codes nest: a province is ``xx0000``, a city ``xxxx00``, a county anything
else, so a region's area is a code prefix (2, 4 or 6 digits). Each action names its
reach, decided per law in docs/architecture.md "Jurisdiction":

- ``OWN``: only the authority of the object's own region acts (procurement review,
  TRD-9: the demand is its own government's).
- ``AREA``: the object's region or one inside the actor's (operation licensing, OPR-1;
  registration, REG-3; one-source and responsible-agency decisions, AGG-2 and CAT-9;
  breach decisions, OPN-5; ordered audits, AUD-2): a province over its cities and
  counties, a city over its counties, never a lower tier over a higher one nor a region
  over its neighbour.

Catalog review (CAT-2) acts at the entry's current review region, which is ``OWN``
of that region. A platform administrator keeps the rights it has always had.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from gongshu.accounts.errors import OutsideJurisdiction
from gongshu.accounts.models import Region, User
from gongshu.accounts.permissions import TIERS
from gongshu.identifiers import region_tier

OWN = "own"
AREA = "area"
PREFIX_DIGITS = {"province": 2, "city": 4, "county": 6}


def area_prefix(region_code: str) -> str:
    """The code prefix of a region's area: ``36`` for a province, ``3601`` for a city."""
    return region_code[: PREFIX_DIGITS[region_tier(region_code)]]


def covers(actor_region: str, object_region: str, reach: str) -> bool:
    """Whether an authority of ``actor_region`` reaches an object of ``object_region``."""
    if reach == OWN:
        return actor_region == object_region
    if reach == AREA:
        return object_region.startswith(area_prefix(actor_region))
    raise ValueError(f"unknown reach {reach!r}")


def may_act(actor: User, object_region: str, reach: str) -> bool:
    if "admin" in (actor.roles or []):
        return True
    org = actor.org
    return org is not None and covers(org.region_code, object_region, reach)


def _region_label(session: Session, code: str) -> str:
    region = session.get(Region, code)
    name = region.name if region else code
    return f"{name}（{TIERS.get(region_tier(code), '')}）"


def refusal(
    session: Session,
    actor: User,
    object_region: str,
    *,
    reach: str,
    action: str,
    what: str,
    law: str,
) -> OutsideJurisdiction:
    """The error naming the actor's and the object's region: "本机构（南昌市数据局，
    南昌市（市级））无权授权运营江西省（省级）的数据目录「...」：..."."""
    org = actor.org
    who = f"{org.name}，{_region_label(session, org.region_code)}" if org else "未属任何机构"
    rule = "仅由该区域本级主管部门办理" if reach == OWN else "仅由该区域本级或上级主管部门办理"
    return OutsideJurisdiction(
        f"本机构（{who}）无权{action}{_region_label(session, object_region)}的{what}：{rule}"
        + (f"（依据{law}）" if re.search(r"[\u4e00-\u9fff]", law) else ""),
        detail={
            "law": law,
            "actor_region": org.region_code if org else None,
            "object_region": object_region,
            "reach": reach,
        },
    )


def require(
    session: Session,
    actor: User,
    object_region: str,
    *,
    reach: str,
    action: str,
    what: str,
    law: str,
) -> None:
    """Raise ``OutsideJurisdiction`` unless the actor's organization reaches the object
    (a platform administrator always does)."""
    if not may_act(actor, object_region, reach):
        raise refusal(session, actor, object_region, reach=reach, action=action, what=what, law=law)
