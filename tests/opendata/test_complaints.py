"""QUA-4: anyone complains about wrong, missing or infringing data; the provider answers."""

from __future__ import annotations

import pytest

from gongshu.catalog import service as catalog
from gongshu.errors import Forbidden, InvalidInput
from gongshu.ledger import entries
from gongshu.opendata import complaints


@pytest.fixture
def open_entry(session, people):  # noqa: ANN001, ANN201
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0701",
            "name": "养老机构名录",
            "summary": "名录",
            "fields": [{"name": "机构名称"}],
            "update_frequency": "每月",
            "security_grade": "一般数据-1级",
            "sharing_attr": "unconditional",
            "opening_attr": "unconditional",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    return entry


def test_anonymous_complaint_is_answered_by_the_provider(session, people, open_entry) -> None:
    with pytest.raises(InvalidInput, match="请留下联系方式"):
        complaints.submit(
            session, open_entry.id, kind="wrong", description="地址错了", contact="", actor=None
        )
    c = complaints.submit(
        session,
        open_entry.id,
        kind="wrong",
        description="第3家地址错了",
        contact="13800000000",
        actor=None,
    )
    assert complaints.for_provider(session, people.clerk_county) == [c]
    assert complaints.for_provider(session, people.clerk_prov) == []
    with pytest.raises(Forbidden):
        complaints.answer(session, c.id, actor=people.clerk_prov, text="x")
    complaints.answer(session, c.id, actor=people.clerk_county, text="已核实并更正")
    assert c.status == "answered" and c.answered_by == "user:clerk_county"
    actions = [e.action for e in entries(session, action_prefix="open.complaint", limit=5)]
    assert actions == ["open.complaint_answered", "open.complaint_submitted"]


def test_complaint_pages(client, login, people, open_entry) -> None:
    r = client.post(
        f"/open/{open_entry.id}/complaints",
        data={"kind": "infringing", "description": "含有本人信息", "contact": "li@example.cn"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    login("clerk_county")
    page = client.get("/open/inbox").text
    assert "含有本人信息" in page and "侵犯合法权益" in page
    cid = page.split("/open/complaints/")[1].split("/")[0]
    client.post(f"/open/complaints/{cid}/answer", data={"text": "已删除相关记录"})
    assert "已删除相关记录" in client.get("/open/inbox").text
