"""The first whole loop in real Chromium (issue 2): a county clerk compiles an
entry and submits it, the county data authority approves it, the clerk loads a
GBK CSV with two bad ID numbers and sees the version and a report naming them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gongshu.identifiers import id_check_char

from ..conftest import PASSWORD  # noqa: TID252

pytestmark = pytest.mark.browser


def sign_in(page, username: str) -> None:  # noqa: ANN001
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def rid(body17: str) -> str:
    return body17 + id_check_char(body17)


def test_compile_approve_load_gbk_with_bad_ids(page, tmp_path: Path) -> None:  # noqa: ANN001
    sign_in(page, "clerk_county")
    page.goto("/catalog/new")
    page.fill("#name", "低保对象名单")
    page.fill("#resource_code", "360102-MZ-0101")
    page.fill("#summary", "东湖区最低生活保障对象")
    page.select_option("#update_frequency", "每月")
    page.select_option("#security_grade", "一般数据-3级")
    page.select_option("#sharing_attr", "conditional")
    page.fill("#sharing_conditions", "仅用于社会救助资格核查")
    rows = page.locator("#fields .field-row")
    rows.nth(0).locator("input[name=field_name]").fill("姓名")
    rows.nth(1).locator("input[name=field_name]").fill("公民身份号码")
    rows.nth(1).locator("select[name=field_kind]").select_option("resident_id")
    rows.nth(1).locator("select[name=field_required]").select_option("1")
    page.click("form button[type=submit]:has-text('保存')")
    page.wait_for_url("**/catalog/*?flash=created")
    entry_url = page.url.split("?")[0]
    page.click("button:has-text('提交审核')")
    page.wait_for_url("**flash=submitted")
    assert page.inner_text("#status") == "待审核"

    sign_in(page, "reviewer_county")
    page.goto("/review")
    card = page.locator(".card.review", has_text="低保对象名单")
    with page.expect_navigation():
        card.locator("button:has-text('通过')").click()
    page.wait_for_url("**/review?flash=approved&entry=*")
    assert page.locator(".card.review", has_text="低保对象名单").count() == 0

    sign_in(page, "clerk_county")
    page.goto(entry_url)
    assert page.inner_text("#status") == "已发布"
    page.click("a:has-text('加载数据')")
    good = [rid("36010219800101001"), rid("36010219900202002"), rid("36010220010303003")]
    bad1 = good[1][:17] + ("0" if good[1][17] != "0" else "1")  # wrong check digit
    bad2 = "360102" + "19991332" + "0041"  # month 13
    lines = [
        "姓名,公民身份号码",
        f"张三,{good[0]}",
        f"李四,{bad1}",
        f"王五,{good[1]}",
        f"赵六,{good[2]}",
        f"钱七,{bad2}",
    ]
    csv = tmp_path / "低保名单.csv"
    csv.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    page.set_input_files("#file", str(csv))
    page.click("button:has-text('上传并加载')")
    page.wait_for_url("**/datasets/*")
    assert page.inner_text("#version-no") == "1"
    assert page.inner_text("#rows-loaded") == "3"
    report = page.inner_text("#bad-values")
    assert "第 3 行" in report and "第 6 行" in report and report.count("公民身份号码") == 2
    assert "gbk" in page.inner_text("#load-report")
