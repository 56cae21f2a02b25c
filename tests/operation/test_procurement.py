"""TRD-9: an agency procures non-public data; the data authority's approval creates the
agency's grant through the same gates at the door as every grant."""

from __future__ import annotations

import pytest

from gongshu.accounts import service as accounts
from gongshu.catalog import service as catalog
from gongshu.compliance.demo import seed_provider_assessments
from gongshu.compliance.errors import AssessmentRequired
from gongshu.egress.models import Grant
from gongshu.errors import InvalidInput
from gongshu.ledger import entries
from gongshu.operation import procurement
from gongshu.operation.models import ProcurementRequest


@pytest.fixture
def firm(session, people):  # noqa: ANN001, ANN201
    org = accounts.add_organization(
        session, "南昌智慧停车有限公司", kind="enterprise", region_code="360100"
    )
    return accounts.create_user(
        session, "parking", "correct-horse-9", org=org, roles=["enterprise"], display_name="何静"
    )


@pytest.fixture
def parking(session, people, firm):  # noqa: ANN001, ANN201
    """The enterprise's own entry (CAT-8): car owners' plates and phone numbers."""
    entry = catalog.create(
        session,
        {
            "resource_code": "E-360100-TC-0001",
            "name": "停车场车主登记",
            "summary": "停车场车主登记",
            "fields": [
                {"name": "车牌号"},
                {"name": "车主身份证号", "kind": "resident_id"},
                {"name": "车位"},
            ],
            "update_frequency": "每日",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于交通治理",
            "opening_attr": "none",
        },
        actor=firm,
    )
    catalog.submit(session, entry.id, actor=firm)
    catalog.approve(session, entry.id, actor=people.reviewer_city)
    assert entry.scope == "enterprise" and entry.published_version
    return entry


def file(session, people, entry_id=None) -> ProcurementRequest:  # noqa: ANN001
    return procurement.file_request(
        session,
        actor=people.clerk_prov,
        data_wanted="城市停车场车主登记数据",
        purpose="交通拥堵治理",
        legal_basis="《江西省数据条例》第十九条",
        entry_id=entry_id,
    )


def grants_of(session, req) -> list[Grant]:  # noqa: ANN001
    return list(session.query(Grant).filter(Grant.source_ref == f"procurement:{req.id}").all())


def test_an_approval_creates_the_agencys_grant(session, people, firm, parking) -> None:
    seed_provider_assessments(session, [firm], [parking.id])  # PIP-8, scoped to the entry
    req = file(session, people, parking.id)
    req = procurement.review(
        session, req.id, actor=people.reviewer_prov, approve=True, reason="确属履职需要"
    )
    (grant,) = grants_of(session, req)
    assert req.status == "approved" and req.grant_id == grant.id
    assert grant.entry_id == parking.id and grant.source == "procurement"
    assert grant.recipient_org_id == people.org["police"].id
    approved = [e for e in entries(session) if e.action == "procurement.approved"]
    assert approved[-1].payload["grant"] == grant.id


def test_a_gate_that_refuses_refuses_the_approval(session, people, firm, parking) -> None:
    # The enterprise holds no impact assessment: the PIP-8 gate at the door refuses the
    # grant, so the approval is refused and the request stays submitted.
    req = file(session, people, parking.id)
    with pytest.raises(AssessmentRequired, match="车主身份证号"):
        procurement.review(
            session, req.id, actor=people.reviewer_prov, approve=True, reason="确属履职需要"
        )
    session.refresh(req)
    assert req.status == "submitted" and req.grant_id is None and not grants_of(session, req)


def test_the_authority_names_the_entry_when_the_request_did_not(
    session, people, firm, parking
) -> None:
    seed_provider_assessments(session, [firm], [parking.id])
    req = file(session, people)
    with pytest.raises(InvalidInput, match="指明所采购数据的目录"):
        procurement.review(session, req.id, actor=people.reviewer_prov, approve=True, reason="同意")
    entry_id = procurement.entry_by_code(session, "E-360100-TC-0001")
    req = procurement.review(
        session, req.id, actor=people.reviewer_prov, approve=True, reason="同意", entry_id=entry_id
    )
    assert req.entry_id == parking.id and grants_of(session, req)
    with pytest.raises(InvalidInput, match="目录代码不存在：NO-SUCH"):
        procurement.entry_by_code(session, "NO-SUCH")


def test_public_data_is_shared_not_procured(session, people) -> None:
    entry = catalog.create(
        session,
        {
            "resource_code": "360102-MZ-0009",
            "name": "低保对象名单",
            "summary": "低保对象名单",
            "fields": [{"name": "姓名"}],
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "履职",
            "opening_attr": "none",
        },
        actor=people.clerk_county,
    )
    catalog.submit(session, entry.id, actor=people.clerk_county)
    catalog.approve(session, entry.id, actor=people.reviewer_county)
    req = file(session, people, entry.id)
    with pytest.raises(InvalidInput, match="请通过共享申请获取"):
        procurement.review(session, req.id, actor=people.reviewer_prov, approve=True, reason="同意")
    # a refusal needs no entry and creates no grant
    req = procurement.review(
        session, req.id, actor=people.reviewer_prov, approve=False, reason="请走共享"
    )
    assert req.status == "refused" and not grants_of(session, req)


def test_the_review_page_names_the_entry_and_shows_the_grant(
    client, login, session, people, firm, parking
) -> None:
    seed_provider_assessments(session, [firm], [parking.id])
    req = file(session, people)
    session.flush()
    login("reviewer_prov")
    page = client.get("/procurement/queue").text
    assert 'name="resource_code"' in page
    r = client.post(
        f"/procurement/{req.id}/review",
        data={"decision": "approve", "reason": "确属履职需要", "resource_code": "NO-SUCH"},
    )
    assert r.status_code == 400 and "目录代码不存在：NO-SUCH" in r.text
    r = client.post(
        f"/procurement/{req.id}/review",
        data={"decision": "approve", "reason": "确属履职需要", "resource_code": "E-360100-TC-0001"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "已授权（授权" in r.text
    session.refresh(req)
    assert req.status == "approved" and req.grant_id
