"""Operation pages: the authority authorizes from the form, the operator runs SQL in the
sandbox page and sees the refusal named, makes a product; enterprise catalogs (CAT-8)."""

from __future__ import annotations

import json

from sqlalchemy import select

from gongshu.accounts import service as accounts
from gongshu.catalog import search as catalog_search
from gongshu.catalog import service as catalog
from gongshu.catalog.models import CatalogEntry
from gongshu.datasets import service as datasets


def test_authorize_run_refuse_and_make_a_product_from_the_pages(
    client, login, session, op, open_entry
):  # noqa: ANN001
    login("reviewer_prov")
    form = client.get("/operation/new")
    assert form.status_code == 200 and "安全风险评估报告" in form.text
    r = client.post(
        "/operation/agreements",
        data={
            "operator_org_id": str(op.org_id),
            "title": "页面授权",
            "entries": json.dumps([{"entry_id": open_entry.id}]),
            "term_days": "90",
            "revenue_method": "成本加合理利润",
            "security_requirements": "沙箱内处理",
            "disposal": "到期删除",
        },
        files={"risk_report": ("报告.pdf", b"%PDF report", "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"].split("?")[0]
    login("operator")
    page = client.get(url)
    assert f"entry_{open_entry.id}" in page.text and "沙箱查询" in page.text
    refused = client.post(f"{url}/run", data={"sql": f"SELECT 街道 FROM entry_{open_entry.id}"})
    assert "明细级结果只能来自通过匿名化认定的数据" in refused.text
    passed = client.post(
        f"{url}/run",
        data={"sql": f"SELECT 街道, count(*) AS n FROM entry_{open_entry.id} GROUP BY 1"},
    )
    assert "结果通过披露检查" in passed.text
    run_id = passed.text.split("/operation/runs/")[1].split("/")[0]
    made = client.post(
        f"/operation/runs/{run_id}/product",
        data={"name": "街道人数", "summary": "按街道计数"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert made.headers["location"] == f"/operation/runs/{run_id}?flash=product"
    assert "已生成" in client.get(url).text
    assert "街道人数" in client.get("/operation").text


def test_a_missing_field_shows_the_form_again_with_the_reason(client, login, op, open_entry):  # noqa: ANN001
    login("reviewer_prov")
    r = client.post(
        "/operation/agreements",
        data={"operator_org_id": str(op.org_id), "title": "x", "entries": "[]"},
        files={"risk_report": ("报告.pdf", b"%PDF", "application/pdf")},
    )
    assert r.status_code == 400 and "合理收益计算方法" in r.text


def test_disclosure_page_is_public_and_unknown_operator_is_404(client, op):  # noqa: ANN001
    assert client.get(f"/disclosure/{op.org_id}").status_code == 200
    assert client.get("/disclosure/999999").status_code == 404


def test_enterprise_catalog_stays_out_of_the_public_catalog(
    client, login, session, people, tmp_path
):  # noqa: ANN001
    """CAT-8: same format, own catalog; AGG-6: the enterprise loads its data into it."""
    ent = accounts.add_organization(
        session, "洪城停车科技有限公司", kind="enterprise", region_code="360100"
    )
    user = accounts.create_user(
        session, "parking", "correct-horse-9", org=ent, roles=["enterprise"], display_name="停车"
    )
    entry = catalog.create(
        session,
        {
            "resource_code": "ENT-360100-0001",
            "name": "停车场泊位数据",
            "summary": "各停车场泊位数",
            "fields": [{"name": "停车场"}, {"name": "泊位数", "type": "integer"}],
            "update_frequency": "每日",
            "security_grade": "一般数据-1级",
            "sharing_attr": "unconditional",
            "opening_attr": "unconditional",
        },
        actor=user,
    )
    assert entry.scope == "enterprise"
    catalog.submit(session, entry.id, actor=user)
    catalog.approve(session, entry.id, actor=people.reviewer_city)
    csv = tmp_path / "p.csv"
    csv.write_text("停车场,泊位数\n八一广场,300\n", encoding="utf-8")
    version = datasets.load(
        session, entry.id, csv, actor=user, datasets_dir=tmp_path / "var" / "datasets"
    )
    assert version.rows == 1
    mine = catalog_search.provided_by(session, ent.id)
    assert [e.name for e in mine] == ["停车场泊位数据"]
    assert "停车场泊位数据" not in client.get("/open").text
    login("clerk_prov")
    assert "停车场泊位数据" not in client.get("/api/v1/catalog").text
    assert (
        session.scalar(select(CatalogEntry.scope).where(CatalogEntry.id == entry.id))
        == "enterprise"
    )


def test_a_typed_consent_on_the_page_is_refused_with_the_reason(
    client, login, session, op, closed_entry
):  # noqa: ANN001
    """Audit exploit through the page: consent "x" for a not-open entry."""
    from sqlalchemy import select

    from gongshu.operation.models import OperatorAgreement

    login("reviewer_prov")
    r = client.post(
        "/operation/agreements",
        data={
            "operator_org_id": str(op.org_id),
            "title": "页面授权",
            "entries": json.dumps(
                [{"entry_id": closed_entry.id, "policy": "share-conditional", "consent": "x"}]
            ),
            "term_days": "90",
            "revenue_method": "成本加合理利润",
            "security_requirements": "沙箱内处理",
            "disposal": "到期删除",
        },
        files={"risk_report": ("报告.pdf", b"%PDF report", "application/pdf")},
    )
    assert r.status_code >= 400 and "不能代替授权记录" in r.text and "困难群众台账" in r.text
    assert session.scalar(select(OperatorAgreement)) is None


def test_the_sandbox_shows_the_passed_rows_with_types_and_links_the_product(
    client, login, session, people, op, open_entry, authorize
):  # noqa: ANN001
    """Issue 17 item 8: the rows that passed, the columns' types, the product linked."""
    agreement = authorize([{"entry_id": open_entry.id}])
    login("operator")
    sql = f"SELECT 街道, count(*) AS n FROM entry_{open_entry.id} GROUP BY 1 ORDER BY 1"
    passed = client.post(f"/operation/agreements/{agreement.id}/run", data={"sql": sql})
    assert 'id="result-table"' in passed.text
    assert '街道<br><span class="muted">文本</span>' in passed.text
    assert 'n<br><span class="muted">整数</span>' in passed.text
    assert "通过检查的结果（前 " in passed.text and "<td>20</td>" in passed.text
    run_id = passed.text.split("/operation/runs/")[1].split("/")[0]
    assert client.get(f"/operation/runs/{run_id}").text.count("<td>20</td>") >= 1
    made = client.post(
        f"/operation/runs/{run_id}/product",
        data={"name": "街道人数", "summary": "按街道计数"},
        follow_redirects=True,
    )
    entry = session.scalar(select(CatalogEntry).where(CatalogEntry.name == "街道人数"))
    assert f'<a href="/catalog/{entry.id}">街道人数</a>' in made.text
    assert "已生成数据产品" in made.text and 'action="/operation/runs/' not in made.text
    assert client.get(f"/catalog/{entry.id}").status_code == 200
    login("clerk_prov")  # another organization sees no operator's result
    assert client.get(f"/operation/runs/{run_id}").status_code in (403, 404)


def test_a_licence_on_consent_nobody_gave_shows_an_empty_table_and_says_why(
    client, login, session, op, closed_entry, authorize
):  # noqa: ANN001
    """OPR-3: per-person consent with no person consenting yields no rows and a clear
    Chinese note on the page, not an error."""
    agreement = authorize(
        [{"entry_id": closed_entry.id, "policy": "share-conditional", "basis": "consent"}]
    )
    login("operator")
    page = client.get(f"/operation/agreements/{agreement.id}")
    assert "个人同意记录：仅使用已同意向本运营机构提供其个人信息的个人的记录" in page.text
    sql = f"SELECT 街道, count(*) AS n FROM entry_{closed_entry.id} GROUP BY 1"
    ran = client.post(f"/operation/agreements/{agreement.id}/run", data={"sql": sql})
    assert ran.status_code == 200
    assert "结果通过披露检查：0 行" in ran.text
    assert "「困难群众台账」依据个人同意运营，目前没有个人同意向本机构提供其信息" in ran.text
    assert "Traceback" not in ran.text
