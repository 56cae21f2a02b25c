"""Credit records of market entities, built from recorded violations (TRD-7).

Nothing is typed in by hand: the record is read from the violations the
platform holds, each with its date and source, so the score can always be
explained line by line.

- a dispute lost on the market: -10
- a recorded breach of a market contract: -20
- an OPN-5 breach of an open-use agreement (opendata): -10, or -5 once corrected
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import Organization, User
from gongshu.market.models import ContractBreach, Dispute
from gongshu.opendata.models import OpenAgreement, OpenBreach

BASE = 100
DISPUTE_LOST, CONTRACT_BREACH, OPEN_BREACH, OPEN_BREACH_CORRECTED = 10, 20, 10, 5


@dataclass
class CreditItem:
    at: datetime
    kind: str
    points: int
    description: str
    ref: str


@dataclass
class CreditRecord:
    entity: str
    name: str
    score: int
    items: list[CreditItem] = field(default_factory=list)


def entity_name(session: Session, entity: str) -> str:
    kind, _, ident = entity.partition(":")
    if kind == "org" and ident.isdigit() and (org := session.get(Organization, int(ident))):
        return org.name
    if kind == "user" and ident.isdigit() and (user := session.get(User, int(ident))):
        return user.display_name
    return entity


def credit(session: Session, entity: str) -> CreditRecord:
    items: list[CreditItem] = []
    for d in session.scalars(select(Dispute).where(Dispute.loser == entity)):
        items.append(
            CreditItem(
                d.resolved_at,
                "dispute_lost",
                -DISPUTE_LOST,
                f"交易争议败诉：{d.resolution}",
                f"dispute:{d.id}",
            )
        )
    for b in session.scalars(select(ContractBreach).where(ContractBreach.entity == entity)):
        items.append(
            CreditItem(
                b.created_at,
                "contract_breach",
                -CONTRACT_BREACH,
                f"违反交易合同：{b.finding}",
                f"order:{b.order_id}",
            )
        )
    kind, _, ident = entity.partition(":")
    if ident.isdigit():
        stmt = select(OpenBreach).join(OpenAgreement, OpenBreach.agreement_id == OpenAgreement.id)
        if kind == "org":
            stmt = stmt.join(User, OpenAgreement.user_id == User.id).where(
                User.org_id == int(ident)
            )
        else:
            stmt = stmt.where(OpenAgreement.user_id == int(ident))
        for b in session.scalars(stmt):
            corrected = b.corrected_at is not None
            items.append(
                CreditItem(
                    b.created_at,
                    "open_breach",
                    -(OPEN_BREACH_CORRECTED if corrected else OPEN_BREACH),
                    f"超出开放利用协议使用数据：{b.finding}" + ("（已改正）" if corrected else ""),
                    f"open_breach:{b.id}",
                )
            )
    items.sort(key=lambda i: i.at, reverse=True)
    score = max(0, BASE + sum(i.points for i in items))
    return CreditRecord(entity, entity_name(session, entity), score, items)
