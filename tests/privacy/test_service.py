"""Rights requests (PIP-5, PIP-6): finding, handling, tombstones, the door, the clock."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gongshu.egress import service as egress
from gongshu.errors import InvalidInput
from gongshu.ledger import entries
from gongshu.privacy import clock, service
from gongshu.privacy.errors import AlreadyHandled, NotHandler, NotThePerson
from gongshu.privacy.models import Tombstone
from gongshu.timeutil import BEIJING
from tests.privacy.conftest import code_for


def at(y, m, d, h=10):  # noqa: ANN001, ANN201
    return dt.datetime(y, m, d, h, tzinfo=BEIJING)


def file(session, citizen, pi, kind="delete", **kw):  # noqa: ANN001, ANN003, ANN201
    return service.file_request(
        session,
        user=citizen,
        code=code_for(session, citizen),
        kind=kind,
        id_number=pi.me,
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
        **kw,
    )


def read(session, grant, user, pi) -> list[dict]:  # noqa: ANN001
    out = egress.deliver(
        session,
        grant.id,
        actor=user,
        fmt="json",
        datasets_dir=pi.datasets_dir,
        work_dir=pi.work_dir,
        secret=pi.secret,
    )
    doc = json.loads(out.read_text(encoding="utf-8"))
    out.discard()
    return [dict(zip(doc["columns"], row, strict=True)) for row in doc["rows"]]


@pytest.mark.parametrize(
    ("received", "last_day", "why"),
    [
        # CLK-1: counting starts the next day. 2026-03-02 (Mon) + 15 working days.
        (at(2026, 3, 2), dt.date(2026, 3, 23), "ordinary weeks"),
        # Spring Festival 2026: 15-23 Feb off, 14 and 28 Feb working Saturdays.
        (at(2026, 2, 10), dt.date(2026, 3, 9), "crosses the Spring Festival"),
        # National Day 2026: 1-7 Oct off, Saturday 10 Oct a working day.
        (at(2026, 9, 28), dt.date(2026, 10, 23), "crosses National Day"),
        # Received on a Sunday evening: still counts from Monday.
        (at(2026, 3, 1, 21), dt.date(2026, 3, 20), "received on a rest day"),
    ],
)
def test_deadline_is_15_working_days_from_the_next_day(
    session,
    citizen,
    entries,
    pi,
    received,
    last_day,
    why,  # noqa: ANN001
) -> None:
    req = file(session, citizen, pi, kind="access", now=received)
    assert clock.last_day(req) == last_day, why
    assert req.deadline_warning is None


def test_spring_festival_deadline_skips_the_holiday_week(session, citizen, entries, pi) -> None:
    req = file(session, citizen, pi, kind="access", now=at(2026, 2, 10))
    # 11-13 Feb (3), 14 Feb working Saturday (4), 24-27 Feb (8), 28 Feb Saturday (9),
    # 2-6 Mar (14), 9 Mar (15): without the holiday it would have been 3 Mar.
    assert clock.last_day(req) == dt.date(2026, 3, 9)


def test_a_request_on_2026_12_28_has_no_deadline_and_a_warning(
    session, citizen, entries, pi
) -> None:
    req = file(session, citizen, pi, kind="access", now=at(2026, 12, 28))
    assert (
        req.deadline is None
        and "2027" in req.deadline_warning
        and "节假日安排尚未录入" in req.deadline_warning
    )
    assert clock.on_time(req) is None
    assert entries and clock.overdue(session, now=at(2027, 6, 1)) == []


def test_finds_the_person_in_every_entry_without_exposing_others(
    session, citizen, entries, pi
) -> None:
    county, police = entries
    req = file(session, citizen, pi, kind="access", now=at(2026, 3, 2))
    found = {m.entry_id: m for m in service.matches(session, req)}
    assert set(found) == {county.id, police.id}
    assert found[county.id].rows == 1 and found[county.id].columns == ["公民身份号码"]
    filed = entries_payload = next(e for e in entries_list(session) if e.action == "rights.filed")
    assert pi.me not in json.dumps(filed.payload, ensure_ascii=False) and entries_payload
    assert pi.me not in (req.lookup_enc or "")


def entries_list(session):  # noqa: ANN001, ANN201
    return entries(session, limit=1000)


def test_mobile_counts_only_in_entries_without_an_id_column(
    session, people, citizen, entries, mobile_entry, pi
) -> None:
    county, police = entries
    # Someone else's mobile: in entries with an ID column only the ID decides.
    other = pi.ids[0]
    mobile_of_other = "13812340000"
    assert other and mobile_of_other != pi.my_mobile
    req = file(session, citizen, pi, kind="delete", mobile=mobile_of_other, now=at(2026, 3, 2))
    found = {m.entry_id: m for m in service.matches(session, req)}
    assert set(found) == {county.id, police.id, mobile_entry.id}
    assert found[county.id].columns == ["公民身份号码"] and found[county.id].rows == 1
    assert found[mobile_entry.id].columns == ["联系电话"]
    # A mobile-only match is not executed until the provider confirms the number.
    kw = {"secret": pi.secret, "datasets_dir": pi.datasets_dir}
    with pytest.raises(InvalidInput, match="手机号码未经核验"):
        service.handle(
            session, found[mobile_entry.id].id, actor=people.clerk_county, action="delete", **kw
        )
    assert session.query(Tombstone).count() == 0
    service.handle(
        session,
        found[mobile_entry.id].id,
        actor=people.clerk_county,
        action="refuse",
        note="号码经回拨核实不属于申请人",
        **kw,
    )
    # The ID-matched row of the county entry is the person's own row, not the other's.
    service.handle(session, found[county.id].id, actor=people.clerk_county, action="delete", **kw)
    stone = session.query(Tombstone).one()
    assert stone.row_numbers == [3]  # the citizen's row; row 0 (the mobile's owner) stays


def test_confirmed_mobile_match_is_executed(session, people, citizen, mobile_entry, pi) -> None:
    req = file(session, citizen, pi, kind="delete", mobile=pi.my_mobile, now=at(2026, 3, 2))
    (m,) = service.matches(session, req)
    service.handle(
        session,
        m.id,
        actor=people.clerk_county,
        action="delete",
        mobile_confirmed=True,
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
    )
    assert session.query(Tombstone).one().row_numbers == [3] and req.status == "answered"


def test_only_the_verified_person_may_ask(session, people, citizen, entries, pi) -> None:
    with pytest.raises(NotThePerson, match="不一致"):
        service.file_request(
            session,
            user=citizen,
            code=code_for(session, citizen),
            kind="access",
            id_number=pi.ids[0],
            secret=pi.secret,
            datasets_dir=pi.datasets_dir,
        )
    people.citizen.identity_verified_at = None
    with pytest.raises(NotThePerson, match="实名认证"):
        file(session, citizen, pi)


def test_deletion_writes_a_new_version_tombstones_and_old_grants_stop_serving_the_rows(
    session, people, citizen, entries, pi
) -> None:
    county, police = entries
    from gongshu.storage import versions_of

    v1 = versions_of(session, county.id)[0]
    pinned = egress.create_grant(
        session,
        county,
        recipient_org_id=people.org["police"].id,
        purpose="核查",
        source="sharing",
        actor=people.admin,
        dataset_version_id=v1.id,
    )
    before = read(session, pinned, people.clerk_prov, pi)
    assert pi.me in {r["公民身份号码"] for r in before} and len(before) == 20

    req = file(session, citizen, pi, now=at(2026, 3, 2))
    m_county, m_police = service.matches(session, req)
    with pytest.raises(NotHandler):
        service.handle(
            session,
            m_county.id,
            actor=people.clerk_prov,
            action="delete",
            secret=pi.secret,
            datasets_dir=pi.datasets_dir,
        )
    with pytest.raises(InvalidInput, match="请求不能以此方式办理"):
        service.handle(
            session,
            m_county.id,
            actor=people.clerk_county,
            action="export",
            secret=pi.secret,
            datasets_dir=pi.datasets_dir,
        )
    service.handle(
        session,
        m_county.id,
        actor=people.clerk_county,
        action="delete",
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
        now=at(2026, 3, 5),
    )
    assert req.status == "open"  # the police has not answered yet
    stone = session.query(Tombstone).one()
    assert (stone.entry_id, stone.old_version_id, stone.row_numbers) == (county.id, v1.id, [3])
    assert stone.person_hash == citizen.id_number_hash

    after = read(session, pinned, people.clerk_prov, pi)
    assert len(after) == 19 and pi.me not in {r["公民身份号码"] for r in after}
    assert {r["公民身份号码"] for r in after} == set(pi.ids) - {pi.me}

    service.handle(
        session,
        m_police.id,
        actor=people.clerk_prov,
        action="refuse",
        note="户籍信息依《户口登记条例》须保存，停止除存储外的处理（PIA-A 第十七条）",
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
        now=at(2026, 3, 6),
    )
    assert req.status == "answered" and clock.on_time(req) is True
    assert req.answer == "低保对象名单：已删除；户籍人口信息：不予办理（已说明依据）"
    assert req.lookup_enc is None  # the ID number is erased when the request closes
    with pytest.raises(AlreadyHandled):
        service.handle(
            session,
            m_police.id,
            actor=people.clerk_prov,
            action="refuse",
            note="x",
            secret=pi.secret,
            datasets_dir=pi.datasets_dir,
        )
    actions = [e.action for e in entries_list(session)]
    assert {
        "rights.filed",
        "privacy.rows_deleted",
        "rights.handled",
        "rights.answered",
        "dataset.derived",
    } <= set(actions)


def test_access_exports_only_the_persons_rows_through_the_door(
    session, people, citizen, entries, pi
) -> None:
    req = file(session, citizen, pi, kind="copy", now=at(2026, 3, 2))
    m = service.matches(session, req)[0]
    service.handle(
        session,
        m.id,
        actor=people.clerk_county,
        action="export",
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
    )
    grant = egress.get_grant(session, m.grant_id)
    assert grant.source == "rights" and grant.recipient_user_id == citizen.id
    rows = read(session, grant, citizen, pi)
    assert [r["公民身份号码"] for r in rows] == [pi.me]
    # The grant names the person's rows by position in a pinned version: neither the
    # grant nor its ledger entry holds the ID number in the clear.
    assert grant.dataset_version_id is not None and grant.row_filter[0]["op"] == "rows"
    assert pi.me not in json.dumps(grant.row_filter)
    created = [e for e in entries_list(session) if e.subject == f"grant:{grant.id}"]
    assert created and all(pi.me not in json.dumps(e.payload, ensure_ascii=False) for e in created)


def test_correction_changes_only_the_persons_row(session, people, citizen, entries, pi) -> None:
    county, _ = entries
    req = file(
        session, citizen, pi, kind="correct", corrections={"街道": "青山湖街道"}, now=at(2026, 3, 2)
    )
    m = next(x for x in service.matches(session, req) if x.entry_id == county.id)
    service.handle(
        session,
        m.id,
        actor=people.clerk_county,
        action="correct",
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
    )
    grant = egress.create_grant(
        session,
        county,
        recipient_org_id=people.org["police"].id,
        purpose="核查",
        source="sharing",
        actor=people.admin,
    )
    rows = {r["公民身份号码"]: r["街道"] for r in read(session, grant, people.clerk_prov, pi)}
    assert rows[pi.me] == "青山湖街道" and list(rows.values()).count("青山湖街道") == 1
    assert len(rows) == 20
    mine = read(session, egress.get_grant(session, m.grant_id), citizen, pi)
    assert [r["街道"] for r in mine] == ["青山湖街道"]


def test_nothing_found_is_answered_at_once(session, people, pi, entries) -> None:
    from gongshu.privacy.person import person_hash

    people.citizen.id_number_hash = person_hash(pi.child, pi.secret)
    req = service.file_request(
        session,
        user=people.citizen,
        code=code_for(session, people.citizen),
        kind="access",
        id_number=pi.child,
        secret=pi.secret,
        datasets_dir=pi.datasets_dir,
        now=at(2026, 3, 2),
    )
    assert req.status == "answered" and "未在平台" in req.answer


def test_overdue_requests_show_to_the_authority(session, people, citizen, entries, pi) -> None:
    req = file(session, citizen, pi, kind="access", now=at(2026, 3, 2))
    assert clock.overdue(session, now=at(2026, 3, 23, 23)) == []
    assert clock.overdue(session, now=at(2026, 3, 24, 1)) == [req]
    assert service.can_view(session, req, people.reviewer_city)
    assert not service.can_view(session, req, people.auditor)
    # Another city's data authority supervises only its own providers (GOV-2).
    from gongshu.accounts import service as accounts

    accounts.add_region(session, "360200", "景德镇市", parent="360000")
    other = accounts.create_user(
        session,
        "reviewer_jdz",
        "reviewer-pass-123",
        org=accounts.add_organization(
            session, "景德镇市数据局", kind="data_authority", region_code="360200"
        ),
        roles=["reviewer"],
    )
    assert not service.can_view(session, req, other)
    assert clock.overdue(session, now=at(2026, 3, 24, 1), area="3602") == []
    assert clock.overdue(session, now=at(2026, 3, 24, 1), area="3601") == [req]


def test_deadline_is_filled_in_once_2027_is_entered(session, people, citizen, entries, pi) -> None:
    from gongshu.workdays import enter_year

    req = file(session, citizen, pi, kind="access", now=at(2026, 12, 28))
    assert req.deadline is None
    enter_year(
        session,
        2027,
        [(dt.date(2027, 1, 1), "holiday", "元旦")],
        actor=people.admin.actor,
        source="国办发明电〔2026〕测试",
    )
    assert clock.refresh_deadlines(session) == [req]
    # 29-31 Dec (3); 4-8 Jan (8); 11-15 Jan (13); 18, 19 Jan (15).
    assert clock.last_day(req) == dt.date(2027, 1, 19) and req.deadline_warning is None
    assert clock.overdue(session, now=at(2027, 1, 20, 1)) == [req]
