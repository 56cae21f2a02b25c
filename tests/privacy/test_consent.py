"""Consent records (PIP-1 to PIP-4, SEC-7): append-only, separate, guardian, withdrawal."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from gongshu.errors import Conflict
from gongshu.ledger import entries
from gongshu.privacy import consent
from gongshu.privacy.errors import BadConsent, GuardianRequired, NotThePerson
from gongshu.privacy.models import ConsentRecord
from gongshu.privacy.person import person_hash

PURPOSE, METHOD = "办理最低生活保障", "收集、存储、核对"


def give(session, people, pi, **kw):  # noqa: ANN001, ANN003, ANN201
    args = {
        "org": people.org["civil"],
        "id_number": pi.me,
        "purpose": PURPOSE,
        "method": METHOD,
        "data_kinds": ["PERSON_NAME", "CN_MOBILE"],
        "on": date(2026, 3, 2),
        "secret": pi.secret,
        "actor": "user:clerk_county",
    }
    return consent.give(session, **{**args, **kw})


def test_consent_names_the_person_by_a_keyed_hash_only(session, people, pi) -> None:
    rec = give(session, people, pi)
    assert rec.person_hash == person_hash(pi.me, pi.secret) != pi.me
    assert pi.me not in str(entries(session)[0].payload)
    assert rec.retain_until == date(2031, 3, 2)  # SEC-7: 5 years


def test_sensitive_kind_needs_its_own_separate_consent(session, people, pi) -> None:
    with pytest.raises(BadConsent, match="单独同意"):
        give(session, people, pi, data_kinds=["PERSON_NAME", "MEDICAL"])
    rec = give(session, people, pi, data_kinds=["MEDICAL"])
    assert rec.sensitive  # PIP-1: a separate consent for the sensitive kind


def test_child_under_14_needs_an_adult_guardian(session, people, pi) -> None:
    # Born 2020-06-01: 13 on 2034-05-31, 14 on 2034-06-01.
    with pytest.raises(GuardianRequired, match="监护人"):
        give(session, people, pi, id_number=pi.child, on=date(2034, 5, 31))
    with pytest.raises(GuardianRequired, match="成年人"):
        give(
            session,
            people,
            pi,
            id_number=pi.child,
            on=date(2026, 1, 5),
            guardian_id_number=pi.rid("36010220150101004"),
        )
    rec = give(
        session, people, pi, id_number=pi.child, on=date(2026, 1, 5), guardian_id_number=pi.parent
    )
    assert rec.minor_under_14 and rec.guardian_hash == person_hash(pi.parent, pi.secret)
    assert not give(session, people, pi, id_number=pi.child, on=date(2034, 6, 1)).minor_under_14


def test_check_answers_no_and_says_why(session, people, pi) -> None:
    rec = give(session, people, pi)
    who = person_hash(pi.me, pi.secret)
    ask = {"org_id": people.org["civil"].id, "person": who, "on": date(2026, 3, 3)}
    ok = consent.check(session, purpose=PURPOSE, method=METHOD, data_kinds=["CN_MOBILE"], **ask)
    assert ok.valid and ok.consent_ids == [rec.id] and ok.reasons == []
    purpose = consent.check(
        session, purpose="精准营销", method=METHOD, data_kinds=["CN_MOBILE"], **ask
    )
    assert (
        not purpose.valid
        and "处理目的" in purpose.reasons[0]
        and "须重新取得同意" in purpose.reasons[0]
    )
    assert (
        "不得以个人不同意或撤回同意为由拒绝提供产品或服务" in purpose.reasons[-1]
    )  # no refusal of service for refusing consent
    method = consent.check(session, purpose=PURPOSE, method="公开", data_kinds=["CN_MOBILE"], **ask)
    assert not method.valid and "处理方式" in method.reasons[0]
    kind = consent.check(session, purpose=PURPOSE, method=METHOD, data_kinds=["ADDRESS"], **ask)
    assert not kind.valid and "无同意记录" in kind.reasons[0]
    before = consent.check(
        session,
        purpose=PURPOSE,
        method=METHOD,
        data_kinds=["CN_MOBILE"],
        **{**ask, "on": date(2026, 3, 1)},
    )
    assert not before.valid  # not yet in effect
    other_org = consent.check(
        session,
        purpose=PURPOSE,
        method=METHOD,
        data_kinds=["CN_MOBILE"],
        **{**ask, "org_id": people.org["police"].id},
    )
    assert not other_org.valid


def test_withdrawal_is_a_new_record_with_the_15_day_follow_up(session, people, pi) -> None:
    rec = give(session, people, pi)
    w = consent.withdraw(session, rec.id, on=date(2026, 4, 1), actor=people.clerk_county)
    assert w.id != rec.id and w.withdraws_id == rec.id and w.deletion_due == date(2026, 4, 16)
    assert consent.withdraw(session, rec.id, on=date(2026, 4, 2), actor=people.admin).id == w.id
    answer = consent.check(
        session,
        org_id=people.org["civil"].id,
        person=rec.person_hash,
        purpose=PURPOSE,
        method=METHOD,
        data_kinds=["PERSON_NAME"],
        on=date(2026, 4, 2),
    )
    assert not answer.valid and "撤回" in answer.reasons[0] and "2026-04-16" in answer.reasons[0]
    assert [
        r.id for r in consent.withdrawals_due(session, people.org["civil"].id, date(2026, 4, 16))
    ] == [w.id]
    assert entries(session)[0].action == "consent.withdrawn"


def test_records_cannot_be_edited(session, people, pi) -> None:
    rec = give(session, people, pi)
    rec.purpose = "改写"
    with pytest.raises(Conflict, match="不可修改"):
        session.flush()


def test_records_cannot_be_deleted_within_five_years(session, people, pi) -> None:
    rec = give(session, people, pi)
    session.delete(rec)
    with pytest.raises(Conflict, match="同意记录须至少保存 5 年"):
        session.flush()


def test_only_the_person_or_guardian_withdraws_on_the_platform(
    session, people, pi, citizen
) -> None:
    mine = give(session, people, pi)
    other = give(session, people, pi, id_number=pi.ids[0])
    assert (
        consent.withdraw_own(session, mine.id, user=citizen, on=date(2026, 5, 1)).withdraws_id
        == mine.id
    )
    with pytest.raises(NotThePerson):
        consent.withdraw_own(session, other.id, user=citizen, on=date(2026, 5, 1))
    assert (
        session.scalar(select(ConsentRecord.id).where(ConsentRecord.withdraws_id == other.id))
        is None
    )


def test_a_consent_to_operation_names_an_operator_and_survives_withdrawal(
    session, people, pi
) -> None:
    """OPR-3: the person's consent to providing to an operator for authorized operation."""
    from gongshu.accounts import service as accounts

    operator = accounts.add_organization(
        session, "某数据运营公司", kind="operator", region_code="360000"
    )
    with pytest.raises(BadConsent, match="授权运营机构"):
        give(session, people, pi, operator_org_id=people.org["police"].id)
    with pytest.raises(BadConsent, match="只能指明一个接收方"):
        give(session, people, pi, operator_org_id=operator.id, abroad_recipient_org_id=operator.id)
    rec = give(session, people, pi, operator_org_id=operator.id)
    assert rec.operator_org_id == operator.id
    (given,) = [e for e in entries(session) if e.action == "consent.given"]
    assert given.payload["operator"] == operator.id
    gone = consent.withdraw(session, rec.id, on=date(2026, 4, 1), actor=people.clerk_county)
    assert gone.operator_org_id == operator.id
