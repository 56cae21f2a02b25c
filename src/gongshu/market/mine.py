"""A person's market contracts for their own pages (issue 17 item 7): the orders they
placed as a buyer, with any dispute's working-day clock (TRD-5)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.capability import MyItem, reference
from gongshu.market.models import DISPUTE_OUTCOMES, ORDER_STATUSES, USE_KINDS, Dispute, Order


def _item(order: Order, disputes: list[Dispute]) -> MyItem:
    history = [(order.created_at, "提交订单，合同生成")]
    if order.accepted_at:
        history.append((order.accepted_at, "确认合同，数据交付"))
    open_dispute = None
    for d in disputes:
        history.append((d.raised_at, f"提出争议：{d.claim}"))
        if d.responded_at:
            history.append((d.responded_at, f"对方回应：{d.response or ''}"))
        if d.resolved_at:
            outcome = DISPUTE_OUTCOMES.get(d.outcome or "", "已处理")
            history.append((d.resolved_at, f"争议处理结果：{outcome}"))
        else:
            open_dispute = d
    history.sort(key=lambda h: h[0])
    status = ORDER_STATUSES.get(order.status, "办理中")
    deadline = warning = None
    step = "请确认合同条款" if order.status == "offered" else ""
    if open_dispute is not None:
        status = "争议处理中"
        deadline = open_dispute.resolve_due or open_dispute.respond_due
        warning = open_dispute.deadline_warning
        step = "等待对方回应和市场管理部门处理"
    return MyItem(
        kind="orders",
        key=order.id,
        reference=reference("JYHT", order.created_at, order.id),
        title=order.listing.title,
        status=status,
        filed_at=order.created_at,
        closed=order.status != "offered" and open_dispute is None,
        href=f"/market/orders/{order.id}",
        deadline=deadline,
        deadline_warning=warning,
        next_step=step,
        history=tuple(history),
        details=(
            ("产品", order.listing.title),
            ("用途类别", USE_KINDS.get(order.use_kind, "其他")),
            ("使用目的", order.purpose),
            ("金额（元）", order.amount_yuan),
            ("期限", f"{order.term_days} 天"),
        ),
    )


def items(session: Session, user: User) -> list[MyItem]:
    """The orders ``user`` placed, newest first."""
    orders = list(
        session.scalars(
            select(Order).where(Order.buyer_user_id == user.id).order_by(Order.id.desc())
        ).unique()
    )
    disputes: dict[int, list[Dispute]] = {o.id: [] for o in orders}
    if orders:
        for d in session.scalars(
            select(Dispute).where(Dispute.order_id.in_(list(disputes))).order_by(Dispute.id)
        ):
            disputes[d.order_id].append(d)
    return [_item(o, disputes[o.id]) for o in orders]
