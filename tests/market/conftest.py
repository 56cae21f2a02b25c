"""Market fixtures: an operator and an enterprise, public entries with data, an
operator agreement over them from the data authority, and a product made from them
in the sandbox."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from gongshu import storage
from gongshu.accounts import service as accounts
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.identifiers import id_check_char
from gongshu.market import admin
from gongshu.operation import products, runs
from gongshu.operation import service as op_service
from gongshu.registration import service as registration
from tests.conftest import clear_party

SECRET = "market-test-secret"
STREETS = ["八一", "豫章", "滕王阁", "墨山", "彭家桥", "贤士湖"]


def load_csv(session, people, tmp_path: Path, entry, header: str, lines: list[str]) -> None:  # noqa: ANN001
    src = tmp_path / f"{entry.resource_code}.csv"
    src.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    datasets.load(
        session,
        entry.id,
        src,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "var" / "datasets",
    )


def holder_authorization(session, people, entry, org, tmp_path) -> int:  # noqa: ANN001
    """The providing agency's record authorizing ``org`` to operate ``entry`` (OPR-3)."""
    from datetime import timedelta

    from gongshu.instruments import service
    from gongshu.timeutil import utcnow
    from tests.conftest import INSTRUMENT_PDF

    path, digest = service.store_document(INSTRUMENT_PDF, "授权书.pdf", data_dir=tmp_path / "var")
    start = utcnow() - timedelta(days=1)
    return service.issue(
        session,
        actor=people.clerk_county,
        kind="holder_authorization",
        title="权利人授权运营",
        valid_from=start,
        valid_until=start + timedelta(days=400),
        document_name="授权书.pdf",
        document_path=path,
        document_sm3=digest,
        entry_id=entry.id,
        purpose="operation",
        recipient_org_id=org.id,
    ).id


def publish(
    session, people, code: str, name: str, fields: list[dict], grade="一般数据-2级", opening="none"
):  # noqa: ANN001, ANN201, E501
    entry = catalog.create(
        session,
        {
            "resource_code": code,
            "name": name,
            "summary": name,
            "fields": fields,
            "update_frequency": "每月",
            "security_grade": grade,
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于履行法定职责",
            "opening_attr": opening,
            "opening_conditions": "仅用于研究" if opening == "conditional" else None,
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    return entry


def rid(i: int) -> str:
    body = f"36010219800101{i:03d}"
    return body + id_check_char(body)


def build_market(session, people, tmp_path: Path):  # noqa: ANN001, ANN201
    """The operator, the enterprise, two loaded entries under operation grants, a fee
    schedule; datasets under ``tmp_path / "var" / "datasets"``."""
    op_org = accounts.add_organization(
        session, "江西省公共数据运营有限公司", kind="operator", region_code="360000"
    )
    clear_party(session, op_org, people.reviewer_prov, tmp_path / "var")  # SEC-13
    ent_org = accounts.add_organization(
        session, "南昌洪城数智科技有限公司", kind="enterprise", region_code="360100"
    )
    operator = accounts.create_user(
        session, "operator", "correct-horse-9", org=op_org, roles=["operator"], display_name="周涛"
    )
    buyer = accounts.create_user(
        session, "buyer", "correct-horse-9", org=ent_org, roles=["enterprise"], display_name="郭婷"
    )
    # Raw data: names and resident IDs of relief recipients.
    raw = publish(
        session,
        people,
        "360102-MZ-0501",
        "低保对象明细",
        [{"name": "姓名"}, {"name": "公民身份号码", "kind": "resident_id"}, {"name": "街道"}],
    )
    names = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊"]
    load_csv(
        session,
        people,
        tmp_path,
        raw,
        "姓名,公民身份号码,街道",
        [f"{names[i % 6]},{rid(i + 1)},{STREETS[i % 6]}街道" for i in range(60)],
    )
    # The aggregate product's data: counts and amounts per street and month.
    stats = publish(
        session,
        people,
        "360102-MZ-0502",
        "低保保障统计",
        [
            {"name": "街道"},
            {"name": "月份"},
            {"name": "保障人数", "type": "integer"},
            {"name": "发放金额", "type": "decimal"},
        ],
    )
    load_csv(
        session,
        people,
        tmp_path,
        stats,
        "街道,月份,保障人数,发放金额",
        [
            f"{STREETS[i % 6]}街道,2026-{1 + i // 6 % 12:02d},{40 + (i * 7) % 90},"
            f"{(40 + (i * 7) % 90) * 713 + (i * 37) % 100}.{(i * 13) % 90 + 10}"
            for i in range(240)
        ],
    )
    # Authorized operation over both (OPR-2; not open, so with consent, OPR-3), and the
    # product made in the sandbox: the only kind of data that may be listed (OPR-4).
    path, sha = op_service.store_report(
        "安全风险评估报告：风险可控。".encode(), "评估报告.pdf", data_dir=tmp_path / "var"
    )
    # The raw entry holds persons' information: it rests on their own consent records
    # (none here, so the gate keeps every raw row back); the statistics hold no one's,
    # so the provider's authorization on record stands for its rights holder.
    consents = {stats.id: holder_authorization(session, people, stats, op_org, tmp_path)}
    agreement = op_service.authorize(
        session,
        actor=people.reviewer_prov,
        operator_org_id=op_org.id,
        title="低保数据授权运营",
        entries=[
            {"entry_id": raw.id, "policy": "share-conditional", "basis": "consent"},
            {
                "entry_id": stats.id,
                "policy": "share-conditional",
                "consent": str(consents[stats.id]),
            },
        ],
        term_days=365,
        revenue_method="成本加合理利润",
        security_requirements="仅在平台沙箱内处理",
        disposal="到期删除中间结果",
        report_name="评估报告.pdf",
        report_path=path,
        report_sha256=sha,
    )
    # The statistics hold no one's data: marked as passing the PIP-9 check, as the
    # gate would, so the sandbox lets its rows out as they are.
    storage.newest(session, stats.id).anonymized = {"k": 10, "checked_by": "user:clerk_county"}
    run = runs.run_query(
        session,
        agreement.id,
        f"SELECT 街道, 月份, 保障人数, 发放金额 FROM entry_{stats.id}",
        actor=operator,
        settings=runs.RunSettings(datasets_dir=tmp_path / "var" / "datasets", secret=SECRET),
    )
    product = products.materialize_product(
        session,
        run.id,
        actor=operator,
        name="低保保障统计产品",
        summary="按街道、月份的保障人数和发放金额",
        datasets_dir=tmp_path / "var" / "datasets",
    )
    admin.set_fee_schedule(
        session,
        {"STAT-01": {"name": "统计分析类数据产品", "unit": "次", "price_yuan": "1200"}},
        basis="江西省发展改革委《公共数据运营服务收费标准》（示例）",
        actor=people.admin,
    )
    session.flush()
    return SimpleNamespace(
        op_org=op_org,
        ent_org=ent_org,
        operator=operator,
        buyer=buyer,
        raw=raw,
        stats=stats,
        product=product,
        run=run,
    )


@pytest.fixture
def market(session, people, tmp_path):  # noqa: ANN001, ANN201
    return build_market(session, people, tmp_path)


PRODUCT = {
    "kind": "product",
    "name": "东湖区低保保障统计数据产品",
    "description": "按街道、月份汇总的低保保障人数和发放金额",
    "processing_summary": "在平台内按街道和月份聚合，不含个人明细",
    "rights": ["processing", "operation"],
    "price_mode": "guided",
    "fee_item": "STAT-01",
}


def product_data(market, **extra) -> dict:  # noqa: ANN001
    return {
        **PRODUCT,
        "source_entry_ids": [market.raw.id, market.stats.id],
        "data_entry_id": market.product.id,
        **extra,
    }


def legacy_raw_registration(session, people, market, **extra):  # noqa: ANN001, ANN003, ANN201
    """An approved product registration whose data is the raw entry, as one made
    before registration checked provenance would be."""
    reg = registration.apply(session, product_data(market, **extra), actor=market.operator)
    reg.data_entry_id = market.raw.id
    session.flush()
    return registration.approve(session, reg.id, actor=people.reviewer_prov)


@pytest.fixture
def approved_product(session, people, market):  # noqa: ANN001, ANN201
    reg = registration.apply(session, product_data(market), actor=market.operator)
    return registration.approve(session, reg.id, actor=people.reviewer_prov, comment="同意登记")


def datasets_dir(tmp_path: Path) -> Path:
    return tmp_path / "var" / "datasets"


@pytest.fixture
def welfare_approved(session, people, market, instrument):  # noqa: ANN001, ANN201
    """OPR-7: the provincial data authority approves the buyer's free welfare use."""
    return instrument(
        people.reviewer_prov,
        "welfare_approval",
        entry_id=market.product.id,
        purpose="welfare",
        recipient_org_id=market.ent_org.id,
    )
