"""A leaked extract names its recipient; an innocent file names nobody (溯源)."""

from __future__ import annotations

import csv
import io

import pytest

from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.egress import service
from gongshu.egress.tracing import trace_leak
from gongshu.ledger import entries

from .test_service import SECRET, deliver, shared_entry  # noqa: F401, TID252


@pytest.fixture
def payments(session, people, tmp_path):  # noqa: ANN001, ANN201
    """Relief payments: amounts and timestamps give the watermark room."""
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0401",
            "name": "救助金发放记录",
            "summary": "发放明细",
            "fields": [
                {"name": "发放单号"},
                {"name": "金额", "type": "decimal"},
                {"name": "发放时间", "type": "datetime"},
                {"name": "街道"},
            ],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "unconditional",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    lines = ["发放单号,金额,发放时间,街道"] + [
        f"FF{100000 + i},{300 + (i * 37) % 900}.{(i * 13) % 90 + 11},"
        f"2024-03-{1 + i % 28:02d} {8 + i % 9:02d}:{i % 60:02d}:{(i * 7) % 60:02d},"
        f"{'八一' if i % 2 else '豫章'}街道"
        for i in range(400)
    ]
    src = tmp_path / "pay.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    datasets.load(
        session,
        entry.id,
        src,
        actor=people.clerk_county,
        datasets_dir=tmp_path / "var" / "datasets",
    )
    return entry


def test_a_leaked_tenth_of_a_delivery_names_the_recipient(
    session, people, payments, tmp_path
) -> None:
    a = service.take_unconditional(session, payments.id, actor=people.clerk_prov, scenario="核验")
    b = service.create_grant(
        session,
        payments,
        recipient_user=people.auditor,
        purpose="审计抽查",
        source="sharing",
        actor=people.admin,
    )
    out_a = deliver(session, a, people.clerk_prov, tmp_path, fmt="csv")
    deliver(session, b, people.auditor, tmp_path, fmt="csv")
    rows = list(csv.reader(io.StringIO(out_a.read_text(encoding="utf-8-sig"))))
    leaked = tmp_path / "泄露.csv"
    leaked.write_text(
        "\n".join(",".join(r) for r in [rows[0], *rows[1:41]]) + "\n", encoding="utf-8"
    )
    verdict = trace_leak(session, leaked, secret=SECRET)
    assert verdict["attributed"], verdict
    assert verdict["delivery_id"] == out_a.delivery.token
    assert verdict["recipient"] == f"org:{people.clerk_prov.org_id}"
    assert verdict["recipient_name"] == "江西省公安厅"
    assert entries(session, action_prefix="egress.traced", limit=1)[0].payload["attributed"]


def test_an_unmarked_file_is_not_attributed(session, people, shared_entry, tmp_path) -> None:  # noqa: F811
    a = service.take_unconditional(
        session, shared_entry.id, actor=people.clerk_prov, scenario="核验"
    )
    deliver(session, a, people.clerk_prov, tmp_path, fmt="csv")
    innocent = tmp_path / "无关.csv"
    innocent.write_text("姓名,联系电话\n张三,138****1234\n李四,139****5678\n", encoding="utf-8")
    assert trace_leak(session, innocent, secret=SECRET)["attributed"] is False
