"""Demo data: the operator's sandbox product registered, listed in the market and
ordered once, through the real services (registration, review, tradability check,
listing, order, contract). Only a product made in the sandbox is listed (OPR-4): the
authorized-operation demo makes it first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.market import admin, orders, provenance, service
from gongshu.operation import products
from gongshu.registration import service as registration


def _user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def seed_demo(
    session: Session,
    *,
    operator: str = "operator",
    buyer: str = "enterprise",
    reviewer: str = "reviewer",
    admin_name: str = "admin",
) -> None:
    """Register and list the operator's first sandbox product; the enterprise buys it."""
    operator, buyer = _user(session, operator), _user(session, buyer)
    reviewer, admin_user = _user(session, reviewer), _user(session, admin_name)
    if None in (operator, buyer, reviewer, admin_user) or operator.org_id is None:
        return  # a trimmed demo without these accounts: nothing to show
    made = [
        (entry, trace)
        for entry in products.products_of(session, operator.org_id)
        if (trace := provenance.trace(session, entry)) is not None
    ]
    if not made:
        return  # no product made in the sandbox: nothing may be listed
    entry, trace = made[-1]  # the first one made
    admin.set_fee_schedule(
        session,
        {
            "STAT-01": {"name": "统计分析类数据产品", "unit": "次", "price_yuan": "1200"},
            "API-01": {"name": "数据接口服务", "unit": "千次调用", "price_yuan": "30"},
        },
        basis="公共数据运营服务收费标准（演示，非真实文件）",
        actor=admin_user,
    )
    reg = registration.apply(
        session,
        {
            "kind": "product",
            "name": f"{entry.name}数据产品",
            "description": entry.summary,
            "processing_summary": "在平台沙箱内汇总计算，经披露检查通过，不含个人信息",
            "source_entry_ids": [s["id"] for s in trace["sources"]],
            "rights": ["processing", "operation"],
            "price_mode": "guided",
            "fee_item": "STAT-01",
            "data_entry_id": entry.id,
        },
        actor=operator,
    )
    registration.approve(session, reg.id, actor=reviewer, comment="材料齐全，准予登记")
    listing = service.list_product(session, reg.id, actor=operator)
    order = orders.place_order(
        session,
        listing.id,
        actor=buyer,
        use_kind="industry",
        purpose="教育资源布局分析",
        scope="江西省",
        term_days=365,
    )
    orders.accept_contract(session, order.id, actor=buyer, sha256=order.sha256)


def seed(session: Session, demo: object) -> None:
    """The registry's demo seed (``Capability.demo``)."""
    seed_demo(session)
