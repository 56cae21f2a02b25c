"""The data authority's supervision page in Chromium: the ECharts chart draws, with no
script errors, from an application left unanswered past its 10 working days (GOV-2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gongshu.accounts.service import get_user
from gongshu.catalog import service as catalog
from gongshu.db import transaction
from gongshu.exchange import service as exchange

from ..conftest import PASSWORD  # noqa: TID252

pytestmark = pytest.mark.browser


def test_overdue_application_shows_on_the_chart(page, instance) -> None:  # noqa: ANN001
    with transaction(instance.session_factory) as session:
        clerk = get_user(session, "clerk_county")
        entry = catalog.create(
            session,
            {
                "resource_code": "360102-MZ-0601",
                "name": "婚姻登记",
                "summary": "登记信息",
                "fields": [{"name": "登记号"}],
                "update_frequency": "每日",
                "security_grade": "一般数据-2级",
                "sharing_attr": "conditional",
                "sharing_conditions": "婚姻状况核查",
                "opening_attr": "none",
            },
            actor=clerk,
        )
        catalog.submit(session, entry.id, actor=clerk)
        catalog.approve(session, entry.id, actor=get_user(session, "reviewer_county"))
        exchange.apply(
            session,
            entry.id,
            actor=get_user(session, "clerk_prov"),
            reason="核查",
            legal_basis="《社会救助暂行办法》",
            use="低保审核",
            scenario="低保对象婚姻状况核查",
            requested_fields=["登记号"],
            term_days=30,
            received_at=datetime(2024, 9, 2, 2, 0, tzinfo=UTC),
        )
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/login")
    page.fill("#username", "reviewer_county")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    page.goto("/sharing/supervision")
    page.wait_for_selector("#overdue-chart canvas")
    assert "东湖区民政局" in page.inner_text("table.supervision")
    assert page.locator("#stale").count() == 1
    assert page.title().startswith("共享监督") and "<" not in page.title()
    assert errors == []
