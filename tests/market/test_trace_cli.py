"""`gongshu trace`, the real command on a real instance, names the buyer of a leaked
market delivery (TRD-2: a traceable trading environment)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gongshu.app.server import init_instance
from gongshu.config import Settings
from gongshu.db import transaction
from gongshu.market import orders
from gongshu.market import service as market_service
from gongshu.registration import service as registration
from gongshu.runtime import Instance

from ..conftest import seed_people  # noqa: TID252
from .conftest import build_market, product_data  # noqa: TID252

SECRET_KEY = "market-cli-trace-secret-not-for-production"


def test_gongshu_trace_names_the_buyer(tmp_path: Path) -> None:
    var = tmp_path / "var"
    settings = Settings(data_dir=var, secret_key=SECRET_KEY, database_url=None)
    instance = Instance.open(settings)
    init_instance(instance)
    with transaction(instance.session_factory) as session:
        people = seed_people(session)
        market = build_market(session, people, tmp_path)
        reg = registration.apply(session, product_data(market), actor=market.operator)
        registration.approve(session, reg.id, actor=people.reviewer_prov)
        listing = market_service.list_product(session, reg.id, actor=market.operator)
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
        out = orders.deliver(
            session,
            order.id,
            actor=market.buyer,
            fmt="csv",
            datasets_dir=settings.datasets_dir,
            work_dir=tmp_path / "out",
            secret=SECRET_KEY,
        )
    instance.close()
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    leaked = tmp_path / "转手的数据.csv"
    leaked.write_text("\n".join(lines[:121]) + "\n", encoding="utf-8")
    env = {**os.environ, "GONGSHU_DATA_DIR": str(var), "GONGSHU_SECRET_KEY": SECRET_KEY}
    env.pop("GONGSHU_DATABASE_URL", None)
    r = subprocess.run(
        [sys.executable, "-m", "gongshu", "trace", str(leaked)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "郭婷" in r.stdout and f"订单 {order.id}" in r.stdout
