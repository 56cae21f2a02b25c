"""Processing rules (PIP-7): every section required, versioned, public, and consent
for a kind the rules do not list is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.privacy import consent, notices
from gongshu.privacy.errors import BadConsent
from gongshu.privacy.notices import BadNotice

SECTIONS = {
    "functions": [{"function": "低保审核", "kinds": ["PERSON_NAME", "CN_RESIDENT_ID"]}],
    "retention": "审核结束后保存 5 年",
    "rights_channels": "公共数据平台“我的个人信息”页面，或窗口书面申请",
    "third_party_code": "无",
    "third_parties": "依法向省公安厅核验户籍",
    "risks": "数据泄露风险；采取加密、访问控制和审计",
    "complaints": "12345 政务服务热线",
    "officer_contact": "个人信息保护负责人：张三，0791-12345678",
}


def test_every_section_is_required(session, people) -> None:
    with pytest.raises(BadNotice, match="投诉、举报渠道"):
        notices.publish(session, people.org["civil"], {**SECTIONS, "complaints": " "}, actor="x")
    with pytest.raises(BadNotice, match="须逐项列明"):
        notices.publish(session, people.org["civil"], {**SECTIONS, "functions": []}, actor="x")


def test_versions_and_consent_names_the_version(session, people, pi) -> None:
    civil = people.org["civil"]
    first = notices.publish(session, civil, SECTIONS, actor="user:clerk_county")
    kw = {
        "org": civil,
        "id_number": pi.me,
        "purpose": "低保审核",
        "method": "收集",
        "on": dt.date(2026, 3, 2),
        "secret": pi.secret,
        "actor": "user:clerk_county",
    }
    rec = consent.give(session, data_kinds=["PERSON_NAME"], **kw)
    assert rec.notice_id == first.id
    with pytest.raises(BadConsent, match="未列明：手机号码，须先更新处理规则再取得同意"):
        consent.give(session, data_kinds=["CN_MOBILE"], **kw)
    second = notices.publish(
        session,
        civil,
        {
            **SECTIONS,
            "functions": [*SECTIONS["functions"], {"function": "短信通知", "kinds": ["CN_MOBILE"]}],
        },
        actor="user:clerk_county",
    )
    assert second.version_no == 2 and notices.current(session, civil.id).id == second.id
    assert consent.give(session, data_kinds=["CN_MOBILE"], **kw).notice_id == second.id


def test_published_rules_are_public_and_published_from_the_form(
    client, login, session, people
) -> None:
    login("clerk_county")
    r = client.post(
        "/privacy/notice",
        data={
            **{k: v for k, v in SECTIONS.items() if k != "functions"},
            "functions": "低保审核： PERSON_NAME，CN_RESIDENT_ID\n短信通知: CN_MOBILE",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    client.cookies.clear()
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "东湖区民政局个人信息处理规则" in page.text
    assert "居民身份证号" in page.text and "短信通知" in page.text and "0791-12345678" in page.text
    api = client.get(f"/api/v1/privacy/notices/{people.org['civil'].id}").json()
    assert api["version_no"] == 1 and api["sections"]["functions"][1]["kinds"] == ["CN_MOBILE"]
    assert client.get(f"/api/v1/privacy/notices/{people.org['police'].id}").status_code == 404


def test_the_form_takes_kinds_by_their_chinese_names() -> None:
    parsed = notices.parse_functions("低保审核：姓名、居民身份证号\n联系：CN_MOBILE")
    assert parsed == [
        {"function": "低保审核", "kinds": ["PERSON_NAME", "CN_RESIDENT_ID"]},
        {"function": "联系", "kinds": ["CN_MOBILE"]},
    ]


def test_a_notice_missing_a_section_comes_back_beside_it(client, login, session, people) -> None:
    """Issue 17 item 6: the form again with status 400, each message beside its
    section, what was typed kept, no version written."""
    from sqlalchemy import func, select

    from gongshu.ledger.models import LedgerEntry
    from gongshu.privacy.models import ProcessingNotice

    login("clerk_county")
    before = session.scalar(select(func.count()).select_from(LedgerEntry))
    typed = {k: v for k, v in SECTIONS.items() if k not in ("functions", "risks")}
    r = client.post("/privacy/notice", data={**typed, "risks": " ", "functions": "低保审核：姓名"})
    assert r.status_code == 400 and 'id="notice-form"' in r.text
    assert 'id="risks-error">请填写可能存在的安全风险及保护措施' in r.text
    assert 'href="#risks"' in r.text and f"{SECTIONS['retention']}</textarea>" in r.text
    r = client.post("/privacy/notice", data={**typed, "risks": "加密", "functions": "低保审核："})
    assert r.status_code == 400 and 'id="functions-error">第 1 项业务功能须写明' in r.text
    assert session.scalar(select(func.count()).select_from(ProcessingNotice)) == 0
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == before
