"""The market (TRD-3..TRD-8, OPR-7, OPR-8): tradability, listing, orders, contract,
delivery through the egress door, settlement."""

from __future__ import annotations

import csv
import io

import pytest

from gongshu.datasets import anonymized
from gongshu.egress.models import Grant
from gongshu.egress.tracing import trace_leak
from gongshu.errors import InvalidInput
from gongshu.ledger import entries
from gongshu.market import admin, orders
from gongshu.market import service as market_service
from gongshu.market.errors import NotBuyer, NotRegistered, NotTradable, WrongMarketStatus
from gongshu.market.tradability import check, latest_version
from gongshu.registration import service as registration
from gongshu.registration.provenance import NotSandboxProduct

from .conftest import (  # noqa: TID252
    SECRET,
    datasets_dir,
    legacy_raw_registration,
    product_data,
)


def codes(result) -> set[str]:  # noqa: ANN001
    return {r["code"] for r in result.reasons}


def test_an_approved_aggregate_product_passes_and_is_listed(
    session, market, approved_product
) -> None:
    result = check(session, approved_product, seller_org_id=market.op_org.id)
    assert result.passed, result.reasons
    assert result.operation_product  # its sources are under an operation grant (OPR-7)
    listing = market_service.list_product(session, approved_product.id, actor=market.operator)
    assert listing.status == "listed" and listing.operation_product
    assert listing.registration.code == approved_product.code
    with pytest.raises(WrongMarketStatus):
        market_service.list_product(session, approved_product.id, actor=market.operator)


def test_an_unregistered_product_is_refused(session, market) -> None:
    reg = registration.apply(session, product_data(market), actor=market.operator)
    with pytest.raises(NotRegistered, match="未登记的产品不得挂牌"):
        market_service.list_product(session, reg.id, actor=market.operator)
    assert [e for e in entries(session) if e.action == "market.checked"]


def test_the_raw_rows_of_an_open_entry_are_never_registered_listed_or_sold(
    session, people, market
) -> None:
    # The audit's exploit: the operator names an operated entry's raw rows as a
    # product's data. Registration refuses it, naming the entry (OPR-4, TRD-3).
    with pytest.raises(NotSandboxProduct) as err:
        registration.apply(
            session, product_data(market, data_entry_id=market.raw.id), actor=market.operator
        )
    assert "低保对象明细" in err.value.message and "原始数据不得登记" in err.value.message
    # A registration that points at raw rows anyway (made before the check): the
    # tradability check refuses it and listing fails closed.
    reg = legacy_raw_registration(session, people, market)
    result = check(session, reg, seller_org_id=market.op_org.id)
    assert "not_sandbox_product" in codes(result) and not result.passed
    with pytest.raises(NotTradable) as err:
        market_service.list_product(session, reg.id, actor=market.operator)
    assert "原始数据不得挂牌交易" in err.value.message and "低保对象明细" in err.value.message
    # A listing of raw rows already on the market: no order creates its grant.
    product = registration.apply(session, product_data(market), actor=market.operator)
    registration.approve(session, product.id, actor=people.reviewer_prov)
    listing = market_service.list_product(session, product.id, actor=market.operator)
    listing.data_entry_id = market.raw.id
    session.flush()
    order = orders.place_order(
        session,
        listing.id,
        actor=market.buyer,
        use_kind="industry",
        purpose="转售",
        scope="全国",
        term_days=30,
    )
    with pytest.raises(NotTradable, match="原始数据不得挂牌交易"):
        orders.accept_contract(session, order.id, actor=market.buyer, sha256=order.sha256)
    assert session.query(Grant).filter(Grant.source == "market").count() == 0


def test_the_listing_keeps_and_shows_the_products_provenance(session, market, approved_product):
    listing = market_service.list_product(session, approved_product.id, actor=market.operator)
    trace = listing.check["provenance"]
    assert trace["sandbox_run"] == market.run.id and trace["result_sha256"]
    assert [s["id"] for s in trace["sources"]] == [market.stats.id]
    assert trace["sha256"] == latest_version(session, market.product.id).sha256
    # the registration recorded the run's sources
    assert market.stats.id in approved_product.source_entry_ids


def test_identifier_columns_need_the_holders_authorization_or_the_pip9_mark(
    session, people, market, instrument
) -> None:
    reg = registration.apply(session, product_data(market), actor=market.operator)
    registration.approve(session, reg.id, actor=people.reviewer_prov)
    version = latest_version(session, market.product.id)
    version.column_tags = {**version.column_tags, "街道": ["CN_RESIDENT_ID"]}
    session.flush()
    result = check(session, reg, seller_org_id=market.op_org.id)
    assert [r["rule"] for r in result.reasons] == ["TRD-8"]
    assert (
        "街道" in result.reasons[0]["message"]
        and "未通过匿名化认定" in result.reasons[0]["message"]
    )
    assert result.identifier_columns == ["街道"]
    # TRD-8: typed text in the registration is not the rights holder's authorization.
    registration.update(
        session,
        reg.id,
        {"holder_authorization": "全部权利人书面授权书（2026-001 至 2026-060）"},
        actor=market.operator,
    )
    registration.approve(session, reg.id, actor=people.reviewer_prov)
    result = check(session, reg, seller_org_id=market.op_org.id)
    assert codes(result) == {"identifiers"}
    assert "没有权利人出具的授权交易记录" in result.reasons[0]["message"]
    # the PIP-9 mark lifts it without any authorization
    version.anonymized = {"k": anonymized.MIN_K, "checked_by": "user:clerk_county"}
    session.flush()
    assert "identifiers" not in codes(check(session, reg, seller_org_id=market.op_org.id))
    version.anonymized = None
    session.flush()
    # an authorization for another seller does not count
    for entry in (market.raw, market.stats):
        instrument(
            people.clerk_county,
            "holder_authorization",
            entry_id=entry.id,
            purpose="market",
            recipient_org_id=market.ent_org.id,
        )
    assert codes(check(session, reg, seller_org_id=market.op_org.id)) == {"identifiers"}
    # the rights holder of every source authorizes trading by this seller: it lifts
    for entry in (market.raw, market.stats):
        instrument(
            people.clerk_county,
            "holder_authorization",
            entry_id=entry.id,
            purpose="market",
            recipient_org_id=market.op_org.id,
        )
    assert check(session, reg, seller_org_id=market.op_org.id).passed


def test_sensitive_attributes_need_the_pip9_mark(session, people, market) -> None:
    reg = registration.apply(session, product_data(market), actor=market.operator)
    registration.approve(session, reg.id, actor=people.reviewer_prov)
    version = latest_version(session, market.product.id)
    version.column_tags = {**version.column_tags, "月份": ["MEDICAL"]}
    session.flush()
    result = check(session, reg, seller_org_id=market.op_org.id)
    assert codes(result) == {"sensitive"}
    assert "月份" in result.reasons[0]["message"] and "医疗健康" in result.reasons[0]["message"]
    version.anonymized = {"k": 5}
    session.flush()
    assert check(session, reg, seller_org_id=market.op_org.id).passed


def test_sources_without_the_holders_authorization_fail(session, people, market) -> None:
    # The enterprise holds neither entry and has no operation grant.
    reg = registration.apply(
        session, product_data(market, price_mode="self", price_yuan="500"), actor=market.buyer
    )
    registration.approve(session, reg.id, actor=people.reviewer_prov)
    result = check(session, reg, seller_org_id=market.ent_org.id)
    assert codes(result) == {"unauthorized_source"}
    assert any("低保对象明细" in r["message"] for r in result.reasons)


def test_core_important_and_prohibited_kinds(session, people, market, instrument) -> None:
    reg = registration.apply(session, product_data(market), actor=market.operator)
    registration.approve(session, reg.id, actor=people.reviewer_prov)
    market.raw.security_grade = "重要数据"
    session.flush()
    assert "important_data" in codes(check(session, reg, seller_org_id=market.op_org.id))
    # a typed consent in the registration is not the authority's consent (SEC-8)
    registration.update(
        session,
        reg.id,
        {"important_data_consent": "省网信办同意函〔2026〕12号"},
        actor=market.operator,
    )
    registration.approve(session, reg.id, actor=people.reviewer_prov)
    assert "important_data" in codes(check(session, reg, seller_org_id=market.op_org.id))
    instrument(
        people.reviewer_county,
        "authority_consent_important",
        entry_id=market.raw.id,
        purpose="market",
        recipient_org_id=market.op_org.id,
    )
    assert check(session, reg, seller_org_id=market.op_org.id).passed
    market.raw.security_grade = "核心数据"
    session.flush()
    assert "core_data" in codes(check(session, reg, seller_org_id=market.op_org.id))
    market.raw.security_grade = "一般数据-2级"
    tags = latest_version(session, market.product.id).column_tags
    column = next(iter(tags))
    tags[column] = [*tags[column], "GEO_COORDINATE"]
    latest_version(session, market.product.id).column_tags = dict(tags)
    admin.prohibit(
        session, "GEO_COORDINATE", reason="《测绘法》禁止交易精确位置", actor=people.admin
    )
    session.flush()
    result = check(session, reg, seller_org_id=market.op_org.id)
    assert "prohibited_kind" in codes(result)
    assert any("测绘法" in r["message"] for r in result.reasons)


def test_operation_products_need_a_guided_fee_item(session, people, market) -> None:
    reg = registration.apply(
        session, product_data(market, price_mode="self", price_yuan="999"), actor=market.operator
    )
    registration.approve(session, reg.id, actor=people.reviewer_prov)
    assert codes(check(session, reg, seller_org_id=market.op_org.id)) == {"guided_price"}


def test_the_fee_schedule_is_versioned(session, people, market) -> None:
    assert [s.version_no for s in admin.fee_schedules(session)] == [1]
    admin.set_fee_schedule(
        session,
        {"STAT-01": {"name": "统计分析类数据产品", "unit": "次", "price_yuan": "1000"}},
        basis="调价通知",
        actor=people.admin,
    )
    versions = admin.fee_schedules(session)
    assert [s.version_no for s in versions] == [2, 1]
    assert versions[0].items["STAT-01"]["price_yuan"] == "1000.00"
    with pytest.raises(InvalidInput):
        admin.set_fee_schedule(session, {}, basis="x", actor=people.admin)
    assert [e for e in entries(session) if e.action == "market.fee_schedule_set"]


@pytest.fixture
def listing(session, market, approved_product):  # noqa: ANN001, ANN201
    return market_service.list_product(session, approved_product.id, actor=market.operator)


def test_a_free_welfare_use_needs_the_authoritys_approval(
    session, people, market, listing, instrument
) -> None:
    """OPR-7: no welfare approval on record (or one for another buyer): no free order."""
    from gongshu.market.errors import WelfareApprovalRequired

    def order():  # noqa: ANN202
        return orders.place_order(
            session,
            listing.id,
            actor=market.buyer,
            use_kind="welfare",
            purpose="社区救助政策评估",
            scope="东湖区",
            term_days=90,
        )

    with pytest.raises(WelfareApprovalRequired, match="公益使用批准记录"):
        order()
    instrument(
        people.reviewer_prov,
        "welfare_approval",
        entry_id=market.stats.id,
        purpose="welfare",
        recipient_org_id=people.org["police"].id,
    )
    with pytest.raises(WelfareApprovalRequired):
        order()
    # the operator cannot approve its own product's welfare use: only the authority can
    from gongshu.instruments.errors import NotEntitled

    with pytest.raises(NotEntitled):
        instrument(
            market.operator,
            "welfare_approval",
            entry_id=market.stats.id,
            purpose="welfare",
            recipient_org_id=market.ent_org.id,
        )


def test_welfare_use_is_free_and_industry_pays_the_guided_fee(
    session, market, listing, welfare_approved
) -> None:
    welfare = orders.place_order(
        session,
        listing.id,
        actor=market.buyer,
        use_kind="welfare",
        purpose="社区救助政策评估",
        scope="东湖区",
        term_days=90,
    )
    assert welfare.amount_yuan == "0.00" and "有条件免费使用" in welfare.pricing_basis
    assert any("不得用于经营性活动" in c for c in welfare.terms["clauses"])
    industry = orders.place_order(
        session,
        listing.id,
        actor=market.buyer,
        use_kind="industry",
        purpose="普惠金融产品设计",
        scope="南昌市",
        term_days=180,
    )
    assert industry.amount_yuan == "1200.00" and "政府指导价第 1 版" in industry.pricing_basis


def test_the_seller_cannot_buy_its_own_product(session, market, listing) -> None:
    with pytest.raises(NotBuyer, match="挂牌方不能购买本方产品"):
        orders.place_order(
            session,
            listing.id,
            actor=market.operator,
            use_kind="industry",
            purpose="再开发",
            scope="全省",
            term_days=30,
        )


def test_order_contract_delivery_trace_and_settlement(
    session, people, market, listing, tmp_path
) -> None:
    order = orders.place_order(
        session,
        listing.id,
        actor=market.buyer,
        use_kind="industry",
        purpose="普惠金融产品设计",
        scope="南昌市",
        term_days=180,
    )
    clauses = "".join(order.terms["clauses"])
    assert (
        "不得转售" in clauses
        and "不得利用所交付数据排除、限制竞争" in clauses
        and "再开发" in clauses
    )
    assert order.terms["product"]["registration_code"] == listing.registration.code
    with pytest.raises(InvalidInput, match="确认的合同与平台记录的合同不一致"):
        orders.accept_contract(session, order.id, actor=market.buyer, sha256="0" * 64)
    with pytest.raises(WrongMarketStatus):
        orders.deliver(
            session,
            order.id,
            actor=market.buyer,
            fmt="csv",
            datasets_dir=datasets_dir(tmp_path),
            work_dir=tmp_path / "out",
            secret=SECRET,
        )
    orders.accept_contract(session, order.id, actor=market.buyer, sha256=order.sha256)
    grant = session.get(Grant, order.grant_id)
    assert grant.source == "market" and grant.entry_id == market.product.id
    assert grant.recipient_user_id == market.buyer.id
    accepted = [e for e in entries(session) if e.action == "market.contract_accepted"]
    assert accepted[0].payload["contract_sha256"] == order.sha256
    out = orders.deliver(
        session,
        order.id,
        actor=market.buyer,
        fmt="csv",
        datasets_dir=datasets_dir(tmp_path),
        work_dir=tmp_path / "out",
        secret=SECRET,
    )
    assert out.delivery.watermarked and out.delivery.rows == 240
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    leaked = tmp_path / "流出.csv"
    leaked.write_text("\n".join(",".join(r) for r in rows[:121]) + "\n", encoding="utf-8")
    verdict = trace_leak(session, leaked, secret=SECRET)
    assert verdict["attributed"] and verdict["recipient_name"] == "郭婷"
    settlement = orders.settlement_of(session, order.id)
    assert settlement.status == "due" and settlement.amount_yuan == "1200.00"
    with pytest.raises(InvalidInput):
        orders.settle(session, order.id, actor=market.operator, reference="")
    orders.settle(session, order.id, actor=market.operator, reference="BANK-20261201-01")
    assert settlement.status == "settled"
