"""Quality pages: the entry page's score and trend chart, the masked report, rule
editing, the provider's task queue, and the data authority's pages (GOV-1, GOV-2,
QUA-2, AGG-2)."""

from __future__ import annotations

import datetime as dt
import json

from gongshu.documents import pdf_text
from gongshu.quality import service
from tests.quality.conftest import good_rows, planted_rows, rid

TODAY = dt.date.today()


def test_entry_page_shows_scores_and_the_trend_chart(login, load, subsidy) -> None:  # noqa: ANN001
    load(planted_rows(TODAY - dt.timedelta(days=120)))
    _, second = load(good_rows(20, TODAY), "fixed.csv")
    page = login("clerk_county").get(f"/catalog/{subsidy.id}")
    assert page.status_code == 200
    assert 'id="quality-trend"' in page.text and "echarts" in page.text
    assert f'id="quality-overall">{second.overall}<' in page.text
    assert '"version": 1' in page.text and '"version": 2' in page.text


def test_report_page_shows_failures_masked(login, load) -> None:  # noqa: ANN001
    _, report = load(planted_rows(TODAY - dt.timedelta(days=120)))
    page = login("reviewer_county").get(f"/quality/reports/{report.id}")
    assert page.status_code == 200
    assert "性别与身份证号一致" in page.text and 'class="failed"' in page.text
    assert rid(8) not in page.text and "第 9 条记录" in page.text


def test_agency_edits_rules_through_the_form(login, session, load, subsidy) -> None:  # noqa: ANN001
    load(good_rows(20, TODAY))
    client = login("clerk_county")
    form = client.get(f"/quality/entries/{subsidy.id}/rules")
    assert form.status_code == 200 and "expect_column_values_to_not_be_null" in form.text
    assert "expect_compound_columns_to_be_unique" in form.text
    bad = client.post(f"/quality/entries/{subsidy.id}/rules", data={"rules": "[{", "reason": ""})
    assert "不是有效的 JSON" in bad.text
    rules = service.current_rules(session, subsidy.id).rules
    rules.append(
        {"expectation": "expect_column_values_to_be_in_set", "column": "性别", "value_set": ["男"]}
    )
    r = client.post(
        f"/quality/entries/{subsidy.id}/rules",
        data={"rules": json.dumps(rules, ensure_ascii=False), "reason": "只发男性"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert service.current_rules(session, subsidy.id).version_no == 2
    unknown = client.post(
        f"/quality/entries/{subsidy.id}/rules",
        data={"rules": '[{"expectation": "expect_magic", "column": "性别"}]'},
    )
    assert "检查项无效" in unknown.text


def test_tasks_page_and_authority_pages(login, load) -> None:  # noqa: ANN001
    load(planted_rows(TODAY - dt.timedelta(days=120)))
    client = login("clerk_county")
    tasks = client.get("/quality/tasks")
    assert tasks.status_code == 200 and "完整性：姓名" in tasks.text and "尚未设定" in tasks.text

    client = login("reviewer_prov")
    r = client.post("/quality/deadline", data={"workdays": "10"}, follow_redirects=False)
    assert r.status_code == 303
    sup = client.get("/quality/supervision")
    assert 'value="10"' in sup.text and "没有逾期的整改任务" in sup.text
    stats = client.get("/quality/statistics")
    assert "东湖区民政局" in stats.text
    assert 'id="agency-attr-chart"' in stats.text and 'id="open-use-chart"' in stats.text
    assert 'id="agency-attr-data">{"names": ["\\u4e1c\\u6e56' in stats.text  # 东湖
    assert 'id="open-use-data">{"applied": [0, 0' in stats.text
    csv = client.get("/quality/statistics.csv?tier=county")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "东湖区民政局,1,7,20" in csv.content.decode("utf-8-sig")
    r = client.post("/quality/assessments", data={"scope": "tier", "value": "county"})
    assert r.status_code == 200 and "质量评估报告：县级" in r.text and "东湖区民政局" in r.text
    aid = r.url.path.rsplit("/", 1)[-1]
    pdf = client.get(f"/quality/assessments/{aid}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "东湖区民政局" in pdf_text(pdf.content)
    dup = client.get("/quality/duplicates")
    assert dup.status_code == 200 and "未发现重复采集" in dup.text


def test_clerks_cannot_open_authority_pages(login, people) -> None:  # noqa: ANN001
    client = login("clerk_county")
    assert client.get("/quality/supervision", follow_redirects=False).status_code == 403


def test_quality_forms_say_each_problem_beside_its_field(login, session, load, subsidy) -> None:  # noqa: ANN001
    from gongshu.ledger.models import LedgerEntry
    from gongshu.quality.models import Assessment, CorrectionTask

    load(planted_rows(TODAY - dt.timedelta(days=120)))
    client = login("clerk_county")
    written = session.query(LedgerEntry).count()
    # Rules: the refusal beside the rules text, the reason typed kept.
    r = client.post(
        f"/quality/entries/{subsidy.id}/rules",
        data={"rules": '[{"expectation": "expect_magic", "column": "性别"}]', "reason": "试一试"},
    )
    assert r.status_code == 400 and "error-summary" in r.text and "无法完成请求" not in r.text
    assert 'id="rules-error">第 1 条规则的检查项无效：expect_magic' in r.text
    assert 'aria-describedby="rules-error"' in r.text and 'value="试一试"' in r.text
    assert "expect_magic" in r.text.split('id="rules"')[1].split("</textarea>")[0]
    r = client.post(f"/quality/entries/{subsidy.id}/rules", data={"rules": "[{"})
    assert r.status_code == 400 and 'id="rules-error">规则不是有效的 JSON：第 1 行' in r.text
    # A task confirmed without saying why: beside that task's field.
    task = session.query(CorrectionTask).filter_by(status="open").first()
    r = client.post(
        f"/quality/tasks/{task.id}/resolve", data={"status": "confirmed", "reason": " "}
    )
    assert r.status_code == 400 and f'id="reason-{task.id}-error">请填写核实情况说明' in r.text
    assert f'href="#reason-{task.id}"' in r.text
    assert session.query(LedgerEntry).count() == written

    client = login("reviewer_prov")
    written = session.query(LedgerEntry).count()
    r = client.post("/quality/deadline", data={"workdays": "90"})
    assert r.status_code == 400 and 'id="workdays-error">整改期限须为 1 到 60 个工作日' in r.text
    assert 'value="90"' in r.text and "无法完成请求" not in r.text
    r = client.post("/quality/deadline", data={"workdays": "十"})
    assert r.status_code == 400 and 'value="十"' in r.text
    r = client.post("/quality/assessments", data={"scope": "tier", "value": "村级"})
    assert r.status_code == 400 and 'id="tier-error">层级无效：村级' in r.text
    assert session.query(Assessment).count() == 0
    assert session.query(LedgerEntry).count() == written
