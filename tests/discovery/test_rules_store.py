"""Administrators edit the grading rules; each save is a version; loads use the one in force."""

from __future__ import annotations

import pytest

from gongshu.discovery.grading import DEFAULT_RULES
from gongshu.discovery.rules_store import rules_in_force, save_rules, text_in_force
from gongshu.errors import InvalidInput
from gongshu.ledger import entries


def test_defaults_until_a_version_is_saved(session, people) -> None:
    rules, version = rules_in_force(session)
    assert version == 0 and rules.grades
    text = DEFAULT_RULES.read_text(encoding="utf-8")
    stricter = text.replace('no_entity_grade = "general-1"', 'no_entity_grade = "general-2"')
    assert stricter != text
    save_rules(session, stricter, actor=people.admin, comment="无实体数据提高到 2 级")
    rules, version = rules_in_force(session)
    assert version == 1 and rules.no_entity_grade == "general-2"
    assert text_in_force(session) == (stricter, 1)
    assert entries(session, action_prefix="discovery.rules", limit=1)[0].payload["version"] == 1


def test_bad_rules_are_refused_with_the_reason(session, people) -> None:
    with pytest.raises(InvalidInput, match="TOML"):
        save_rules(session, "grades = [", actor=people.admin)
    text = DEFAULT_RULES.read_text(encoding="utf-8")
    with pytest.raises(InvalidInput, match="未定义的级别"):
        save_rules(
            session,
            text.replace('no_entity_grade = "general-1"', 'no_entity_grade = "secret"'),
            actor=people.admin,
        )
    assert rules_in_force(session)[1] == 0


def test_admin_page(client, login, people) -> None:
    login("admin")
    page = client.get("/discovery/rules").text
    assert "出厂默认" in page and "grades" in page
    r = client.post("/discovery/rules", data={"text": "x = ", "comment": ""})
    assert r.status_code == 400 and "TOML" in r.text
    login("clerk_county")
    assert client.get("/discovery/rules", follow_redirects=False).status_code == 403
