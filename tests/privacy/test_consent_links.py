"""The person's consent list links a processor's name to its processing rules only
once the processor has published them: no link there answers 404 (issue 17 item 10)."""

from __future__ import annotations

import re

from gongshu.privacy import notices
from tests.privacy.test_notices import SECTIONS
from tests.privacy.test_pages import give


def test_processor_links_to_its_rules_once_published(
    client, login, session, people, citizen, pi
) -> None:  # noqa: ANN001
    give(session, people, pi)
    session.flush()
    civil = people.org["civil"]
    link = f'href="/privacy/notices/{civil.id}"'
    page = login("citizen").get("/privacy")
    assert page.status_code == 200 and civil.name in page.text and link not in page.text
    notices.publish(session, civil, SECTIONS, actor="user:clerk_county")
    session.flush()
    page = client.get("/privacy")
    assert link in page.text
    for href in re.findall(r'href="(/privacy/notices/\d+)"', page.text):
        assert client.get(href).status_code == 200, href
