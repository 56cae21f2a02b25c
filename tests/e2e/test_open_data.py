"""Open data end to end in real Chromium (issue 5): a member of the public finds an
entry, registers, declares a use and downloads; applies for a conditional entry;
the provider approves; the user signs the agreement and downloads. Every step is
in the ledger, and `gongshu trace` names the user from the downloaded file."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from gongshu.accounts.service import get_user
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.db import transaction
from gongshu.egress.tracing import trace_leak
from gongshu.identifiers import id_check_char
from gongshu.ledger.models import LedgerEntry

from ..accounts.test_registration import load_register  # noqa: TID252
from ..conftest import PASSWORD  # noqa: TID252
from .conftest import E2E_SECRET  # noqa: TID252

pytestmark = pytest.mark.browser
ZHOU = "36010219900307123" + id_check_char("36010219900307123")


def open_entry(
    session,
    people_clerk,
    reviewer,
    tmp_path: Path,
    code: str,
    name: str,  # noqa: ANN001
    opening: str,
) -> int:
    entry = catalog.create(
        session,
        {
            "resource_code": code,
            "name": name,
            "summary": f"{name}（开放数据）",
            "fields": [
                {"name": "机构名称"},
                {"name": "床位数", "type": "integer"},
                {"name": "月均费用", "type": "decimal"},
                {"name": "登记时间", "type": "datetime"},
            ],
            "update_frequency": "每月",
            "security_grade": "一般数据-1级",
            "sharing_attr": "unconditional",
            "opening_attr": opening,
            "opening_conditions": "仅限养老服务研究" if opening == "conditional" else None,
        },
        actor=people_clerk,
    )
    catalog.submit(session, entry.id, actor=people_clerk)
    catalog.approve(session, entry.id, actor=reviewer)
    src = tmp_path / f"{code}.csv"
    src.write_text(
        "机构名称,床位数,月均费用,登记时间\n"
        + "".join(
            f"东湖区第{i}养老院,{40 + i % 60},{1800 + (i * 37) % 900}.{(i * 13) % 89 + 11},"
            f"2024-0{1 + i % 9}-{1 + i % 27:02d} 09:{i % 60:02d}:{(i * 7) % 60:02d}\n"
            for i in range(300)
        ),
        encoding="utf-8",
    )
    datasets.load(
        session, entry.id, src, actor=people_clerk, datasets_dir=Path(session.info["datasets_dir"])
    )
    return entry.id


def sign_in(page, username: str, password: str = PASSWORD) -> None:  # noqa: ANN001
    page.context.clear_cookies()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def test_public_user_registers_declares_applies_signs_and_is_traced(
    page,
    instance,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    with transaction(instance.session_factory) as session:
        session.info["datasets_dir"] = str(instance.settings.datasets_dir)
        clerk, reviewer = get_user(session, "clerk_county"), get_user(session, "reviewer_county")
        free = open_entry(
            session, clerk, reviewer, tmp_path, "360102-MZ-0501", "养老机构名录", "unconditional"
        )
        gated = open_entry(
            session, clerk, reviewer, tmp_path, "360102-MZ-0502", "养老机构收费明细", "conditional"
        )
        # The resident register real-name checks read (OPN-2): 周晓梅 is in it.
        police = SimpleNamespace(
            clerk_prov=get_user(session, "clerk_prov"),
            reviewer_prov=get_user(session, "reviewer_prov"),
        )
        load_register(
            session,
            police,
            tmp_path,
            [("周晓梅", ZHOU, "13812345678")],
            into=instance.settings.datasets_dir,
        )

    # Browsing needs no account.
    page.goto("/open")
    page.fill("input[name=q]", "养老机构名录")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.click("a:has-text('养老机构名录')")
    page.wait_for_url(f"**/open/{free}")

    # Registration with real-name verification (OPN-2).
    page.goto("/register")
    page.fill("#name", "周晓梅")
    page.fill("#id_number", ZHOU)
    page.fill("#mobile", "13812345678")
    page.fill("#username", "zhouxm")
    page.fill("#password", "zhou-password-1")
    page.click("button:has-text('注册并认证')")
    page.wait_for_url("**/login?registered=1")
    sign_in(page, "zhouxm", "zhou-password-1")

    page.goto(f"/open/{free}")
    page.fill("input[name=use]", "养老服务地图")
    page.fill("input[name=scenario]", "公益小程序展示养老院分布")
    with page.expect_navigation():
        page.click("button:has-text('声明用途并获取数据')")
    with page.expect_download() as got:
        page.click("a:has-text('下载 CSV')")
    first = tmp_path / "free.csv"
    got.value.save_as(first)
    assert "东湖区第1养老院" in first.read_text(encoding="utf-8-sig")

    # Conditional-open: apply, the provider approves, the user signs, then downloads.
    page.goto(f"/open/{gated}")
    page.fill("form[action$='/apply'] input[name=use]", "收费水平研究")
    page.fill("form[action$='/apply'] input[name=scenario]", "高校课题：养老服务价格")
    page.fill("textarea[name=security_measures]", "专人专机保管，研究结束后删除")
    with page.expect_navigation():
        page.click("button:has-text('提交开放申请')")
    page.wait_for_selector("text=待答复")

    sign_in(page, "clerk_county")
    page.goto("/open/inbox")
    with page.expect_navigation():
        page.click("button:has-text('同意开放')")
    page.wait_for_selector("text=已同意")

    sign_in(page, "zhouxm", "zhou-password-1")
    page.goto(f"/open/{gated}")
    page.click("a:has-text('查看并签署开放利用协议')")
    page.check("input[name=confirm]")
    with page.expect_navigation():
        page.click("button:has-text('签署协议')")
    with page.expect_download() as got:
        page.click("#signed a:has-text('下载 CSV')")
    leaked = tmp_path / "gated.csv"
    got.value.save_as(leaked)

    with transaction(instance.session_factory) as session:
        user = get_user(session, "zhouxm")
        actions = set(
            session.scalars(select(LedgerEntry.action).where(LedgerEntry.actor == user.actor))
        )
        assert {"user.identity_verified", "egress.delivered"} <= actions
        assert any(a.startswith("open.") for a in actions), actions
        verdict = trace_leak(session, leaked, secret=E2E_SECRET)
        assert verdict["attributed"] and verdict["recipient"] == f"user:{user.id}"
        assert verdict["recipient_name"] == "周晓梅"
