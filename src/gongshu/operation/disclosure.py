"""What the operator discloses (OPR-6) and what the authority watches (OPR-9), from the ledger.

Both read only ledger entries: ``operation.*`` entries carry the operator
(subject ``operator:<org id>``) and ``egress.delivered`` entries name the
product entry and the recipient, so the report cannot claim what the ledger
does not show.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.accounts.permissions import ORG_KINDS
from gongshu.catalog.models import CatalogEntry
from gongshu.documents import Document, Section, Table
from gongshu.ledger import LedgerEntry
from gongshu.timeutil import BEIJING


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Beijing calendar days [start, end] as UTC instants."""
    return (
        datetime.combine(start, time.min, BEIJING),
        datetime.combine(end + timedelta(days=1), time.min, BEIJING),
    )


def _entries(session: Session, start: date, end: date, *conds) -> list[LedgerEntry]:  # noqa: ANN002
    lo, hi = _bounds(start, end)
    stmt = select(LedgerEntry).where(LedgerEntry.created_at >= lo, LedgerEntry.created_at < hi)
    return list(session.scalars(stmt.where(*conds).order_by(LedgerEntry.position)))


def _day(entry: LedgerEntry) -> date:
    at = entry.created_at
    if at.tzinfo is None:
        from datetime import UTC

        at = at.replace(tzinfo=UTC)
    return at.astimezone(BEIJING).date()


@dataclass
class DayActivity:
    day: date
    passed: int = 0
    refused: int = 0
    products: int = 0
    deliveries: int = 0


@dataclass
class Activity:
    days: list[DayActivity]
    refusals: list[LedgerEntry] = field(default_factory=list)
    rules: Counter = field(default_factory=Counter)


def activity(session: Session, org_id: int, start: date, end: date) -> Activity:
    """Day by day: sandbox runs passed and refused, products made, deliveries (OPR-9)."""
    days = {start + timedelta(days=i): None for i in range((end - start).days + 1)}
    rows = {d: DayActivity(d) for d in days}
    out = Activity(days=[])
    for e in _entries(session, start, end, LedgerEntry.subject == f"operator:{org_id}"):
        row = rows.get(_day(e))
        if row is None:
            continue
        if e.action == "operation.run_passed":
            row.passed += 1
        elif e.action == "operation.run_refused":
            row.refused += 1
            out.refusals.append(e)
            out.rules[(e.payload or {}).get("rule")] += 1
        elif e.action == "operation.product_materialized":
            row.products += 1
    products = _product_ids(session, org_id)
    for e in _entries(session, start, end, LedgerEntry.action == "egress.delivered"):
        if (e.payload or {}).get("entry") in products and _day(e) in rows:
            rows[_day(e)].deliveries += 1
    out.days = [rows[d] for d in sorted(rows)]
    return out


def _product_ids(session: Session, org_id: int) -> set[int]:
    return set(
        session.scalars(
            select(CatalogEntry.id).where(
                CatalogEntry.scope == "product", CatalogEntry.provider_org_id == org_id
            )
        )
    )


@dataclass
class Disclosure:
    operator: Organization
    start: date
    end: date
    entries: list[tuple[CatalogEntry, int]]  # source entry, passed runs that read it
    products: list[tuple[CatalogEntry, int]]  # product, deliveries
    by_kind: dict[str, int]  # recipient kind label -> deliveries
    runs_passed: int = 0
    runs_refused: int = 0


def recipient_kind(session: Session, recipient: str) -> str:
    kind, _, ident = (recipient or "").partition(":")
    if kind == "org":
        org = session.get(Organization, int(ident))
        return ORG_KINDS.get(org.kind, org.kind) if org else "机构"
    if kind == "user":
        user = session.get(User, int(ident))
        if user is not None and user.org is not None:
            return ORG_KINDS.get(user.org.kind, user.org.kind)
        return "个人"
    return "其他"


def report(session: Session, org_id: int, start: date, end: date) -> Disclosure:
    """How the operator used public data in [start, end] (OPR-6), from the ledger."""
    operator = session.get(Organization, org_id)
    used: Counter = Counter()
    passed = refused = 0
    for e in _entries(session, start, end, LedgerEntry.subject == f"operator:{org_id}"):
        if e.action == "operation.run_passed":
            passed += 1
            used.update(set((e.payload or {}).get("sources") or []))
        elif e.action == "operation.run_refused":
            refused += 1
    products = _product_ids(session, org_id)
    deliveries: Counter = Counter()
    kinds: dict[str, int] = defaultdict(int)
    for e in _entries(session, start, end, LedgerEntry.action == "egress.delivered"):
        payload = e.payload or {}
        if payload.get("entry") in products:
            deliveries[payload["entry"]] += 1
            kinds[recipient_kind(session, payload.get("recipient", ""))] += 1
    made = set(products)
    return Disclosure(
        operator=operator,
        start=start,
        end=end,
        entries=[(session.get(CatalogEntry, i), n) for i, n in sorted(used.items())],
        products=[(session.get(CatalogEntry, i), deliveries[i]) for i in sorted(made)],
        by_kind=dict(sorted(kinds.items())),
        runs_passed=passed,
        runs_refused=refused,
    )


def yearly(session: Session, org_id: int, year: int) -> Disclosure:
    return report(session, org_id, date(year, 1, 1), date(year, 12, 31))


def document(d: Disclosure) -> Document:
    """The disclosure as a PDF document (gongshu.documents)."""
    return Document(
        title=f"{d.operator.name}公共数据授权运营情况披露",
        facts=[
            ("运营机构", d.operator.name),
            ("披露期间", f"{d.start:%Y年%m月%d日} 至 {d.end:%Y年%m月%d日}"),
            ("通过披露检查的沙箱运算", str(d.runs_passed)),
            ("被拒绝的导出", str(d.runs_refused)),
            ("数据产品交付次数", str(sum(n for _, n in d.products))),
        ],
        sections=[
            Section(
                "一、使用的公共数据",
                ["运营机构仅在平台沙箱内使用以下公共数据，原始数据未离开平台。"],
                [
                    Table(
                        ["资源代码", "目录名称", "提供单位", "使用次数"],
                        [[e.resource_code, e.name, e.provider.name, n] for e, n in d.entries],
                    )
                ],
            ),
            Section(
                "二、形成的数据产品",
                tables=[
                    Table(
                        ["产品编码", "产品名称", "交付次数"],
                        [[p.resource_code, p.name, n] for p, n in d.products],
                    )
                ],
            ),
            Section(
                "三、交付对象类型",
                tables=[Table(["接收方类型", "交付次数"], [[k, n] for k, n in d.by_kind.items()])],
            ),
        ],
        reference=f"OPR-6-{d.operator.id}-{d.start:%Y%m%d}-{d.end:%Y%m%d}",
    )
