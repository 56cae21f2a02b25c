"""Operation forms in the GOV.UK pattern (issue 17 item 6): a refused post comes back
on its own page with status 400, the message beside its field, what was typed kept,
and nothing written."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from gongshu.ledger.models import LedgerEntry
from gongshu.operation.models import OperatorAgreement, ProcurementRequest


def _count(session, model) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(model))


def test_an_agreement_without_its_terms_comes_back_beside_each_field(
    client, login, session, op, open_entry
) -> None:
    login("reviewer_prov")
    before = _count(session, LedgerEntry)
    entries = json.dumps([{"entry_id": open_entry.id}])
    r = client.post(
        "/operation/agreements",
        data={
            "operator_org_id": str(op.org_id),
            "title": "页面授权",
            "entries": entries,
            "term_days": "9000",
            "revenue_method": "",
            "security_requirements": "沙箱内处理",
            "disposal": "到期删除",
        },
        files={"risk_report": ("报告.pdf", b"%PDF report", "application/pdf")},
    )
    assert r.status_code == 400 and 'action="/operation/agreements"' in r.text
    assert 'id="revenue_method-error">授权运营协议必须写明合理收益计算方法' in r.text
    assert 'id="term_days-error">授权期限须在 1 至' in r.text and 'href="#term_days"' in r.text
    assert 'value="页面授权"' in r.text and "沙箱内处理</textarea>" in r.text
    assert 'value="9000"' in r.text and f'<option value="{op.org_id}" selected>' in r.text
    r = client.post(
        "/operation/agreements",
        data={"operator_org_id": str(op.org_id), "title": "页面授权", "entries": "不是列表"},
        files={"risk_report": ("报告.pdf", b"%PDF report", "application/pdf")},
    )
    assert r.status_code == 400 and 'id="entries-error">授权范围格式错误' in r.text
    assert _count(session, OperatorAgreement) == 0
    assert _count(session, LedgerEntry) == before


def test_a_procurement_request_and_its_review_come_back_beside_the_field(
    client, login, session, people
) -> None:
    login("clerk_prov")
    before = _count(session, LedgerEntry)
    r = client.post(
        "/procurement",
        data={"data_wanted": "停车场车主登记", "purpose": "", "legal_basis": "", "budget": "5万"},
    )
    assert r.status_code == 400 and 'id="procurement-form"' in r.text
    assert 'id="purpose-error">采购申请必须写明用途' in r.text
    assert 'id="legal_basis-error">采购申请必须写明依据' in r.text
    assert "停车场车主登记</textarea>" in r.text and 'value="5万"' in r.text
    assert _count(session, ProcurementRequest) == 0 and _count(session, LedgerEntry) == before
    r = client.post(
        "/procurement",
        data={"data_wanted": "停车场车主登记", "purpose": "交通治理", "legal_basis": "条例"},
        follow_redirects=True,
    )
    assert "采购申请已提交，受理编号 CGSQ-" in r.text and "下一步" in r.text
    req = session.scalar(select(ProcurementRequest))
    login("reviewer_prov")
    before = _count(session, LedgerEntry)
    r = client.post(
        f"/procurement/{req.id}/review",
        data={"decision": "refuse", "reason": " ", "resource_code": ""},
    )
    assert r.status_code == 400 and f'id="reason-r{req.id}-error">审核采购需求须说明理由' in r.text
    assert f'href="#reason-r{req.id}"' in r.text
    r = client.post(
        f"/procurement/{req.id}/review",
        data={"decision": "approve", "reason": "履职需要", "resource_code": "E-1"},
    )
    assert r.status_code == 400 and "目录代码不存在：E-1" in r.text
    assert f'id="resource_code-r{req.id}-error"' in r.text
    assert 'value="E-1"' in r.text and 'value="履职需要"' in r.text
    session.refresh(req)
    assert req.status == "submitted" and _count(session, LedgerEntry) == before


def test_the_sandbox_and_product_forms_come_back_beside_the_field(
    client, login, session, op, open_entry, authorize
) -> None:
    from gongshu.catalog.models import CatalogEntry

    agreement = authorize([{"entry_id": open_entry.id}])
    session.commit()
    login("operator")
    url = f"/operation/agreements/{agreement.id}"
    r = client.post(f"{url}/run", data={"sql": "  "})
    assert r.status_code == 400 and 'id="sql-error">请输入 SQL 查询' in r.text
    assert 'href="#sql"' in r.text and "沙箱查询" in r.text
    sql = f"SELECT 街道 FROM entry_{open_entry.id}"
    r = client.post(f"{url}/run", data={"sql": sql})  # refused by the disclosure check
    assert r.status_code >= 400 and 'id="sql-error">' in r.text and f"{sql}</textarea>" in r.text
    sql = f"SELECT 街道, count(*) AS n FROM entry_{open_entry.id} GROUP BY 1"
    passed = client.post(f"{url}/run", data={"sql": sql})
    assert passed.status_code == 200 and "结果通过披露检查" in passed.text
    run_id = passed.text.split("/operation/runs/")[1].split("/")[0]
    products = session.scalar(select(func.count()).select_from(CatalogEntry))
    before = _count(session, LedgerEntry)
    r = client.post(f"/operation/runs/{run_id}/product", data={"name": "街道人数", "summary": ""})
    assert r.status_code == 400 and 'id="summary-error">数据产品须填写简介' in r.text
    assert 'value="街道人数"' in r.text and 'id="product-form"' in r.text
    assert session.scalar(select(func.count()).select_from(CatalogEntry)) == products
    assert _count(session, LedgerEntry) == before


def test_an_operator_without_its_security_review_gets_no_licence_on_the_page(
    client, login, session, people, open_entry
) -> None:
    """SEC-13: the page says which record is missing and writes nothing."""
    from gongshu.accounts import service as accounts

    org = accounts.add_organization(
        session, "赣鄱数据运营有限公司", kind="operator", region_code="360000"
    )
    login("reviewer_prov")
    before = _count(session, LedgerEntry)
    r = client.post(
        "/operation/agreements",
        data={
            "operator_org_id": str(org.id),
            "title": "页面授权",
            "entries": json.dumps([{"entry_id": open_entry.id}]),
            "term_days": "365",
            "revenue_method": "成本加合理利润",
            "security_requirements": "沙箱内处理",
            "disposal": "到期删除",
        },
        files={"risk_report": ("报告.pdf", b"%PDF report", "application/pdf")},
    )
    assert r.status_code == 409
    assert "没有「受托单位安全审查（已通过）」记录" in r.text and "不能获得授权运营" in r.text
    assert 'value="页面授权"' in r.text
    assert _count(session, OperatorAgreement) == 0
    assert _count(session, LedgerEntry) == before
