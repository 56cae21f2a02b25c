"""One journey per role, in real Chromium (issue 17 item 10 and its browser checks).

For each role (citizen, clerk, data authority, operator, enterprise, auditor,
regulator) a handful of the role's key pages, a form among them, are opened at
1366x900 and 375x812: each answers below 400, does not scroll sideways, does not
clip its menu, and axe-core (the copy shipped by the ``axe-playwright-python``
package, injected into the page: no network at run time) reports no serious or
critical violation of WCAG 2.1 A/AA, with the menu closed and opened. At the desk
size (and home on a phone) each page also has its landmarks (header, named nav, main,
footer), lang="zh-CN", a title, one h1, and keyboard focus visible on its first stops.
Then, as that role, every same-origin link reachable from home (up to ``CRAWL_LIMIT``
pages, two of each URL shape) answers below 400.

One live server and one browser serve the whole module; each role gets its own
browser context (its own cookies).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
import uvicorn

from gongshu.accounts import service as accounts
from gongshu.accounts.service import get_user
from gongshu.app.factory import create_app
from gongshu.app.server import init_instance
from gongshu.compliance import incidents
from gongshu.config import Settings
from gongshu.db import transaction
from gongshu.runtime import Instance
from gongshu.timeutil import utcnow

from ..conftest import PASSWORD, seed_people  # noqa: TID252
from .conftest import CHROMIUM, E2E_SECRET  # noqa: TID252
from .test_layout import DESK, MEASURE, PHONE  # noqa: TID252
from .test_open_data import open_entry  # noqa: TID252

pytestmark = pytest.mark.browser

# The role's key pages; "{entry}" is an open catalog entry every role may read.
JOURNEYS = {
    "citizen": [
        "/",
        "/open",
        "/open/{entry}",
        "/market",
        "/privacy",
        "/grants",
        "/account/tokens",
    ],
    "clerk_county": [
        "/",
        "/catalog",
        "/catalog/{entry}",
        "/catalog/mine",
        "/catalog/new",
        "/sharing/mine",
        "/sharing/queue",
        "/compliance",
    ],
    "reviewer_county": [
        "/",
        "/review",
        "/catalog/{entry}",
        "/sharing/referred",
        "/sharing/supervision",
        "/registration-review",
        "/compliance/supervision",
        "/operation/new",
    ],
    "operator": [
        "/",
        "/operation",
        "/market/sell",
        "/registrations",
        "/compliance",
        "/instruments",
    ],
    "enterprise": [
        "/",
        "/catalog/mine",
        "/catalog/new",
        "/market/sell",
        "/registrations",
        "/compliance/incidents/new",
    ],
    "auditor": ["/", "/catalog", "/compliance/audits", "/ledger", "/account/tokens"],
    "regulator": ["/", "/catalog", "/compliance/supervision", "/ledger", "/account/tokens"],
}
CRAWL_LIMIT = 60
CRAWL_PER_SHAPE = 2
# Links the crawl does not follow: signing out ends the journey.
CRAWL_SKIP = ("/logout",)

AXE_JS = None


def axe_source() -> str:
    global AXE_JS  # noqa: PLW0603
    if AXE_JS is None:
        import axe_playwright_python

        AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text("utf-8")
    return AXE_JS


# WCAG 2.0/2.1 A and AA rules plus axe's best practices (landmarks, headings).
AXE_RUN = """async () => {
  const r = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
    resultTypes: ['violations'],
  });
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  targets: v.nodes.slice(0, 4).map((n) => n.target.join(' ')),
                  count: v.nodes.length}));
}"""


# Landmarks every page has, and what keyboard focus looks like on the first stops.
LANDMARKS = """() => ({
  lang: document.documentElement.lang,
  title: document.title,
  banner: document.querySelectorAll('body > header').length,
  nav: document.querySelectorAll('nav[aria-label]').length,
  main: document.querySelectorAll('main').length,
  footer: document.querySelectorAll('body > footer').length,
  h1: document.querySelectorAll('main h1').length,
})"""
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const st = getComputedStyle(el);
  const outline = st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 2;
  return {what: el.tagName + ' ' + (el.textContent || el.name || '').trim().slice(0, 12),
          shown: outline || st.boxShadow !== 'none'};
}"""
FOCUS_STOPS = 6


def check_page_frame(page, where: str) -> list[str]:  # noqa: ANN001
    """Landmarks, language and title; keyboard focus visible on the first stops."""
    problems = []
    lm = page.evaluate(LANDMARKS)
    if lm["lang"] != "zh-CN" or not lm["title"].strip():
        problems.append(f"{where}: lang {lm['lang']!r}, title {lm['title']!r}")
    if (lm["banner"], lm["main"], lm["footer"]) != (1, 1, 1) or not lm["nav"]:
        problems.append(f"{where}: landmarks {lm}")
    if lm["h1"] != 1:
        problems.append(f"{where}: {lm['h1']} h1 headings in main")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for _ in range(FOCUS_STOPS):
        page.keyboard.press("Tab")
        f = page.evaluate(FOCUS)
        if f is not None and not f["shown"]:
            problems.append(f"{where}: keyboard focus not visible on {f['what']}")
    return problems


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_role_people(session) -> None:  # noqa: ANN001
    """The three roles seed_people has no one for: an operator, an enterprise, a regulator."""
    for username, org_name, kind in (
        ("operator", "江西省公共数据运营有限公司", "operator"),
        ("enterprise", "南昌洪城数智科技有限公司", "enterprise"),
        ("regulator", "江西省互联网信息办公室", "regulator"),
    ):
        org = accounts.add_organization(session, org_name, kind=kind, region_code="360000")
        accounts.create_user(
            session, username, PASSWORD, org=org, roles=[username], display_name=username
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A live instance with every role's test person and one open entry."""
    tmp = tmp_path_factory.mktemp("journeys")
    settings = Settings(data_dir=tmp / "var", secret_key=E2E_SECRET)
    inst = Instance.open(settings)
    init_instance(inst)
    with transaction(inst.session_factory) as session:
        seed_people(session)
        add_role_people(session)
    with transaction(inst.session_factory) as session:
        session.info["datasets_dir"] = str(settings.datasets_dir)
        clerk, reviewer = get_user(session, "clerk_county"), get_user(session, "reviewer_county")
        entry = open_entry(
            session, clerk, reviewer, tmp, "360102-MZ-0701", "养老机构名录", "unconditional"
        )
        # A security incident, so the supervisors' pages lead to one.
        incidents.record_incident(
            session,
            actor=clerk,
            title="门户网站被篡改",
            system="政务服务门户",
            kind="网页篡改",
            found_at=utcnow(),
            grade="general",
        )
    port = _free_port()
    app = create_app(settings, session_factory=inst.session_factory)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", entry
    server.should_exit = True
    thread.join(10)
    inst.close()


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: `make test` installs it (make browser-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield b
        b.close()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def crawl(request, base: str, limit: int) -> tuple[list[str], int]:  # noqa: ANN001
    """Follow same-origin links breadth-first from home; return the problems and the
    number of pages fetched."""
    origin = urlsplit(base).netloc
    seen = {"/"}
    shapes: dict[str, int] = {}
    queue = ["/"]
    problems: list[str] = []
    fetched = 0
    while queue and fetched < limit:
        path = queue.pop(0)
        answer = request.get(base + path, max_redirects=5)
        fetched += 1
        if answer.status >= 400:
            problems.append(f"{path} answered {answer.status}")
            continue
        if "text/html" not in answer.headers.get("content-type", ""):
            continue
        parser = _Links()
        parser.feed(answer.text())
        for href in parser.hrefs:
            url = urldefrag(urljoin(base + path, href))[0]
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or parts.netloc != origin:
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.path in CRAWL_SKIP or target in seen:
                continue
            # Two URLs of one shape (digits aside, any query) stand for the rest.
            shape = re.sub(r"\d+", "N", parts.path)
            shapes[shape] = shapes.get(shape, 0) + 1
            if shapes[shape] > CRAWL_PER_SHAPE:
                continue
            seen.add(target)
            queue.append(target)
    return problems, fetched


@pytest.mark.parametrize("role", list(JOURNEYS))
def test_journey_fits_is_accessible_and_leads_nowhere_broken(site, browser, role: str) -> None:  # noqa: ANN001
    base, entry = site
    context = browser.new_context(base_url=base, viewport=DESK)
    context.add_init_script(axe_source())
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto("/login")
        page.fill("#username", role)
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/")
        problems: list[str] = []
        for size in (DESK, PHONE):
            page.set_viewport_size(size)
            for path in JOURNEYS[role]:
                url = path.format(entry=entry)
                where = f"{role} {url} at {size['width']}px"
                answer = page.goto(url)
                assert answer is not None
                if answer.status >= 400:
                    problems.append(f"{where}: answered {answer.status}")
                    continue
                m = page.evaluate(MEASURE)
                if m["scrollWidth"] > m["viewport"]:
                    problems.append(f"{where}: {m['scrollWidth']}px wide, widest {m['wide']}")
                if size is PHONE:
                    if not m["toggleShown"] or m["shownItems"]:
                        problems.append(f"{where}: the menu is not folded behind 菜单")
                elif m["toggleShown"] or m["clipped"] or m["navOverflow"]:
                    problems.append(f"{where}: menu clipped {m['clipped']}")
                if size is DESK or path == "/":  # on a phone: the 菜单 button's focus
                    problems += check_page_frame(page, where)
                for v in page.evaluate(AXE_RUN):
                    problems.append(
                        f"{where}: axe {v['impact']} {v['id']} ({v['help']}) "
                        f"x{v['count']} at {v['targets']}"
                    )
            # The menu opened (on a phone behind 菜单, then its first task group): its
            # links are checked too, which a closed menu hides from axe.
            page.goto("/")
            if size is PHONE:
                page.click("details.menu > summary")
            group = page.locator("nav.main .navgroup > summary")
            if group.count():
                group.first.click()
            for v in page.evaluate(AXE_RUN):
                problems.append(
                    f"{role} open menu at {size['width']}px: axe {v['impact']} {v['id']} "
                    f"({v['help']}) x{v['count']} at {v['targets']}"
                )
        broken, fetched = crawl(context.request, base, CRAWL_LIMIT)
        problems += [f"{role} crawl: {b}" for b in broken]
        assert fetched > 3, f"{role}: the crawl reached only {fetched} pages"
    finally:
        context.close()
    assert not problems, "\n".join(problems)
