"""The audit's impersonation, now failing closed (issue 16 item 2): an account
registered with a stranger's valid ID number and an invented name received that
stranger's household-registration record and had it deleted. Registration now
matches name, number and mobile against the register, and a rights request needs
the code sent to the mobile on record."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from gongshu.accounts.models import OneTimeCode, User
from gongshu.accounts.notify import outbox
from gongshu.egress.verify import Checker
from gongshu.ledger import entries as ledger
from gongshu.privacy import service
from gongshu.privacy.errors import NoMobileOnRecord, NotThePerson
from gongshu.privacy.models import RightsRequest, Tombstone
from tests.privacy.conftest import IDS, MOBILES, NAMES, REGISTER_CODE, SECRET


def masked(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


@pytest.fixture
def checker(pi) -> Checker:  # noqa: ANN001
    return Checker(register_code=REGISTER_CODE, datasets_dir=pi.datasets_dir, secret=SECRET)


def count(session, model) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(model))


def test_the_impostor_is_refused_and_the_stranger_keeps_their_record(
    client, login, session, people, citizen, entries, pi, checker
) -> None:
    _county, police = entries
    stranger = IDS[5]  # in the police's register, with MOBILES[5] on record
    form = {"username": "impostor", "password": "a-long-password", "id_number": stranger}
    r = client.post("/register", data=form | {"name": "赵虚构", "mobile": "18900000000"})
    assert r.status_code == 400 and "未能通过户籍信息核验" in r.text
    r = client.post("/register", data=form | {"name": NAMES[5], "mobile": "18900000000"})
    assert r.status_code == 400 and "未能通过户籍信息核验" in r.text
    assert session.scalar(select(User).where(User.username == "impostor")) is None

    # An account that already holds someone's hash (verified before this check existed:
    # the fixture's citizen holds ME's) gets nowhere without that person's phone.
    login("citizen")
    page = client.post("/privacy/requests/code", data={"id_number": pi.me})
    assert f"验证码已发送至 {masked(pi.my_mobile)}" in page.text
    assert outbox(session, limit=1)[0].recipient == pi.my_mobile  # the person's own phone
    before = len(ledger(session, action_prefix="rights."))
    for guess in ("000000", "123456", "111111", "999999", "654321"):
        r = client.post(
            "/privacy/requests", data={"kind": "delete", "id_number": pi.me, "code": guess}
        )
        assert r.status_code == 400 and 'id="code-error"' in r.text
    assert count(session, RightsRequest) == 0 and count(session, Tombstone) == 0
    assert len(ledger(session, action_prefix="rights.")) == before
    assert session.scalar(select(OneTimeCode.attempts)) == 5  # kept although refused

    # The stranger registers with their own name, number and phone.
    client.cookies.clear()
    r = client.post(
        "/register",
        data=form | {"username": "wangfang", "name": NAMES[5], "mobile": MOBILES[5]},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_a_wrong_or_used_code_files_nothing_and_the_right_one_files(
    client, login, session, people, citizen, entries, pi
) -> None:
    login("citizen")
    client.post("/privacy/requests/code", data={"id_number": pi.me})
    code = re.search(r"\d{6}", outbox(session, limit=1)[0].text).group(0)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    form = {"kind": "access", "id_number": pi.me, "details": "请告知"}
    r = client.post("/privacy/requests", data=form | {"code": wrong})
    assert r.status_code == 400 and "验证码错误，还可尝试 4 次" in r.text
    assert "请告知" in r.text  # what was typed stays
    assert count(session, RightsRequest) == 0
    r = client.post("/privacy/requests", data=form | {"code": code}, follow_redirects=False)
    assert r.status_code == 303 and count(session, RightsRequest) == 1
    r = client.post("/privacy/requests", data=form | {"code": code})
    assert r.status_code == 400 and "已使用" in r.text and count(session, RightsRequest) == 1


def test_someone_else_s_number_gets_no_code(session, people, citizen, entries, pi, checker) -> None:
    with pytest.raises(NotThePerson, match="不一致"):
        service.request_code(
            session, user=citizen, id_number=IDS[5], checker=checker, secret=SECRET
        )
    assert count(session, OneTimeCode) == 0


def test_no_mobile_on_record_fails_closed(session, people, entries, pi, checker) -> None:
    from gongshu.privacy.person import person_hash

    absent = IDS[15]  # on the county's list, not in the register
    people.citizen.id_number_hash = person_hash(absent, SECRET)
    with pytest.raises(NoMobileOnRecord, match="没有您唯一的手机号码") as refused:
        service.request_code(
            session, user=people.citizen, id_number=absent, checker=checker, secret=SECRET
        )
    assert refused.value.commit_anyway and count(session, OneTimeCode) == 0
    looked_up = ledger(session, action_prefix="identity.contact_looked_up")[0]
    assert looked_up.payload["found"] is False and absent not in str(looked_up.payload)


def test_the_code_form_shows_its_refusal_beside_the_id_field(
    client, login, session, people, citizen, entries, pi
) -> None:
    login("citizen")
    r = client.post("/privacy/requests/code", data={"id_number": IDS[5]})
    assert r.status_code == 403 and 'id="id_number-error"' in r.text and "不一致" in r.text
    assert count(session, OneTimeCode) == 0 and MOBILES[5] not in r.text
