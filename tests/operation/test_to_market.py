"""Issue 6's check, end to end on the real services, files and database.

"原始数据不出域、数据可用不可见": an operator is authorized (OPR-1/2); builds an
aggregate product in the sandbox (OPR-4); an attempt to export raw ID numbers is
refused with the reason; the product is registered and gets its certificate
(REG-1/3); it passes the tradability check and is listed (TRD-3); a buyer orders
and receives it watermarked (TRD-5, SHR-5); tracing the leaked file names the
buyer; the operator's disclosure report lists the use (OPR-6).
"""

from __future__ import annotations

import csv
import io

import pytest

from gongshu.accounts import service as accounts
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.documents import pdf_text
from gongshu.egress.tracing import trace_leak
from gongshu.market import admin, orders
from gongshu.market import service as market
from gongshu.operation import disclosure, products, runs
from gongshu.operation.errors import ExportRefused
from gongshu.registration import service as registration
from gongshu.registration.certificate import certificate_pdf
from gongshu.timeutil import BEIJING, utcnow

from .conftest import rid  # noqa: TID252

SECRET = "operation-test-secret"  # the rs() fixture's instance secret
STREETS = [f"{n}街道" for n in "八一 豫章 滕王阁 墨山 彭家桥 贤士湖 大院 公园 沙井 董家窑".split()]


@pytest.fixture
def relief(session, people, tmp_path):  # noqa: ANN001, ANN201
    """2,400 relief recipients: 10 streets x 12 months x 20 people, open data."""
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0601",
            "name": "低保对象收入月报",
            "summary": "低保对象收入月报",
            "fields": [
                {"name": "姓名"},
                {"name": "公民身份号码", "kind": "resident_id"},
                {"name": "街道"},
                {"name": "月份"},
                {"name": "月收入", "type": "decimal"},
            ],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "unconditional",
            "opening_attr": "unconditional",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    lines = ["姓名,公民身份号码,街道,月份,月收入"]
    for k in range(2400):
        street, month = STREETS[k % 10], 1 + (k // 10) % 12
        lines.append(
            f"张{k % 97},{rid(f'3601021980{1 + k % 12:02d}{1 + k % 28:02d}{k % 1000:03d}')},"
            f"{street},2026-{month:02d},{2000 + (k * 37) % 1500}.{k % 90 + 10}"
        )
    src = tmp_path / "relief.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    datasets.load(
        session,
        entry.id,
        src,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "var" / "datasets",
    )
    return entry


def test_authorize_build_refuse_register_list_buy_trace_disclose(
    session, people, op, relief, authorize, rs, tmp_path
) -> None:
    ds = tmp_path / "var" / "datasets"
    # 1. The data authority authorizes the operator (OPR-2 terms, risk report on file).
    #    The sandbox keeps identifiers as they are stored: usable inside, never shown.
    agreement = authorize([{"entry_id": relief.id, "policy": "share-conditional"}])
    assert agreement.status == "active"

    # 2. Raw ID numbers cannot leave, and the refusal names the rule.
    with pytest.raises(ExportRefused) as refused:
        runs.run_query(
            session,
            agreement.id,
            f"SELECT 公民身份号码, 月收入 FROM entry_{relief.id}",
            actor=op,
            settings=rs(),
        )
    assert "身份证号码" in refused.value.message and "导出被拒绝" in refused.value.message

    # 3. An aggregate over groups of 20 passes and becomes a product entry.
    run = runs.run_query(
        session,
        agreement.id,
        f"SELECT 街道, 月份, count(*) AS 人数, round(avg(月收入), 2) AS 平均收入 "
        f"FROM entry_{relief.id} GROUP BY 街道, 月份",
        actor=op,
        settings=rs(),
    )
    assert run.status == "passed" and run.smallest_group == 20 and run.rows == 120
    product = products.materialize_product(
        session, run.id, actor=op, name="街道低保收入统计", summary="按街道汇总", datasets_dir=ds
    )
    assert product.scope == "product"

    # 4. Registered (REG-1: public data in authorized operation), approved, certified.
    admin.set_fee_schedule(
        session,
        {"STAT-01": {"name": "统计分析类数据产品", "unit": "次", "price_yuan": "800"}},
        basis="公共数据运营服务收费标准（测试）",
        actor=people.admin,
    )
    reg = registration.apply(
        session,
        {
            "kind": "product",
            "name": "街道低保收入统计数据产品",
            "description": "按街道汇总的低保对象人数和平均收入",
            "processing_summary": "平台沙箱内按街道聚合，每组不少于 10 人，不含个人明细",
            "source_entry_ids": [relief.id],
            "data_entry_id": product.id,
            "rights": ["processing", "operation"],
            "price_mode": "guided",
            "fee_item": "STAT-01",
        },
        actor=op,
    )
    reg = registration.approve(session, reg.id, actor=people.reviewer_prov, comment="同意登记")
    assert reg.code and reg.code in pdf_text(certificate_pdf(reg))

    # 5. Tradability check (TRD-3) and listing.
    check = market.check_registration(session, reg.id, actor=op)
    assert check["passed"] is True, check
    listing = market.list_product(session, reg.id, actor=op)
    assert listing.status == "listed"

    # 6. An enterprise buys for industry use at the guided fee and receives the data.
    firm = accounts.add_organization(
        session, "南昌洪城数智科技有限公司", kind="enterprise", region_code="360100"
    )
    buyer = accounts.create_user(
        session, "buyer", "correct-horse-9", org=firm, roles=["enterprise"], display_name="郭婷"
    )
    order = orders.place_order(
        session,
        listing.id,
        actor=buyer,
        use_kind="industry",
        purpose="普惠金融风险评估",
        scope="南昌市",
        term_days=180,
    )
    order = orders.accept_contract(session, order.id, actor=buyer, sha256=order.sha256)
    out = orders.deliver(
        session,
        order.id,
        actor=buyer,
        fmt="csv",
        datasets_dir=ds,
        work_dir=tmp_path / "out",
        secret=SECRET,
    )
    assert out.delivery.watermarked and out.delivery.rows == 120
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["街道", "月份", "人数", "平均收入"]
    assert not any(len(cell) == 18 and cell[:6].isdigit() for r in rows for cell in r)

    # 7. Half of the file turns up elsewhere: tracing names the buyer.
    leaked = tmp_path / "流出.csv"
    leaked.write_text("\n".join(",".join(r) for r in rows[:61]) + "\n", encoding="utf-8")
    verdict = trace_leak(session, leaked, secret=SECRET)
    assert verdict["attributed"] and verdict["recipient_name"] == "郭婷"

    # 8. The operator's disclosure (OPR-6) lists the source entry, the product and
    #    the delivery to an enterprise.
    year = utcnow().astimezone(BEIJING).year
    d = disclosure.yearly(session, op.org_id, year)
    assert relief.id in [e.id for e, _ in d.entries]
    assert [(p.id, n) for p, n in d.products] == [(product.id, 1)]
    assert d.by_kind.get("企业") == 1
    assert d.runs_passed >= 1 and d.runs_refused >= 1
