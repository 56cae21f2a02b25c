"""Disputes on the working-day clock, and recorded contract breaches (TRD-5, TRD-7).

A party to an order raises a dispute; the other party responds within
RESPOND_WORKDAYS working days; the market administrator resolves within
RESOLVE_WORKDAYS working days of the response (or after the response period
ran out with no response). The losing party's credit record carries the loss.
A year with no holiday schedule leaves the deadline empty with a warning (CLK-4);
both clocks are declared in ``CLOCKS`` for the lifecycle in ``gongshu.workdays``,
which fills them in once the year is entered.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.errors import InvalidField
from gongshu.ledger import record
from gongshu.market.errors import DisputeNotFound, NotParty, WrongMarketStatus
from gongshu.market.models import DISPUTE_OUTCOMES, ContractBreach, Dispute, Order
from gongshu.market.orders import get_order
from gongshu.market.service import entity_of
from gongshu.timeutil import as_utc, utcnow
from gongshu.workdays import ClockSpec, Period, start_clock

RESPOND_WORKDAYS = 5
RESOLVE_WORKDAYS = 10


def buyer_entity(order: Order) -> str:
    return f"org:{order.buyer_org_id}" if order.buyer_org_id else f"user:{order.buyer_user_id}"


def _party(order: Order, actor: User) -> str:
    me = entity_of(actor)
    if order.buyer_user_id == actor.id or me == buyer_entity(order):
        return buyer_entity(order)
    if me == f"org:{order.seller_org_id}":
        return me
    raise NotParty("只有订单双方可以提出或答复争议")


def _party_in(area: str):  # noqa: ANN202
    from gongshu.accounts.models import Organization

    return Dispute.order_id.in_(
        select(Order.id).where(
            Order.seller_org_id.in_(
                select(Organization.id).where(Organization.region_code.startswith(area))
            )
        )
    )


RESPONSE = ClockSpec(
    name="dispute",
    model=Dispute,
    start="raised_at",
    deadline="respond_due",
    warning="deadline_warning",
    period=Period(workdays=RESPOND_WORKDAYS),
    basis=f"争议提出后 {RESPOND_WORKDAYS} 个工作日内答复",
    what="争议答复期限",
    status="status",
    open_statuses=("raised",),
    terminal=("responded", "resolved"),
    region=_party_in,
    action="market.dispute_deadline_computed",
)

RESOLUTION = ClockSpec(
    name="dispute",
    model=Dispute,
    start="responded_at",
    deadline="resolve_due",
    warning="deadline_warning",
    period=Period(workdays=RESOLVE_WORKDAYS),
    basis=f"答复后 {RESOLVE_WORKDAYS} 个工作日内处理",
    what="争议处理期限",
    status="status",
    open_statuses=("responded",),
    terminal=("resolved",),
    region=_party_in,
    action="market.dispute_deadline_computed",
)

CLOCKS = (RESPONSE, RESOLUTION)


def raise_dispute(
    session: Session, order_id: int, *, actor: User, claim: str, at: dt.datetime | None = None
) -> Dispute:
    order = get_order(session, order_id)
    claimant = _party(order, actor)
    if order.status != "accepted":
        raise WrongMarketStatus("只有已签约的订单可以提出争议")
    if not (claim or "").strip():
        raise InvalidField("请说明争议事项和请求", field="claim")
    raised_at = as_utc(at) if at else utcnow()
    respondent = (
        f"org:{order.seller_org_id}" if claimant == buyer_entity(order) else buyer_entity(order)
    )
    dispute = Dispute(
        order_id=order.id,
        claimant=claimant,
        respondent=respondent,
        raised_by=actor.actor,
        claim=claim.strip(),
        raised_at=raised_at,
    )
    due = start_clock(session, RESPONSE, dispute)
    session.add(dispute)
    session.flush()
    record(
        session,
        "market.dispute_raised",
        actor=actor.actor,
        subject=f"dispute:{dispute.id}",
        payload={
            "order": order.id,
            "claimant": claimant,
            "respondent": respondent,
            "claim": dispute.claim,
            "respond_due": due,
            "deadline_warning": dispute.deadline_warning,
        },
    )
    return dispute


def get_dispute(session: Session, dispute_id: int) -> Dispute:
    dispute = session.get(Dispute, dispute_id)
    if dispute is None:
        raise DisputeNotFound(f"争议不存在：{dispute_id}")
    return dispute


def respond(
    session: Session, dispute_id: int, *, actor: User, response: str, at: dt.datetime | None = None
) -> Dispute:
    dispute = get_dispute(session, dispute_id)
    order = get_order(session, dispute.order_id)
    if _party(order, actor) != dispute.respondent:
        raise NotParty("只有被申请方可以答复")
    if dispute.status != "raised":
        raise WrongMarketStatus("该争议已答复或已处理，不在待答复状态")
    if not (response or "").strip():
        raise InvalidField("请填写答复意见", field="response")
    dispute.response, dispute.responded_by = response.strip(), actor.actor
    dispute.responded_at = as_utc(at) if at else utcnow()
    start_clock(session, RESOLUTION, dispute)
    dispute.status = "responded"
    session.flush()
    record(
        session,
        "market.dispute_responded",
        actor=actor.actor,
        subject=f"dispute:{dispute.id}",
        payload={"response": dispute.response, "resolve_due": dispute.resolve_due},
    )
    return dispute


def resolve(
    session: Session,
    dispute_id: int,
    *,
    actor: User,
    outcome: str,
    resolution: str,
    at: dt.datetime | None = None,
) -> Dispute:
    """The administrator's decision; upheld: the respondent lost, rejected: the claimant."""
    dispute = get_dispute(session, dispute_id)
    now = as_utc(at) if at else utcnow()
    if dispute.status == "resolved":
        raise WrongMarketStatus("该争议已处理")
    if dispute.status == "raised" and (
        dispute.respond_due is None or now < as_utc(dispute.respond_due)
    ):
        raise WrongMarketStatus("被申请方的答复期限尚未届满，请待答复后处理")
    if outcome not in DISPUTE_OUTCOMES:
        raise InvalidField(f"处理结果须为支持、驳回或调解：{outcome}", field="outcome")
    if not (resolution or "").strip():
        raise InvalidField("请填写处理意见", field="resolution")
    dispute.outcome, dispute.resolution = outcome, resolution.strip()
    dispute.loser = {"upheld": dispute.respondent, "rejected": dispute.claimant}.get(outcome)
    dispute.resolved_by, dispute.resolved_at, dispute.status = actor.actor, now, "resolved"
    session.flush()
    record(
        session,
        "market.dispute_resolved",
        actor=actor.actor,
        subject=f"dispute:{dispute.id}",
        payload={"outcome": outcome, "loser": dispute.loser, "resolution": dispute.resolution},
    )
    return dispute


def disputes_of_order(session: Session, order_id: int) -> list[Dispute]:
    return list(
        session.scalars(select(Dispute).where(Dispute.order_id == order_id).order_by(Dispute.id))
    )


def open_disputes(session: Session) -> list[Dispute]:
    return list(
        session.scalars(
            select(Dispute).where(Dispute.status != "resolved").order_by(Dispute.raised_at)
        )
    )


def record_breach(
    session: Session, order_id: int, *, actor: User, party: str, finding: str
) -> ContractBreach:
    """The administrator records that one party breached the contract (TRD-7)."""
    order = get_order(session, order_id)
    entity = {"buyer": buyer_entity(order), "seller": f"org:{order.seller_org_id}"}.get(party)
    if entity is None:
        raise InvalidField(f"违约方须为买方或卖方：{party}", field="party")
    if not (finding or "").strip():
        raise InvalidField("请填写违约事实", field="finding")
    breach = ContractBreach(
        order_id=order.id, entity=entity, finding=finding.strip(), recorded_by=actor.actor
    )
    session.add(breach)
    session.flush()
    record(
        session,
        "market.breach_recorded",
        actor=actor.actor,
        subject=f"order:{order.id}",
        payload={"entity": entity, "finding": breach.finding},
    )
    return breach
