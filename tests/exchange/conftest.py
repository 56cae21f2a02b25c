"""Published entries of each sharing attribute, provided by the provincial police
(江西省公安厅, clerk_prov) and the county civil-affairs bureau (东湖区民政局, clerk_county)."""

from __future__ import annotations

import pytest

from gongshu.catalog import service as catalog

FIELDS = [
    {"name": "姓名"},
    {"name": "公民身份号码", "kind": "resident_id"},
    {"name": "户籍地址"},
    {"name": "联系电话"},
]


def publish(session, people, *, code, name, attr, provider="clerk_prov", basis=None):  # noqa: ANN001, ANN003, ANN201
    clerk = getattr(people, provider)
    reviewer = people.reviewer_prov if provider == "clerk_prov" else people.reviewer_county
    entry = catalog.create(
        session,
        {
            "resource_code": code,
            "name": name,
            "summary": name,
            "fields": FIELDS,
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": attr,
            "no_share_basis": basis,
            "sharing_conditions": "仅用于履行法定职责" if attr == "conditional" else None,
            "opening_attr": "none",
        },
        actor=clerk,
    )
    catalog.submit(session, entry.id, actor=clerk)
    catalog.approve(session, entry.id, actor=reviewer)
    return entry


@pytest.fixture
def conditional(session, people):  # noqa: ANN001, ANN201
    return publish(session, people, code="360000-GA-0101", name="户籍人口信息", attr="conditional")


@pytest.fixture
def county_conditional(session, people):  # noqa: ANN001, ANN201
    return publish(
        session,
        people,
        code="360102-MZ-0201",
        name="低保对象名单",
        attr="conditional",
        provider="clerk_county",
    )


@pytest.fixture
def no_share(session, people):  # noqa: ANN001, ANN201
    return publish(
        session,
        people,
        code="360000-GA-0909",
        name="在逃人员信息",
        attr="none",
        basis="《中华人民共和国人民警察法》第二十条",
    )


@pytest.fixture
def unconditional(session, people):  # noqa: ANN001, ANN201
    return publish(session, people, code="360000-GA-0102", name="派出所名录", attr="unconditional")


APPLICATION = {
    "reason": "核查低保申请人的户籍状况",
    "legal_basis": "《社会救助暂行办法》第十一条",
    "use": "低保资格审核",
    "scenario": "东湖区低保申请人户籍核验",
    "requested_fields": ["姓名", "公民身份号码"],
    "term_days": 180,
}
