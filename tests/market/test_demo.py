"""The demo's market: the sandbox product registered, listed and ordered once, fast."""

from __future__ import annotations

import time

from gongshu.market import orders
from gongshu.market import service as market_service
from gongshu.market.demo import seed_demo
from gongshu.registration import codes


def test_seed_demo_lists_one_product_and_records_one_order(session, people, market) -> None:
    started = time.monotonic()
    seed_demo(
        session,
        operator="operator",
        buyer="buyer",
        reviewer="reviewer_prov",
    )
    assert time.monotonic() - started < 2
    (listing,) = market_service.listings(session)
    assert listing.title == "低保保障统计产品数据产品"
    assert listing.check["provenance"]["sandbox_run"] == market.run.id
    assert codes.is_valid(listing.registration.code)
    (order,) = orders.orders_of_buyer(session, market.buyer)
    assert order.status == "accepted" and order.amount_yuan == "1200.00"
