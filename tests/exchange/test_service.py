"""Sharing applications: SHR-3 validation, SHR-4 answers and referral, the clock, overdue."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.egress.models import Grant, MaskingPolicy
from gongshu.errors import InvalidInput
from gongshu.exchange import service
from gongshu.exchange.errors import NotApplicable, NotAuthority, NotProvider, WrongStatus
from gongshu.ledger import entries
from gongshu.timeutil import BEIJING
from gongshu.workdays import enter_year

from .conftest import APPLICATION


def apply(session, people, entry, **over):  # noqa: ANN001, ANN003, ANN201
    return service.apply(session, entry.id, actor=people.clerk_county, **{**APPLICATION, **over})


def test_deadline_runs_across_national_day_2024(session, people, conditional) -> None:
    # Received Friday 27 Sep 2024; 29 Sep and 12 Oct are swapped working Sundays/Saturdays,
    # 1-7 Oct is the holiday: the 10th working day after receipt is Wednesday 16 Oct.
    received = dt.datetime(2024, 9, 27, 10, 0, tzinfo=BEIJING)
    app = apply(session, people, conditional, received_at=received)
    assert app.status == "submitted"
    assert app.deadline == dt.datetime(2024, 10, 17, 0, 0, tzinfo=BEIJING)
    assert app.deadline_warning is None
    assert service.workdays_left(session, app, dt.date(2024, 9, 27)) == 10
    assert service.workdays_left(session, app, dt.date(2024, 10, 16)) == 1
    assert service.workdays_left(session, app, dt.date(2024, 10, 18)) == -2


def test_missing_schedule_records_the_application_with_a_warning(
    session, people, conditional
) -> None:
    received = dt.datetime(2026, 12, 28, 9, 0, tzinfo=BEIJING)
    app = apply(session, people, conditional, received_at=received)
    assert app.id is not None and app.status == "submitted"
    assert app.deadline is None
    assert app.deadline_warning.startswith("2027 年节假日安排尚未录入，无法计算答复期限")
    assert service.workdays_left(session, app, dt.date(2026, 12, 29)) is None
    # Never counted as overdue on a guessed date.
    assert app not in service.overdue(session, dt.datetime(2027, 6, 1, tzinfo=dt.UTC))
    logged = entries(session, action_prefix="sharing.applied", limit=5)[0]
    assert logged.payload["deadline"] is None and "2027" in logged.payload["deadline_warning"]

    # Once an administrator enters 2027 (New Year's Day off only, for the test), it is computed.
    enter_year(
        session,
        2027,
        [(dt.date(2027, 1, 1), "holiday", "元旦")],
        actor=people.admin.actor,
        source="国办发明电〔2026〕测试",
    )
    assert service.refresh_deadlines(session) == [app]
    # 29,30,31 Dec; 4..8 Jan; 11, 12 Jan -> the 10th working day is Tue 12 Jan 2027.
    assert app.deadline == dt.datetime(2027, 1, 13, 0, 0, tzinfo=BEIJING)
    assert app.deadline_warning is None


def test_conditional_application_needs_reason_basis_use_and_scenario(
    session, people, conditional
) -> None:
    with pytest.raises(InvalidInput) as err:
        apply(session, people, conditional, legal_basis=" ", scenario="")
    assert "申请依据" in err.value.message and "具体应用场景" in err.value.message
    assert "有条件共享申请必须填写" in err.value.message
    with pytest.raises(InvalidInput, match="不在目录"):
        apply(session, people, conditional, requested_fields=["姓名", "血型"])
    with pytest.raises(InvalidInput, match="至少选择一个"):
        apply(session, people, conditional, requested_fields=[])
    with pytest.raises(InvalidInput, match="使用期限"):
        apply(session, people, conditional, term_days=0)


def test_no_share_and_unconditional_entries_cannot_be_applied_for(
    session, people, no_share, unconditional, conditional
) -> None:
    with pytest.raises(NotApplicable) as err:
        apply(session, people, no_share)
    assert "不予共享" in err.value.message and "人民警察法" in err.value.message
    with pytest.raises(NotApplicable) as err:
        apply(session, people, unconditional)
    assert "无需申请" in err.value.message and err.value.detail["take"].endswith("/take")
    with pytest.raises(NotApplicable, match="本单位"):
        service.apply(session, conditional.id, actor=people.clerk_prov, **APPLICATION)


def test_provider_approval_creates_the_grant_from_the_application(
    session, people, conditional
) -> None:
    app = apply(session, people, conditional)
    with pytest.raises(NotProvider):
        service.approve(session, app.id, actor=people.clerk_county, conditions="仅限核验")
    with pytest.raises(InvalidInput, match="共享条件"):
        service.approve(session, app.id, actor=people.clerk_prov, conditions="")
    service.approve(
        session, app.id, actor=people.clerk_prov, conditions="仅限低保资格核验，不得留存"
    )
    assert app.status == "approved" and app.answered_by == "user:clerk_prov"
    grant = session.get(Grant, app.grant_id)
    assert grant.recipient_org_id == people.org["civil"].id
    assert grant.columns == ["姓名", "公民身份号码"]
    assert grant.purpose == "东湖区低保申请人户籍核验"
    assert grant.source_ref == f"application:{app.id}"
    assert session.get(MaskingPolicy, grant.policy_id).name == "share-conditional"
    assert dt.timedelta(days=179) < grant.expires_at - grant.created_at <= dt.timedelta(days=180)
    with pytest.raises(WrongStatus):
        service.refuse(session, app.id, actor=people.clerk_prov, reasons="x", legal_basis="y")
    actions = [e.action for e in entries(session, action_prefix="sharing.", limit=10)]
    assert "sharing.applied" in actions and "sharing.approved" in actions


def test_refusal_needs_reasons_and_a_legal_basis(session, people, conditional) -> None:
    app = apply(session, people, conditional)
    with pytest.raises(InvalidInput, match="法律依据"):
        service.refuse(
            session, app.id, actor=people.clerk_prov, reasons="涉及个人隐私", legal_basis=""
        )
    service.refuse(
        session,
        app.id,
        actor=people.clerk_prov,
        reasons="申请字段超出低保核验所需",
        legal_basis="《个人信息保护法》第三十四条",
    )
    assert app.status == "refused" and app.refusal_basis == "《个人信息保护法》第三十四条"
    assert app.grant_id is None
    logged = entries(session, action_prefix="sharing.refused", limit=1)[0]
    assert logged.payload["legal_basis"] == "《个人信息保护法》第三十四条"


def test_referral_goes_to_the_authority_of_the_providers_tier(
    session, people, conditional, county_conditional
) -> None:
    app = apply(session, people, conditional)
    service.refer(session, app.id, actor=people.clerk_prov, note="涉及跨部门敏感字段，无法确定")
    assert app.status == "referred" and app.referred_region_code == "360000"
    assert service.referred_to(session, people.reviewer_prov) == [app]
    assert service.referred_to(session, people.reviewer_county) == []
    # The provider no longer decides; another tier's authority cannot either.
    with pytest.raises(NotAuthority):
        service.approve(session, app.id, actor=people.clerk_prov, conditions="同意")
    with pytest.raises(NotAuthority):
        service.approve(session, app.id, actor=people.reviewer_county, conditions="同意")
    service.approve(session, app.id, actor=people.reviewer_prov, conditions="经研究同意，仅限核验")
    assert app.status == "approved" and app.decided_by == "user:reviewer_prov"
    assert app.grant_id is not None

    # A county provider (the police applies to the county civil-affairs bureau).
    other = service.apply(session, county_conditional.id, actor=people.clerk_prov, **APPLICATION)
    service.refer(session, other.id, actor=people.clerk_county, note="不确定")
    assert other.referred_region_code == "360102"
    service.refuse(
        session,
        other.id,
        actor=people.reviewer_county,
        reasons="经研究不予共享",
        legal_basis="《社会救助暂行办法》第六十一条",
    )
    assert other.status == "refused" and other.decided_by == "user:reviewer_county"
    assert [e.action for e in entries(session, action_prefix="sharing.referred", limit=5)]


def test_overdue_lists_unanswered_applications_past_their_deadline(
    session, people, conditional
) -> None:
    late = apply(
        session, people, conditional, received_at=dt.datetime(2024, 9, 27, 10, tzinfo=BEIJING)
    )
    answered = apply(
        session, people, conditional, received_at=dt.datetime(2024, 9, 27, 11, tzinfo=BEIJING)
    )
    fresh = apply(
        session, people, conditional, received_at=dt.datetime(2024, 10, 15, 9, tzinfo=BEIJING)
    )
    service.refer(session, answered.id, actor=people.clerk_prov, note="不确定")
    just_before = dt.datetime(2024, 10, 16, 23, 59, tzinfo=BEIJING)
    assert service.overdue(session, just_before) == []
    after = dt.datetime(2024, 10, 17, 0, 1, tzinfo=BEIJING)
    assert service.overdue(session, after) == [late]
    assert fresh not in service.overdue(session, after)
