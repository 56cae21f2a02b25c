"""The face at a desk and on a phone (issue 17 items 2 and 4), in real Chromium.

For the administrator (who sees the most links), a clerk, a citizen, an anonymous
visitor, a reviewer and an auditor, key pages are opened at 1366x900 and 375x812:
no page scrolls sideways; at desk widths (1366 and 1920) the menu fits on one line
and no menu item is clipped; on a phone the menu folds behind a 菜单 button. Every
link a role's menu offers answers below 400 for that role and fits a phone. Set
GONGSHU_SCREENS=dir to keep a screenshot of each page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gongshu.accounts.service import get_user
from gongshu.db import transaction

from ..conftest import PASSWORD  # noqa: TID252
from .test_open_data import open_entry  # noqa: TID252

pytestmark = pytest.mark.browser

DESK = {"width": 1366, "height": 900}
WIDE = {"width": 1920, "height": 1080}
PHONE = {"width": 375, "height": 812}

# What each role opens; "{entry}" is an open-data catalog entry every role may read.
PAGES = {
    None: ["/", "/login", "/open", "/open/{entry}", "/market", "/registry", "/_styleguide"],
    "citizen": ["/", "/open", "/open/{entry}", "/market", "/privacy", "/grants", "/me"],
    "clerk_county": [
        "/",
        "/catalog",
        "/catalog/{entry}",
        "/catalog/mine",
        "/sharing/mine",
        "/sharing/queue",
        "/open",
        "/market",
        "/compliance",
    ],
    # Two more roles, for their menus: home at both sizes, then the crawl.
    "reviewer_county": ["/"],
    "auditor": ["/"],
    "admin": [
        "/",
        "/catalog",
        "/catalog/{entry}",
        "/open/{entry}",
        "/sharing/supervision",
        "/market",
        "/compliance",
        "/compliance/audits",
        "/compliance/supervision",
        "/ledger",
        "/admin/jobs",
        "/_styleguide",
    ],
}

# In the page: how wide the document is, and which menu items are cut short.
MEASURE = """() => {
  const doc = document.documentElement;
  const visible = (el) => el.checkVisibility({visibilityProperty: true});
  const items = [...document.querySelectorAll('nav.main > a, nav.main .navgroup > summary')];
  const nav = document.querySelector('nav.main');
  const bar = document.querySelector('header.top .bar');
  const toggle = document.querySelector('details.menu > summary');
  return {
    scrollWidth: doc.scrollWidth,
    viewport: doc.clientWidth,
    clipped: items.filter(visible).filter((a) => a.scrollWidth > a.clientWidth)
      .map((a) => a.textContent.trim()),
    shownItems: items.filter(visible).length,
    navOverflow: nav ? nav.scrollWidth > nav.clientWidth : false,
    barHeight: bar ? bar.getBoundingClientRect().height : 0,
    toggleShown: !!toggle && visible(toggle),
    wide: [...document.querySelectorAll('main *')]
      .filter((el) => el.getBoundingClientRect().right > doc.clientWidth + 1)
      .slice(0, 3).map((el) => el.tagName + '.' + el.className),
  };
}"""


def sign_in(page, username: str | None) -> None:  # noqa: ANN001
    page.context.clear_cookies()
    if username is None:
        return
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/")


def test_pages_fit_desk_and_phone_and_menus_lead_somewhere(
    page,
    instance,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    with transaction(instance.session_factory) as session:
        session.info["datasets_dir"] = str(instance.settings.datasets_dir)
        clerk, reviewer = get_user(session, "clerk_county"), get_user(session, "reviewer_county")
        entry = open_entry(
            session, clerk, reviewer, tmp_path, "360102-MZ-0701", "养老机构名录", "unconditional"
        )
    screens = os.environ.get("GONGSHU_SCREENS")
    problems: list[str] = []
    for role, paths in PAGES.items():
        who = role or "anonymous"
        sign_in(page, role)
        for size in (DESK, PHONE):
            page.set_viewport_size(size)
            for path in paths:
                url = path.format(entry=entry)
                answer = page.goto(url)
                assert answer is not None
                if answer.status >= 400:
                    problems.append(f"{who} {url}: answered {answer.status}")
                    continue
                m = page.evaluate(MEASURE)
                where = f"{who} {url} at {size['width']}px"
                if m["scrollWidth"] > m["viewport"]:
                    problems.append(
                        f"{where}: page is {m['scrollWidth']}px wide, widest {m['wide']}"
                    )
                if size is PHONE:
                    if not m["toggleShown"] or m["shownItems"]:
                        problems.append(f"{where}: the menu is not folded behind 菜单")
                else:
                    if m["toggleShown"] or m["clipped"] or m["navOverflow"]:
                        problems.append(f"{where}: menu clipped {m['clipped']}")
                if screens:
                    Path(screens).mkdir(parents=True, exist_ok=True)
                    name = f"{who}{url.replace('/', '_')}_{size['width']}.png"
                    page.screenshot(path=str(Path(screens) / name), full_page=True)
        # At desk widths the administrator's menu, the longest, stays on one line.
        for size in (DESK, WIDE):
            page.set_viewport_size(size)
            page.goto("/")
            m = page.evaluate(MEASURE)
            if m["clipped"] or m["navOverflow"] or m["barHeight"] > 60:
                problems.append(f"{who} menu at {size['width']}px: {m}")
        # On a phone the 菜单 button opens the menu.
        page.set_viewport_size(PHONE)
        page.goto(paths[0].format(entry=entry))
        if role is not None:
            page.click("details.menu > summary")
            assert page.locator("nav.main > a, nav.main .navgroup > summary").first.is_visible()
        # Every link of this role's menu answers below 400 for this role, and its page
        # fits a phone too.
        hrefs = page.eval_on_selector_all("nav.main a", "as => as.map(a => a.getAttribute('href'))")
        for href in sorted(set(hrefs)):
            answer = page.goto(href)
            assert answer is not None
            if answer.status >= 400:
                problems.append(f"{who}: menu link {href} answered {answer.status}")
                continue
            m = page.evaluate(MEASURE)
            if m["scrollWidth"] > m["viewport"]:
                problems.append(
                    f"{who} {href} at 375px: page is {m['scrollWidth']}px wide, widest {m['wide']}"
                )
    assert not problems, "\n".join(problems)


def test_the_menu_groups_tasks_for_the_administrator(page) -> None:  # noqa: ANN001
    sign_in(page, "admin")
    page.set_viewport_size(DESK)
    page.goto("/")
    groups = page.locator("nav.main .navgroup > summary").all_inner_texts()
    assert {"目录", "共享", "开放", "运营", "合规", "管理"} <= set(groups)
    # A group opens as a dropdown; opening another closes the first.
    page.click("nav.main .navgroup > summary:has-text('合规')")
    assert page.locator("nav.main a[href='/ledger']").is_visible()
    page.click("nav.main .navgroup > summary:has-text('目录')")
    assert page.locator("nav.main a[href='/review']").is_visible()
    assert not page.locator("nav.main a[href='/ledger']").is_visible()
    if screens := os.environ.get("GONGSHU_SCREENS"):
        page.screenshot(path=str(Path(screens) / "admin_menu_open_1366.png"))
    page.keyboard.press("Escape")
    assert not page.locator("nav.main a[href='/review']").is_visible()
