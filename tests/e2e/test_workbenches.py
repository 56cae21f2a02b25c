"""Workbenches that show the work (issue 17 item 8), in Chromium: the supervision
dashboard's trend charts draw from recent late and answered applications, and a dataset
version's background jobs show their progress as they finish, without a reload."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from gongshu.accounts.service import get_user
from gongshu.capabilities import load_job_handlers
from gongshu.catalog import service as catalog
from gongshu.db import transaction
from gongshu.exchange import service as exchange
from gongshu.identifiers import id_check_char
from gongshu.jobs import Worker
from gongshu.timeutil import utcnow

from .test_first_loop import sign_in

pytestmark = pytest.mark.browser

APPLICATION = {
    "reason": "核查",
    "legal_basis": "《社会救助暂行办法》",
    "use": "低保审核",
    "scenario": "低保对象婚姻状况核查",
    "requested_fields": ["登记号"],
    "term_days": 30,
}


def _published(session, code: str, **extra):  # noqa: ANN001, ANN003, ANN202
    clerk = get_user(session, "clerk_county")
    entry = catalog.create(
        session,
        {
            "resource_code": code,
            "name": "婚姻登记",
            "summary": "登记信息",
            "fields": [{"name": "登记号"}],
            "update_frequency": "每日",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "婚姻状况核查",
            "opening_attr": "none",
            **extra,
        },
        actor=clerk,
    )
    catalog.submit(session, entry.id, actor=clerk)
    catalog.approve(session, entry.id, actor=get_user(session, "reviewer_county"))
    return entry


def test_supervision_trend_charts_draw(page, instance) -> None:  # noqa: ANN001
    now = utcnow()
    with transaction(instance.session_factory) as session:
        entry = _published(session, "360102-MZ-0701")
        applicant = get_user(session, "clerk_prov")
        exchange.apply(  # never answered: late in its deadline's month
            session, entry.id, actor=applicant, received_at=now - timedelta(days=40), **APPLICATION
        )
        late = exchange.apply(
            session, entry.id, actor=applicant, received_at=now - timedelta(days=60), **APPLICATION
        )
        exchange.approve(
            session,
            late.id,
            actor=get_user(session, "clerk_county"),
            conditions="同意",
            now=now - timedelta(days=30),
        )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, "reviewer_county")
    page.goto("/sharing/supervision")
    for chart in ("#late-tier-chart", "#late-agency-chart", "#turnaround-chart"):
        page.wait_for_selector(f"{chart} canvas")
    assert page.locator("#late-tier-chart .empty").count() == 0
    late_rows = page.locator("#late-trend tr", has_text="1")
    assert late_rows.count() >= 1  # the numbers behind the chart, as a table
    assert errors == []


def test_job_progress_updates_without_a_reload(page, instance, tmp_path: Path) -> None:  # noqa: ANN001
    with transaction(instance.session_factory) as session:
        entry = _published(
            session,
            "360102-MZ-0702",
            fields=[{"name": "姓名"}, {"name": "公民身份号码", "kind": "resident_id"}],
        )
    body = "36010219800101001"
    good = body + id_check_char(body)
    csv = tmp_path / "名单.csv"
    csv.write_text(f"姓名,公民身份号码\n张三,{good}\n李四,{body}X\n", encoding="utf-8")
    junk = tmp_path / "说明.doc"
    junk.write_bytes(b"junk")
    sign_in(page, "clerk_county")
    page.goto(f"/catalog/{entry.id}/load")
    page.set_input_files("#file", str(junk))
    page.click("button:has-text('上传并加载')")  # refused: the reason replaces the form
    expect(page.locator("main [role=alert]")).to_contain_text("不支持的文件格式")
    assert page.url.endswith(f"/catalog/{entry.id}/load")
    page.set_input_files("#file", str(csv))  # the form put back still sends by script
    page.click("button:has-text('上传并加载')")  # sent by XMLHttpRequest, with its progress
    page.wait_for_url("**/datasets/*")
    assert page.locator("#version-jobs[data-poll]").count() == 1
    assert page.inner_text("#version-jobs .jobs-finished") == "0"
    assert page.locator("#rejected-download a").count() == 2
    page.evaluate("window.__samePage = true")
    load_job_handlers()
    worker = Worker(instance.session_factory, settings=instance.settings)
    while worker.run_once():
        pass
    # The page's own polling (CSP: no eval, so the waits are on locators).
    expect(page.locator("#version-jobs .jobs-finished")).to_have_text("2", timeout=20000)
    assert page.evaluate("window.__samePage") is True  # no reload happened
    assert "已完成" in page.inner_text("#version-jobs .jobs-list")
    expect(page.locator("#discovery-section")).to_contain_text("全量识别", timeout=20000)


def test_the_administrators_jobs_page_follows_the_work_without_a_reload(page, instance) -> None:  # noqa: ANN001
    from gongshu.jobs import enqueue, handler, unregister

    handler("test.e2e_jobs_page", label="测试用的后台处理")(lambda s, p: {"ok": True})
    try:
        with transaction(instance.session_factory) as session:
            job = enqueue(session, "test.e2e_jobs_page", {"n": 1})
        sign_in(page, "admin")
        page.goto("/admin/jobs")
        row = page.locator(f'#jobs tr[data-job="{job.id}"]')
        expect(row).to_contain_text("排队中")
        assert page.locator("section#jobs[data-live]").count() == 1
        page.evaluate("window.__samePage = true")
        worker = Worker(instance.session_factory, settings=instance.settings)
        while worker.run_once():
            pass
        expect(row).to_contain_text("已完成", timeout=20000)
        expect(page.locator("#jobs [role=status]")).to_have_text("全部任务均已结束。")
        assert page.locator("section#jobs[data-live]").count() == 0
        assert page.evaluate("window.__samePage") is True  # no reload happened
    finally:
        unregister("test.e2e_jobs_page")
