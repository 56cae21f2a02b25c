"""Forms in real Chromium (issue 17 item 6): a format with rules is checked as typed,
the message beside the field; no page asks in a browser prompt."""

from __future__ import annotations

import pytest

from ..conftest import PASSWORD  # noqa: TID252

pytestmark = pytest.mark.browser


def test_an_id_number_is_checked_as_typed_and_nothing_prompts(page) -> None:
    prompts: list[str] = []
    page.on("dialog", lambda d: (prompts.append(d.type), d.dismiss()))
    page.goto("/account/recover")
    page.fill("#username", "citizen")
    page.fill("#id_number", "36010219800101")
    page.locator("#username").focus()  # leave the field: now it is checked
    error = page.locator("#id_number-format")
    assert error.inner_text().startswith("格式不正确：18 位居民身份证号码")
    assert page.get_attribute("#id_number", "aria-invalid") == "true"
    assert "id_number-format" in page.get_attribute("#id_number", "aria-describedby")
    # Typing on corrects it at once.
    page.fill("#id_number", "36010219800101001X")
    assert error.inner_text() == ""
    assert page.get_attribute("#id_number", "aria-invalid") == "false"
    page.click("button:has-text('获取验证码')")
    page.wait_for_selector("#code")
    assert not prompts


def test_a_catalog_row_added_gets_its_own_id_and_label(page) -> None:
    page.goto("/login")
    page.fill("#username", "clerk_county")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    page.goto("/catalog/new")
    rows = page.locator("#fields .field-row")
    before = rows.count()
    page.click("#add-field")
    assert rows.count() == before + 1
    added = rows.nth(before).locator("input[name=field_name]")
    assert added.get_attribute("id") == f"field_name-{before + 1}"
    assert added.get_attribute("aria-label") == f"第 {before + 1} 个数据项的字段名称"
    assert rows.nth(before).locator("td").first.inner_text() == str(before + 1)
    ids = page.eval_on_selector_all("#fields [id]", "els => els.map(e => e.id)")
    assert len(ids) == len(set(ids))
