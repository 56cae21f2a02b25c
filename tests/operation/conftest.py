"""An operator organization, open and not-open entries with personal data, loaded and classified."""

from __future__ import annotations

import pytest

from gongshu.accounts import service as accounts
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.identifiers import id_check_char
from gongshu.operation import runs, service
from tests.conftest import clear_party

PASSWORD = "correct-horse-9"


def rid(body17: str) -> str:
    return body17 + id_check_char(body17)


IDS = [rid(f"36010219800101{i:03d}") for i in range(1, 41)]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强"] * 5
STREETS = ["八一街道", "豫章街道"]
FIELDS = [
    {"name": "姓名"},
    {"name": "公民身份号码", "kind": "resident_id"},
    {"name": "街道"},
    {"name": "月收入", "type": "integer"},
]


def publish_and_load(session, people, tmp_path, *, code, name, opening, rows=40):  # noqa: ANN001, ANN201
    entry = catalog.create(
        session,
        {
            "resource_code": code,
            "name": name,
            "summary": name,
            "fields": FIELDS,
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "unconditional",
            "opening_attr": opening,
            "opening_conditions": "签署协议" if opening == "conditional" else None,
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    csv = tmp_path / f"{code}.csv"
    lines = ["姓名,公民身份号码,街道,月收入"] + [
        f"{NAMES[k]},{IDS[k]},{STREETS[k % 2]},{3000 + 100 * k}" for k in range(rows)
    ]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    datasets.load(
        session,
        entry.id,
        csv,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "var" / "datasets",
    )
    return entry


@pytest.fixture
def op(session, people, tmp_path):  # noqa: ANN001, ANN201
    org = accounts.add_organization(
        session, "江西省公共数据运营有限公司", kind="operator", region_code="360000"
    )
    clear_party(session, org, people.reviewer_prov, tmp_path / "var")  # SEC-13
    user = accounts.create_user(
        session, "operator", PASSWORD, org=org, roles=["operator"], display_name="运营专员"
    )
    return user


@pytest.fixture
def open_entry(session, people, tmp_path):  # noqa: ANN001, ANN201
    return publish_and_load(
        session,
        people,
        tmp_path,
        code="360102-MZ-0401",
        name="低保对象收入",
        opening="unconditional",
    )


@pytest.fixture
def closed_entry(session, people, tmp_path):  # noqa: ANN001, ANN201
    return publish_and_load(
        session, people, tmp_path, code="360102-MZ-0402", name="困难群众台账", opening="none"
    )


@pytest.fixture
def secret_entry(session, people, tmp_path):  # noqa: ANN001, ANN201
    """A not-open entry with no personal information: an enterprise's trade secrets."""
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-GX-0403",
            "name": "重点企业工艺参数",
            "summary": "重点企业工艺参数",
            "fields": [{"name": "工艺编号"}, {"name": "炉温", "type": "integer"}],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "unconditional",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    csv = tmp_path / "secret.csv"
    lines = ["工艺编号,炉温"] + [f"GY-{k:03d},{1200 + k}" for k in range(20)]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    datasets_dir = tmp_path / "var" / "datasets"
    datasets.load(session, entry.id, csv, actor=people.clerk_county, datasets_dir=datasets_dir)
    return entry


def report(tmp_path):  # noqa: ANN001, ANN201
    return service.store_report(
        "安全风险评估报告：结论为风险可控。".encode(), "评估报告.pdf", data_dir=tmp_path / "var"
    )


@pytest.fixture
def authorize(session, people, op, tmp_path):  # noqa: ANN001, ANN201
    """Authorize ``op`` over ``entries`` as the provincial data authority."""

    def go(entries, **kw):  # noqa: ANN001, ANN003, ANN202
        return _authorize(session, people, op, tmp_path, entries, **kw)

    return go


def _authorize(session, people, op, tmp_path, entries, **kw):  # noqa: ANN001, ANN003, ANN202
    path, sha = report(tmp_path)
    data = {
        "title": "低保数据授权运营",
        "term_days": 365,
        "revenue_method": "成本加合理利润，利润率不超过 8%",
        "security_requirements": "仅在平台沙箱内处理；结果经披露检查后交付",
        "disposal": "到期删除全部中间结果，产品下架",
        "report_name": "评估报告.pdf",
        "report_path": path,
        "report_sha256": sha,
        **kw,
    }
    return service.authorize(
        session, actor=people.reviewer_prov, operator_org_id=op.org_id, entries=entries, **data
    )


@pytest.fixture
def rs(tmp_path):  # noqa: ANN001, ANN201
    """Sandbox settings for the test's data dir; keyword overrides."""

    def make(**kw):  # noqa: ANN003, ANN202
        return runs.RunSettings(
            datasets_dir=tmp_path / "var" / "datasets", secret="operation-test-secret", **kw
        )

    return make
