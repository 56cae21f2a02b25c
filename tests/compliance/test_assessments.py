"""Impact assessments (PIP-8): template, three-year retention, and the grant gate."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.accounts import service as accounts
from gongshu.catalog import service as catalog
from gongshu.compliance import assessments
from gongshu.compliance.demo import PROVISION_ANSWERS
from gongshu.compliance.errors import AssessmentRequired, RetentionPeriod
from gongshu.egress import service as egress
from gongshu.errors import InvalidInput
from gongshu.timeutil import utcnow
from gongshu.workdays import beijing_date

FIELDS = [{"name": "姓名"}, {"name": "公民身份号码", "kind": "resident_id"}, {"name": "备注"}]


@pytest.fixture
def newcomer(session, people):  # noqa: ANN001, ANN201
    """An agency with no impact assessment, and its published entry with resident IDs."""
    org = accounts.add_organization(session, "江西省医保局", kind="agency", region_code="360000")
    clerk = accounts.create_user(session, "clerk_yb", "correct-horse-9", org=org, roles=["clerk"])
    entry = catalog.create(
        session,
        {
            "resource_code": "360000-YB-0001",
            "name": "参保人员名单",
            "summary": "参保人员",
            "fields": FIELDS,
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于履行法定职责",
            "opening_attr": "none",
        },
        actor=clerk,
    )
    catalog.submit(session, entry.id, actor=clerk)
    catalog.approve(session, entry.id, actor=people.reviewer_prov)
    return clerk, entry


def grant(session, entry, people, columns=None):  # noqa: ANN001, ANN201
    return egress.create_grant(
        session,
        entry,
        recipient_org_id=people.org["civil"].id,
        purpose="低保资格审核",
        source="sharing",
        actor=people.admin,
        columns=columns,
    )


def test_sensitive_grant_without_assessment_is_refused(session, people, newcomer) -> None:  # noqa: ANN001
    """PIP-8: resident ID numbers (sensitive by the grading rules) to another agency."""
    clerk, entry = newcomer
    with pytest.raises(AssessmentRequired, match="影响评估") as exc:
        grant(session, entry, people)
    assert exc.value.detail["sensitive_columns"] == ["公民身份号码"]
    # Non-sensitive columns only: no assessment needed.
    assert grant(session, entry, people, columns=["姓名", "备注"]).id
    # An assessment covering other kinds does not open the gate; one covering provision does.
    today = beijing_date(utcnow())
    assessments.create(
        session,
        actor=clerk,
        activity="自动化审核",
        covers=["automated"],
        answers=PROVISION_ANSWERS,
        conclusion="可控",
        assessed_on=today,
    )
    with pytest.raises(AssessmentRequired):
        grant(session, entry, people)
    # PIP-8 is scoped: an assessment of provision that names no entry, another entry or
    # another use is not an assessment of this one.
    other = catalog.create(
        session,
        {
            "resource_code": "360000-YB-0002",
            "name": "医保结算明细",
            "summary": "结算",
            "fields": FIELDS,
            "update_frequency": "每月",
            "security_grade": "一般数据-2级",
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于履行法定职责",
            "opening_attr": "none",
        },
        actor=clerk,
    )
    for scope in (
        {},
        {"entry_ids": [other.id], "purposes": ["sharing"]},
        {"entry_ids": [entry.id], "purposes": ["open", "market"]},
    ):
        assessments.create(
            session,
            actor=clerk,
            activity="向民政部门提供参保信息",
            covers=["provision"],
            answers=PROVISION_ANSWERS,
            conclusion="可控",
            assessed_on=today,
            **scope,
        )
        with pytest.raises(AssessmentRequired, match="覆盖该目录、用于“共享”"):
            grant(session, entry, people)
    assessments.create(
        session,
        actor=clerk,
        activity="向民政部门提供参保信息",
        covers=["provision"],
        answers=PROVISION_ANSWERS,
        conclusion="可控",
        assessed_on=today,
        entry_ids=[entry.id],
        purposes=["sharing"],
    )
    assert grant(session, entry, people).id


def test_an_assessment_covers_only_the_organizations_own_entries(session, people, newcomer):  # noqa: ANN001
    _clerk, entry = newcomer
    with pytest.raises(InvalidInput, match="只能覆盖本单位提供的数据目录"):
        assessments.create(
            session,
            actor=people.clerk_county,
            activity="x",
            covers=["provision"],
            answers=PROVISION_ANSWERS,
            conclusion="可控",
            assessed_on=beijing_date(utcnow()),
            entry_ids=[entry.id],
            purposes=["sharing"],
        )


def test_an_expired_assessment_is_not_current(session, people, newcomer) -> None:  # noqa: ANN001
    clerk, entry = newcomer
    assessments.create(
        session,
        actor=clerk,
        activity="旧评估",
        covers=["provision"],
        answers=PROVISION_ANSWERS,
        conclusion="可控",
        assessed_on=dt.date(2024, 1, 1),
        valid_until=dt.date(2025, 1, 1),
        entry_ids=[entry.id],
        purposes=["sharing"],
    )
    with pytest.raises(AssessmentRequired):
        grant(session, entry, people)


def test_template_must_be_answered(session, people) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput, match="对个人权益的影响"):
        assessments.create(
            session,
            actor=people.clerk_prov,
            activity="x",
            covers=["sensitive"],
            answers={"purpose": "合法"},
            conclusion="可控",
            assessed_on=dt.date(2026, 1, 5),
        )


def test_kept_at_least_three_years(session, people) -> None:  # noqa: ANN001
    """PIP-8: no deletion before three years have passed."""
    item = assessments.create(
        session,
        actor=people.clerk_prov,
        activity="开放数据发布",
        covers=["publication"],
        answers=PROVISION_ANSWERS,
        conclusion="可控",
        assessed_on=dt.date(2023, 3, 1),
        valid_until=dt.date(2024, 3, 1),
    )
    assert item.keep_until == dt.date(2026, 3, 1)
    with pytest.raises(RetentionPeriod, match="2026年03月01日前不得删除"):
        assessments.delete(session, item.id, actor=people.clerk_prov, today=dt.date(2026, 3, 1))
    assessments.delete(session, item.id, actor=people.clerk_prov, today=dt.date(2026, 3, 2))
    assert assessments.listing(session, people.org["police"].id)[-1].id != item.id
