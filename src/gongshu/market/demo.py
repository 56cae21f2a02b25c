"""Demo data: one registered product listed in the market and one order, through the
real services (registration, review, tradability check, listing, order, contract)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.catalog.models import CatalogEntry
from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.market import admin, orders, service
from gongshu.registration import service as registration

DEMO_ENTRY = "360700-HB-0001"  # 赣州市空气质量监测数据: no personal information


def _user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def seed_demo(
    session: Session,
    *,
    operator: str = "operator",
    buyer: str = "enterprise",
    reviewer: str = "reviewer",
    admin_name: str = "admin",
    entry_code: str = DEMO_ENTRY,
) -> None:
    """List the operator's air-quality product and let the enterprise buy it.

    The operation licence is the grant with source "operation" that authorized
    operation issues; if the demo holds none for this entry yet, one is recorded
    here with ``source_ref="demo"``.
    """
    operator, buyer = _user(session, operator), _user(session, buyer)
    reviewer, admin_user = _user(session, reviewer), _user(session, admin_name)
    entry = session.scalar(select(CatalogEntry).where(CatalogEntry.resource_code == entry_code))
    if None in (operator, buyer, reviewer, admin_user, entry) or entry.published_version is None:
        return  # a trimmed demo without these accounts or this entry: nothing to show
    licensed = session.scalar(
        select(Grant.id).where(
            Grant.entry_id == entry.id,
            Grant.source == "operation",
            Grant.recipient_org_id == operator.org_id,
        )
    )
    if licensed is None:
        egress.create_grant(
            session,
            entry,
            recipient_org_id=operator.org_id,
            purpose="公共数据授权运营：空气质量分析数据产品（演示）",
            source="operation",
            source_ref="demo",
            actor=admin_user,
        )
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
            "name": "赣州市空气质量分析数据产品",
            "description": "赣州市各监测站点的空气质量指标，按站点和时间整理",
            "processing_summary": "在平台内对监测数据清洗、校验和整理，不含个人信息",
            "source_entry_ids": [entry.id],
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
        purpose="出行服务应用中的空气质量提示",
        scope="赣州市",
        term_days=365,
    )
    orders.accept_contract(session, order.id, actor=buyer, sha256=order.sha256)


def seed(session: Session, demo: object) -> None:
    """The registry's demo seed (``Capability.demo``)."""
    seed_demo(session)
