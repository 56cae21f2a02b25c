"""Personal-information protection impact assessments (PIP-8; PIA-A points 6, 8, 9, 10, 13, 25).

An assessment covers one processing activity and the kinds of processing PIP-8
names. It is kept at least three years: deletion before ``keep_until`` is
refused. ``require_for_grant`` is the gate the egress door calls before a grant
of sensitive personal information to anyone but the providing organization.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import storage
from gongshu.accounts.models import User
from gongshu.catalog.models import CatalogEntry
from gongshu.compliance.errors import (
    AssessmentNotFound,
    AssessmentRequired,
    NotYourOrganization,
    RetentionPeriod,
)
from gongshu.compliance.models import ImpactAssessment
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record
from gongshu.timeutil import utcnow
from gongshu.workdays import beijing_date

KEEP_YEARS = 3  # PIP-8: reports kept at least 3 years

# What PIP-8 requires an assessment before, with the PIA-A point that audits it.
KINDS = {
    "provision": "向他人提供个人信息（《个人信息保护合规审计参考要点》第八条）",
    "entrusted": "委托处理个人信息（《个人信息保护合规审计参考要点》第六条）",
    "automated": "利用个人信息进行自动化决策（《个人信息保护合规审计参考要点》第九条）",
    "publication": "公开个人信息（《个人信息保护合规审计参考要点》第十条）",
    "sensitive": "处理敏感个人信息（《个人信息保护合规审计参考要点》第十三条）",
    "cross_border": "向境外提供个人信息（《个人信息保护合规审计参考要点》第十五条）",
    "major_impact": (
        "其他对个人权益有重大影响的处理活动（《个人信息保护合规审计参考要点》第二十五条）"
    ),
}

# The template: what every assessment answers (PIA-A point 25; 个人信息保护法 art. 56).
TEMPLATE = {
    "purpose": "处理目的、处理方式等是否合法、正当、必要",
    "impact": "对个人权益的影响及安全风险",
    "measures": "所采取的保护措施是否合法、有效并与风险程度相适应",
    "recipients": "接收方（如有）的名称、处理目的、方式和保护能力",
}


# The uses an assessment of provision names (the door's grant sources).
PURPOSES = {
    "sharing": "共享",
    "open": "开放",
    "operation": "授权运营",
    "market": "交易",
    "rights": "个人授权第三方获取",
    "procurement": "政府采购",
}


def _own_entries(session: Session, org_id: int, entry_ids: list[int]) -> list[int]:
    out = []
    for entry_id in dict.fromkeys(int(e) for e in entry_ids):
        entry = session.get(CatalogEntry, entry_id)
        if entry is None or entry.provider_org_id != org_id:
            raise InvalidInput(
                f"影响评估只能覆盖本单位提供的数据目录，第 {entry_id} 号目录不是",
                detail={"field": "entry_ids"},
            )
        out.append(entry_id)
    return out


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def create(
    session: Session,
    *,
    actor: User,
    activity: str,
    covers: list[str],
    answers: dict[str, str],
    conclusion: str,
    assessed_on: dt.date,
    valid_until: dt.date | None = None,
    org_id: int | None = None,
    entry_ids: list[int] | None = None,
    purposes: list[str] | None = None,
) -> ImpactAssessment:
    """Record an assessment of ``activity`` (PIP-8); it is kept at least three years.

    ``entry_ids`` and ``purposes`` scope it: the organization's own catalog entries and
    the uses (``PURPOSES``) it assessed. The door's gate asks for one covering the entry
    and the use of a grant; an assessment without them opens no grant."""
    org_id = org_id if org_id is not None else actor.org_id
    if org_id is None:
        raise InvalidInput("影响评估必须属于一个单位")
    # Every problem of the assessment at once, each by its form field (issue 17 item 6).
    problems: dict[str, str] = {}
    try:
        entry_ids = _own_entries(session, org_id, entry_ids or [])
    except InvalidInput as exc:
        problems["entry_ids"] = exc.message
    purposes = list(dict.fromkeys(purposes or []))
    if any(p not in PURPOSES for p in purposes):
        problems["purposes"] = f"评估的用途无效，可选：{'、'.join(PURPOSES.values())}"
    if not activity.strip():
        problems["activity"] = "请填写评估的个人信息处理活动"
    wanted = list(dict.fromkeys(covers or []))
    unknown = [c for c in wanted if c not in KINDS]
    if unknown or not wanted:
        problems["covers"] = f"请选择评估覆盖的处理情形，可选：{'、'.join(KINDS.values())}"
    for key, label in TEMPLATE.items():
        if not (answers or {}).get(key, "").strip():
            problems[key] = f"影响评估必须回答：{label}"
    if not conclusion.strip():
        problems["conclusion"] = "请填写评估结论"
    valid_until = valid_until or _add_years(assessed_on, 1)
    if valid_until < assessed_on:
        problems["valid_until"] = "有效期不能早于评估日期"
    if problems:
        raise InvalidField.of(problems)
    item = ImpactAssessment(
        org_id=org_id,
        activity=activity.strip(),
        covers=wanted,
        entry_ids=entry_ids,
        purposes=purposes,
        answers={k: answers[k].strip() for k in TEMPLATE},
        conclusion=conclusion.strip(),
        assessed_on=assessed_on,
        valid_until=valid_until,
        keep_until=max(_add_years(assessed_on, KEEP_YEARS), valid_until),
        created_by=actor.actor,
    )
    session.add(item)
    session.flush()
    record(
        session,
        "assessment.recorded",
        actor=actor.actor,
        subject=f"assessment:{item.id}",
        payload={
            "org": org_id,
            "activity": item.activity,
            "covers": item.covers,
            "entries": item.entry_ids,
            "purposes": item.purposes,
            "assessed_on": item.assessed_on.isoformat(),
            "valid_until": item.valid_until.isoformat(),
            "keep_until": item.keep_until.isoformat(),
        },
    )
    return item


def get(session: Session, assessment_id: int) -> ImpactAssessment:
    item = session.get(ImpactAssessment, assessment_id)
    if item is None:
        raise AssessmentNotFound(f"影响评估不存在：{assessment_id}")
    return item


def listing(session: Session, org_id: int | None) -> list[ImpactAssessment]:
    q = select(ImpactAssessment).order_by(ImpactAssessment.assessed_on.desc())
    if org_id is not None:
        q = q.where(ImpactAssessment.org_id == org_id)
    return list(session.scalars(q))


def delete(
    session: Session, assessment_id: int, *, actor: User, today: dt.date | None = None
) -> None:
    """Delete an assessment once its three-year retention has passed (PIP-8)."""
    item = get(session, assessment_id)
    if actor.org_id != item.org_id and "admin" not in actor.roles:
        raise NotYourOrganization("只能删除本单位的影响评估")
    today = today or beijing_date(utcnow())
    if today <= item.keep_until:
        raise RetentionPeriod(
            f"影响评估报告应至少保存三年，{item.keep_until:%Y年%m月%d日}前不得删除",
            detail={"keep_until": item.keep_until.isoformat()},
        )
    record(
        session,
        "assessment.deleted",
        actor=actor.actor,
        subject=f"assessment:{item.id}",
        payload={"activity": item.activity, "keep_until": item.keep_until.isoformat()},
    )
    session.delete(item)
    session.flush()


def current(
    session: Session,
    org_id: int,
    kind: str,
    today: dt.date | None = None,
    *,
    entry_id: int | None = None,
    purpose: str | None = None,
) -> ImpactAssessment | None:
    """The organization's newest assessment covering ``kind`` that is still valid today;
    with ``entry_id`` / ``purpose``, only one whose scope names that entry / use."""
    today = today or beijing_date(utcnow())
    for item in listing(session, org_id):
        if kind not in item.covers or not item.assessed_on <= today <= item.valid_until:
            continue
        if entry_id is not None and entry_id not in (item.entry_ids or []):
            continue
        if purpose is not None and purpose not in (item.purposes or []):
            continue
        return item
    return None


def sensitive_columns(
    session: Session, entry: CatalogEntry, dataset_version_id: int | None
) -> list[str]:
    """Columns holding sensitive personal information: the version's discovery tags and the
    catalog's field kinds, judged by the grading rules in force (discovery)."""
    from gongshu.discovery.rules_store import rules_in_force
    from gongshu.egress.policies import KIND_ENTITIES
    from gongshu.storage.models import DatasetVersion

    if dataset_version_id is not None:
        version = session.get(DatasetVersion, dataset_version_id)
    else:
        version = storage.newest(session, entry.id)
    tags: dict[str, set[str]] = {}
    for col, codes in ((version.column_tags or {}) if version else {}).items():
        tags.setdefault(col, set()).update(codes)
    for f in entry.fields:
        if f.get("kind") in KIND_ENTITIES:
            tags.setdefault(f["name"], set()).add(KIND_ENTITIES[f["kind"]])
    rules, _ = rules_in_force(session)
    return sorted(col for col, codes in tags.items() if any(rules.is_sensitive(c) for c in codes))


def require_for_grant(
    session: Session,
    entry: CatalogEntry,
    *,
    recipient_user: User | None,
    recipient_org_id: int | None,
    columns: list[str] | None,
    dataset_version_id: int | None,
    purpose: str = "sharing",
) -> None:
    """PIP-8 gate of ``egress.service.create_grant``: providing sensitive personal information
    to anyone but the provider needs the provider's current assessment covering provision
    of this entry for this use (``purpose``: the grant's source), not any assessment.
    A foreign judicial or law-enforcement recipient is refused outright (XBR-5)."""
    from gongshu.compliance.crossborder import check_not_judicial

    check_not_judicial(
        session, recipient_org_id or (recipient_user.org_id if recipient_user else None)
    )
    if recipient_org_id == entry.provider_org_id and recipient_user is None:
        return
    if recipient_user is not None and recipient_user.org_id == entry.provider_org_id:
        return
    sensitive = sensitive_columns(session, entry, dataset_version_id)
    if columns is not None:
        sensitive = [c for c in sensitive if c in columns]
    if not sensitive:
        return
    found = current(session, entry.provider_org_id, "provision", entry_id=entry.id, purpose=purpose)
    if found is None:
        use = PURPOSES.get(purpose, purpose)
        raise AssessmentRequired(
            f"“{entry.name}”含敏感个人信息（{'、'.join(sensitive)}），数据提供单位尚无覆盖"
            f"该目录、用于“{use}”的有效个人信息保护影响评估（覆盖“向他人提供个人信息”），"
            "不能授权",
            detail={
                "sensitive_columns": sensitive,
                "provider_org": entry.provider_org_id,
                "entry": entry.id,
                "purpose": purpose,
            },
        )
