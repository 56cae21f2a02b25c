"""The data market: listings, tradability, orders, contracts, delivery, disputes, credit."""

from __future__ import annotations

from gongshu.capability import Capability, DemoSeed

CAPABILITY = Capability(
    name="market",
    label="数据交易",
    routers=("gongshu.market.routes:router", "gongshu.market.pages:pages"),
    models=("gongshu.market.models",),
    templates=True,
    mine=("gongshu.market.mine:items",),
    clocks=("gongshu.market.disputes:CLOCKS",),
    gates=("gongshu.market.gates:SANDBOX_PRODUCT",),
    demo=(DemoSeed("gongshu.market.demo:seed"),),
)
