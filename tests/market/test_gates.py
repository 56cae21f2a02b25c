"""The market's gate at the egress door (OPR-4, TRD-3): a market grant is only ever on a
proven sandbox product, at grant time and at every delivery."""

from __future__ import annotations

import pytest

from gongshu.egress import service as egress
from gongshu.egress.models import Grant
from gongshu.market import orders
from gongshu.market import service as market_service
from gongshu.market.errors import NotTradable

from .conftest import SECRET, datasets_dir  # noqa: TID252


def test_a_market_grant_on_raw_rows_is_refused_at_the_door(session, people, market) -> None:
    with pytest.raises(NotTradable, match="原始数据不得挂牌交易"):
        egress.create_grant(
            session,
            market.raw,
            recipient_user=market.buyer,
            purpose="数据产品交易",
            source="market",
            actor=market.buyer,
        )
    assert session.query(Grant).filter(Grant.source == "market").count() == 0
    # the same entry under another source is not the market gate's business
    grant = egress.create_grant(
        session,
        market.raw,
        recipient_org_id=market.op_org.id,
        purpose="授权运营",
        source="operation",
        actor=people.admin,
    )
    assert grant.id


def test_every_delivery_checks_again(session, market, approved_product, tmp_path) -> None:
    listing = market_service.list_product(session, approved_product.id, actor=market.operator)
    order = orders.place_order(
        session,
        listing.id,
        actor=market.buyer,
        use_kind="industry",
        purpose="普惠金融",
        scope="南昌市",
        term_days=30,
    )
    orders.accept_contract(session, order.id, actor=market.buyer, sha256=order.sha256)
    kw = {
        "actor": market.buyer,
        "fmt": "csv",
        "datasets_dir": datasets_dir(tmp_path),
        "work_dir": tmp_path / "out",
        "secret": SECRET,
    }
    assert orders.deliver(session, order.id, **kw).delivery.rows == 240
    # a grant that reaches raw rows (made before the gate, or edited since) delivers nothing
    session.get(Grant, order.grant_id).entry_id = market.raw.id
    session.flush()
    with pytest.raises(NotTradable, match="低保对象明细"):
        orders.deliver(session, order.id, **kw)
