"""Cross-border transfer: which route applies and why (XBR-1..XBR-5).

``route`` takes the facts and returns the route (security assessment, standard
contract or certification, or nothing to do) with every reason and the rule it
cites. ``platform_counts`` counts, from the platform's own delivery records,
what the organization's data sent to recipients marked as abroad since
1 January of the previous year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.compliance.errors import BadFacts
from gongshu.compliance.models import ForeignRecipient, TransferAssessment
from gongshu.egress.versions import personal_columns
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record

PEOPLE_PROCESSOR = 1_000_000
PEOPLE_ABROAD = 100_000
SENSITIVE_ABROAD = 10_000

ROUTES = {
    "security_assessment": "申报数据出境安全评估",
    "contract_or_certification": "订立个人信息出境标准合同或通过个人信息保护认证",
    "none": "无需出境手续（未向境外提供个人信息或重要数据）",
}
RULE_ASSESSMENT = "《数据出境安全评估办法》第四条；《网络数据安全管理条例（征求意见稿）》第三十七条"
RULE_CONTRACT = "《网络数据安全管理条例（征求意见稿）》第三十五条"
CONSENT_NOTE = (
    "向境外提供个人信息前，应告知境外接收方名称、联系方式、处理目的、方式、个人信息种类及行使权利"
    "的方式，并取得个人单独同意（条例第三十六条）。"
)
JUDICIAL_NOTE = (
    "非经中华人民共和国主管机关批准，不得向外国司法或者执法机构提供存储于境内的数据"
    "（条例第三十九条第二款；《个人信息保护合规审计参考要点》第十五条）。"
)


@dataclass(frozen=True)
class Facts:
    important_data: bool = False
    ciio: bool = False  # critical information infrastructure operator
    total_people: int = 0  # people whose personal information the processor handles
    people_abroad: int = 0  # since 1 January of the previous year
    sensitive_abroad: int = 0  # sensitive personal information, same period

    def __post_init__(self) -> None:
        for name in ("total_people", "people_abroad", "sensitive_abroad"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InvalidField(f"人数必须是不小于 0 的整数，收到 {v!r}", field=name)
        if self.sensitive_abroad > self.people_abroad:
            error = BadFacts("出境敏感个人信息人数不能多于出境个人信息人数")
            error.field = "sensitive_abroad"  # said beside the field (issue 17 item 6)
            raise error


def route(facts: Facts) -> tuple[str, list[str]]:
    """The route and the reasons, each citing its rule (XBR-1, XBR-2)."""
    reasons: list[str] = []
    pi_abroad = facts.people_abroad > 0
    if facts.important_data:
        reasons.append(f"出境数据中包含重要数据，应申报安全评估（{RULE_ASSESSMENT}）")
    if facts.ciio and pi_abroad:
        reasons.append(f"关键信息基础设施运营者向境外提供个人信息（{RULE_ASSESSMENT}）")
    if facts.total_people >= PEOPLE_PROCESSOR and pi_abroad:
        reasons.append(
            f"处理 {facts.total_people:,} 人个人信息（100万人以上）并向境外提供"
            f"（{RULE_ASSESSMENT}）"
        )
    if facts.people_abroad >= PEOPLE_ABROAD:
        reasons.append(
            f"自上年1月1日起累计向境外提供 {facts.people_abroad:,} 人个人信息（10万人以上）"
            f"（{RULE_ASSESSMENT}）"
        )
    if facts.sensitive_abroad >= SENSITIVE_ABROAD:
        reasons.append(
            f"自上年1月1日起累计向境外提供 {facts.sensitive_abroad:,} 人敏感个人信息（1万人以上）"
            f"（{RULE_ASSESSMENT}）"
        )
    if reasons:
        return "security_assessment", reasons
    if pi_abroad:
        return "contract_or_certification", [
            f"向境外提供 {facts.people_abroad:,} 人个人信息"
            f"（其中敏感 {facts.sensitive_abroad:,} 人），"
            f"未达安全评估情形，应订立标准合同或通过认证（{RULE_CONTRACT}）"
        ]
    return "none", ["未向境外提供个人信息或重要数据（均不适用）"]


def period_start(today: dt.date) -> dt.date:
    """1 January of the previous year (XBR-1)."""
    return dt.date(today.year - 1, 1, 1)


def mark_foreign(
    session: Session,
    org_id: int,
    *,
    actor: User,
    country: str,
    contact: str = "",
    judicial: bool = False,
) -> ForeignRecipient:
    """Mark a recipient organization as abroad (its deliveries count as export)."""
    problems = {}
    if session.get(Organization, org_id) is None:
        problems["org_id"] = f"机构不存在：{org_id}" if org_id else "请选择接收方机构"
    if not country.strip():
        problems["country"] = "请填写接收方所在国家或地区"
    if problems:
        raise InvalidField.of(problems)
    row = session.scalar(select(ForeignRecipient).where(ForeignRecipient.org_id == org_id))
    if row is None:
        row = ForeignRecipient(org_id=org_id, country="", marked_by=actor.actor)
        session.add(row)
    row.country, row.contact, row.judicial, row.marked_by = (
        country.strip(),
        contact,
        judicial,
        actor.actor,
    )
    session.flush()
    record(
        session,
        "crossborder.recipient_marked",
        actor=actor.actor,
        subject=f"org:{org_id}",
        payload={"country": row.country, "judicial": judicial},
    )
    return row


def foreign_recipients(session: Session) -> dict[int, ForeignRecipient]:
    return {r.org_id: r for r in session.scalars(select(ForeignRecipient))}


def deliveries_abroad(
    session: Session, org_id: int, start: dt.datetime, end: dt.datetime
) -> list[dict]:
    """Deliveries of the organization's entries to recipients marked foreign, with how many
    delivered rows carried personal and sensitive personal information."""
    from gongshu.catalog.models import CatalogEntry
    from gongshu.compliance.assessments import sensitive_columns
    from gongshu.discovery.rules_store import rules_in_force
    from gongshu.egress.models import Delivery, Grant
    from gongshu.storage.models import DatasetVersion

    foreign = foreign_recipients(session)
    if not foreign:
        return []
    users = dict(session.execute(select(User.id, User.org_id)).all())
    rules, _ = rules_in_force(session)
    rows = session.execute(
        select(Delivery, Grant, CatalogEntry, DatasetVersion)
        .join(Grant, Grant.id == Delivery.grant_id)
        .join(CatalogEntry, CatalogEntry.id == Delivery.entry_id)
        .join(DatasetVersion, DatasetVersion.id == Delivery.dataset_version_id)
        .where(CatalogEntry.provider_org_id == org_id)
        .where(Delivery.created_at >= start, Delivery.created_at < end)
    ).all()
    out = []
    for delivery, grant, entry, version in rows:
        recipient_org = grant.recipient_org_id or users.get(grant.recipient_user_id)
        if recipient_org not in foreign:
            continue
        cols = set(delivery.columns or [])
        personal = any(
            any(
                rules.entities.get(c) and rules.entities[c].category.startswith("个人")
                for c in codes
            )
            for col, codes in (version.column_tags or {}).items()
            if col in cols
        )
        sensitive = bool(set(sensitive_columns(session, entry, version.id)) & cols)
        out.append(
            {
                "delivery": delivery,
                "entry": entry,
                "recipient": foreign[recipient_org],
                "personal_rows": delivery.rows if personal or sensitive else 0,
                "sensitive_rows": delivery.rows if sensitive else 0,
            }
        )
    return out


def platform_counts(session: Session, org_id: int, today: dt.date) -> dict:
    """People and sensitive-people counts abroad since 1 January of the previous year.

    Counted as delivered rows carrying personal information: one row is one person's record,
    so the figure is an upper bound when the same person was delivered twice.
    """
    from gongshu.workdays import end_of_day

    start = end_of_day(period_start(today) - dt.timedelta(days=1))
    found = deliveries_abroad(session, org_id, start, end_of_day(today))
    return {
        "since": period_start(today).isoformat(),
        "deliveries": len(found),
        "people_abroad": sum(d["personal_rows"] for d in found),
        "sensitive_abroad": sum(d["sensitive_rows"] for d in found),
    }


def assess(
    session: Session, *, actor: User, org_id: int | None = None, facts: Facts
) -> TransferAssessment:
    """Record a route assessment with its reasons (XBR-1, XBR-2)."""
    org_id = org_id if org_id is not None else actor.org_id
    if org_id is None:
        raise InvalidInput("出境评估必须属于一个单位")
    chosen, reasons = route(facts)
    item = TransferAssessment(
        org_id=org_id,
        facts=facts.__dict__.copy(),
        route=chosen,
        reasons=reasons,
        created_by=actor.actor,
    )
    session.add(item)
    session.flush()
    record(
        session,
        "crossborder.assessed",
        actor=actor.actor,
        subject=f"transfer_assessment:{item.id}",
        payload={"org": org_id, "facts": item.facts, "route": chosen},
    )
    return item


def check_not_judicial(session: Session, recipient_org_id: int | None) -> None:
    """XBR-5: nothing to a foreign judicial or law-enforcement body without approval."""
    from gongshu.compliance.errors import AssessmentRequired

    if recipient_org_id is None:
        return
    row = session.scalar(
        select(ForeignRecipient).where(ForeignRecipient.org_id == recipient_org_id)
    )
    if row is not None and row.judicial:
        raise AssessmentRequired(f"接收方为外国司法或执法机构，不予授权：{JUDICIAL_NOTE}")


def foreign_recipient(session: Session, org_id: int | None) -> ForeignRecipient | None:
    if org_id is None:
        return None
    return session.scalar(select(ForeignRecipient).where(ForeignRecipient.org_id == org_id))


def require_transfer_route(
    session: Session,
    entry,  # noqa: ANN001
    *,
    recipient_org_id: int | None,
    purpose: str,
    version=None,  # noqa: ANN001
    columns: list[str] | None = None,
) -> None:
    """XBR-1, XBR-2: personal information goes to a recipient marked abroad only with a
    passed security assessment, or a standard contract or certification, on record for
    this entry, use and recipient (``gongshu.instruments``). Fails closed."""
    from gongshu.compliance.errors import TransferRouteRequired
    from gongshu.instruments import service as instruments

    foreign = foreign_recipient(session, recipient_org_id)
    if foreign is None:
        return
    if version is None:
        from gongshu import storage

        version = storage.newest(session, entry.id)
    personal = sorted(personal_columns(session, entry, version))
    if columns is not None:
        personal = [c for c in personal if c in columns]
    if not personal:
        return
    for kind in instruments.XBR_KINDS:
        if instruments.find(
            session, kind, entry_id=entry.id, purpose=purpose, recipient_org_id=foreign.org_id
        ):
            return
    raise TransferRouteRequired(
        f"接收方「{foreign.org.name}」位于境外（{foreign.country}），目录「{entry.name}」含个人信息"
        f"（{'、'.join(personal)}）。向境外提供须有已通过的数据出境安全评估，或在案的个人信息"
        "出境标准合同或个人信息保护认证，且适用于该目录、该用途和该接收方；目前均没有，不予提供",
        detail={"recipient_org": foreign.org_id, "entry": entry.id, "columns": personal},
    )
