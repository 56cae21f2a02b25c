"""OPN-2: members of the public register verified against the resident register
(name, ID number and mobile matched through the door's verification service), never
on their word; the answer never tells whether an ID number or username has an account."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gongshu.accounts import service
from gongshu.accounts.errors import RegistrationRefused, UsernameTaken
from gongshu.accounts.identity import ChecksumVerifier, Unconfigured, set_verifier, verifier
from gongshu.accounts.models import User
from gongshu.catalog import service as catalog
from gongshu.datasets import service as datasets
from gongshu.egress.verify import (
    NO_MATCH,
    Checker,
    Limiter,
    Limits,
    RegisterUnavailable,
    RegisterVerifier,
    VerifyThrottled,
)
from gongshu.errors import Forbidden
from gongshu.identifiers import id_check_char
from gongshu.ledger import entries

TODAY = date(2026, 11, 22)
SECRET = "test-secret-key-not-for-production"  # the settings fixture's secret
REGISTER_CODE = "360000-GA-0001"  # the settings' default identity register


def rid(body17: str) -> str:
    return body17 + id_check_char(body17)


STRANGER = ("王芳", rid("36010219900307123"), "13812340001")
REAL = ("李娜", rid("36010219850512234"), "13912340002")
OTHER = ("刘洋", rid("36010219770203345"), "13712340003")
CHILD = ("陈小静", rid("36010220150101123"), "13612340004")


def datasets_dir(tmp_path: Path) -> Path:
    return tmp_path / "var" / "datasets"  # the settings fixture's


def load_register(  # noqa: ANN201
    session,  # noqa: ANN001
    people,  # noqa: ANN001
    tmp_path: Path,
    rows,  # noqa: ANN001
    *,
    load: bool = True,
    into: Path | None = None,
):
    """The resident register (the public-security entry): name, ID number, mobile,
    loaded into ``into`` (by default the settings fixture's datasets directory)."""
    entry = catalog.create(
        session,
        {
            "resource_code": REGISTER_CODE,
            "name": "户籍人口基本信息",
            "summary": "户籍人口",
            "fields": [
                {"name": "姓名"},
                {"name": "公民身份号码", "kind": "resident_id"},
                {"name": "手机号码"},
            ],
            "update_frequency": "每日",
            "security_grade": "一般数据-4级",
            "sharing_attr": "conditional",
            "sharing_conditions": "仅用于履行法定职责",
            "opening_attr": "none",
        },
        actor=people.clerk_prov,
    )
    catalog.submit(session, entry.id, actor=people.clerk_prov)
    catalog.approve(session, entry.id, actor=people.reviewer_prov)
    if load:
        csv = tmp_path / "register.csv"
        lines = ["姓名,公民身份号码,手机号码"] + [f"{n},{i},{m}" for n, i, m in rows]
        csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        datasets.load(
            session,
            entry.id,
            csv,
            actor=people.clerk_prov,
            datasets_dir=into or datasets_dir(tmp_path),
        )
    return entry


@pytest.fixture
def register(session, people, tmp_path):  # noqa: ANN001, ANN201
    return load_register(session, people, tmp_path, [STRANGER, REAL, OTHER, CHILD])


@pytest.fixture
def checker(tmp_path) -> Checker:  # noqa: ANN001
    return Checker(register_code=REGISTER_CODE, datasets_dir=datasets_dir(tmp_path), secret=SECRET)


def register_as(session, checker, username, person, *, mobile=None):  # noqa: ANN001, ANN201
    name, number, phone = person
    return service.register_public(
        session,
        username,
        "a-long-password",
        name=name,
        id_number=number,
        mobile=phone if mobile is None else mobile,
        secret=SECRET,
        verifier=RegisterVerifier(checker),
        today=TODAY,
    )


def checks(session) -> list:  # noqa: ANN001
    return entries(session, action_prefix="identity.checked")


def test_a_strangers_id_with_an_invented_name_is_refused_and_the_real_person_registers(
    session, people, register, checker
) -> None:
    """The audit's impersonation: a stranger's valid ID number, an invented name and the
    impostor's own mobile. Before, the checksum verifier accepted it, and the account
    received the stranger's household record and had it deleted."""
    name, number, _phone = STRANGER
    with pytest.raises(RegistrationRefused) as refused:
        register_as(session, checker, "impostor", ("赵虚构", number, "18900000000"))
    assert refused.value.message == NO_MATCH
    with pytest.raises(RegistrationRefused, match="未能通过户籍信息核验"):
        register_as(session, checker, "impostor", (name, number, "18900000000"))
    assert (
        session.scalar(select(func.count()).select_from(User).where(User.username == "impostor"))
        == 0
    )
    # Each check is in the ledger, the ID number only as its keyed hash.
    recorded = checks(session)
    assert [e.payload["result"] for e in recorded] == ["no_match", "no_match"]
    assert number not in json.dumps([e.payload for e in recorded], ensure_ascii=False)
    assert all(e.subject == f"entry:{register.id}" for e in recorded)

    # The real person, whose identity the impostor tried, registers without trouble.
    user = register_as(session, checker, "wangfang", STRANGER)
    assert user.roles == ["public"] and user.identity_method == "resident-register"
    assert user.identity_verified_at is not None and len(user.id_number_hash) == 64
    stored = session.get(User, user.id)
    assert number not in str([getattr(stored, c.key) for c in User.__table__.columns])
    assert checks(session)[0].payload["result"] == "match"


def test_the_right_name_and_number_with_another_mobile_are_refused(
    session, people, register, checker
) -> None:
    with pytest.raises(RegistrationRefused, match="未能通过户籍信息核验"):
        register_as(session, checker, "li", REAL, mobile=OTHER[2])
    with pytest.raises(RegistrationRefused, match="11 位") as bad:
        register_as(session, checker, "li", REAL, mobile="0791-123")
    assert bad.value.field == "mobile"
    assert register_as(session, checker, "li", REAL).username == "li"


@pytest.mark.parametrize(
    ("person", "field", "match"),
    [
        (
            (REAL[0], REAL[1][:17] + ("0" if REAL[1][17] != "0" else "1"), REAL[2]),
            "id_number",
            "居民身份证号码无效",
        ),
        (CHILD, "id_number", "十四周岁"),
        (("", REAL[1], REAL[2]), "name", "姓名"),
    ],
)
def test_bad_ids_children_and_empty_names_are_refused_beside_their_field(
    session, people, register, checker, person, field: str, match: str
) -> None:
    with pytest.raises(RegistrationRefused, match=match) as refused:
        register_as(session, checker, "x", person)
    assert refused.value.field == field
    assert checks(session) == []  # refused before the register is asked


def test_one_answer_for_a_taken_username_and_an_identity_with_an_account(
    session, people, register, checker
) -> None:
    register_as(session, checker, "lina", REAL)
    with pytest.raises(UsernameTaken) as by_username:
        register_as(session, checker, "lina", OTHER)  # a new person, a taken username
    with pytest.raises(UsernameTaken) as by_identity:
        register_as(session, checker, "lina2", REAL)  # a free username, a registered person
    assert by_username.value.message == by_identity.value.message
    assert by_username.value.status == by_identity.value.status == 409
    assert "用户名已被使用，或此身份已注册账户" in by_identity.value.message


def test_register_page_same_answer_whether_username_or_id_is_taken(
    client, session, people, register
) -> None:
    def post(username: str, person: tuple[str, str, str]):  # noqa: ANN202
        name, number, phone = person
        form = {"username": username, "password": "a-long-password"}
        form |= {"name": name, "id_number": number, "mobile": phone}
        return client.post("/register", data=form, follow_redirects=False)

    assert post("lina", REAL).status_code == 303
    by_username, by_identity = post("lina", OTHER), post("lina-2", REAL)
    assert by_username.status_code == by_identity.status_code == 409
    summary = 'id="error-summary">'
    assert (
        by_username.text.split(summary)[1].split("</div>")[0]
        == (by_identity.text.split(summary)[1].split("</div>")[0])
    )
    assert "<li>" in by_username.text.split(summary)[1].split("</div>")[0]


def test_register_page_shows_errors_beside_fields_and_registers_a_real_person(
    client, session, people, register
) -> None:
    name, number, phone = REAL
    form = {"username": "li", "password": "a-long-password", "name": name, "mobile": phone}
    r = client.post("/register", data=form | {"id_number": "123"})
    assert r.status_code == 400 and 'id="id_number-error"' in r.text
    assert "居民身份证号码无效" in r.text
    assert "李娜" in r.text  # what was typed stays
    r = client.post("/register", data=form | {"id_number": number, "name": "李四"})
    assert r.status_code == 400 and "未能通过户籍信息核验" in r.text
    assert checks(session)[0].payload["result"] == "no_match"  # the refused check is kept
    r = client.post("/register", data=form | {"id_number": number}, follow_redirects=False)
    assert r.status_code == 303 and "registered=1" in r.headers["location"]
    assert "注册成功" in client.get(r.headers["location"]).text
    assert session.scalar(select(User).where(User.username == "li")).identity_method == (
        "resident-register"
    )


def test_no_loaded_register_fails_closed_with_a_clear_message(
    session, people, tmp_path, checker
) -> None:
    with pytest.raises(RegisterUnavailable, match="没有户籍人口登记库"):
        register_as(session, checker, "li", REAL)
    load_register(session, people, tmp_path, [], load=False)
    with pytest.raises(RegisterUnavailable, match="尚未载入数据") as closed:
        register_as(session, checker, "li", REAL)
    assert closed.value.status == 503
    assert session.scalar(select(func.count()).select_from(User).where(User.username == "li")) == 0


def test_checks_of_one_number_are_rate_limited(session, people, register, tmp_path) -> None:
    limited = Checker(
        register_code=REGISTER_CODE,
        datasets_dir=datasets_dir(tmp_path),
        secret=SECRET,
        limiter=Limiter(Limits(per_person=3, per_caller=100)),
    )
    for guess in ("13800000001", "13800000002", "13800000003"):
        with pytest.raises(RegistrationRefused):
            register_as(session, limited, "li", REAL, mobile=guess)
    with pytest.raises(VerifyThrottled, match="次数过多"):
        register_as(session, limited, "li", REAL)  # even the right values: wait an hour


def test_without_a_verifier_registration_is_refused(session, people) -> None:
    assert isinstance(verifier(), Unconfigured)
    with pytest.raises(RegistrationRefused, match="未接入实名核验服务"):
        service.register_public(
            session,
            "li",
            "a-long-password",
            name=REAL[0],
            id_number=REAL[1],
            mobile=REAL[2],
            secret=SECRET,
            verifier=verifier(),
            today=TODAY,
        )
    set_verifier(ChecksumVerifier())  # a deployment's plug (here: the test-only checksum)
    try:
        assert isinstance(verifier(Unconfigured()), ChecksumVerifier)
    finally:
        set_verifier(None)


def test_unverified_public_accounts_cannot_take_open_data(session, people) -> None:
    unverified = service.create_user(session, "anon", "a-long-password", roles=["public"])
    with pytest.raises(Forbidden, match="实名认证"):
        service.require_verified(unverified)
    service.require_verified(people.citizen)  # verified in the fixture
    service.require_verified(people.clerk_county)  # agencies are not members of the public


def test_a_checksum_only_account_verifies_again_before_it_reads_open_data(
    client, login, session, people, register
) -> None:
    """Accounts the old default verified by the checksum alone (the audit's impostor
    among them) verified nobody: they verify against the register first."""
    from gongshu.accounts.service import identity_proven
    from gongshu.privacy.person import person_hash

    legacy = people.citizen
    legacy.identity_method = "gb11643-checksum"
    legacy.id_number_hash = person_hash(STRANGER[1], SECRET)
    session.flush()
    assert not identity_proven(legacy)
    with pytest.raises(Forbidden, match="实名认证"):
        service.require_verified(legacy)

    login("citizen")
    page = client.get("/account/verify")
    assert page.status_code == 200 and 'id="not-proven"' in page.text
    name, number, phone = STRANGER
    # The impostor holds the stranger's number but not their name and phone.
    r = client.post(
        "/account/verify", data={"name": "赵虚构", "id_number": number, "mobile": "18900000000"}
    )
    assert r.status_code == 400 and "未能通过户籍信息核验" in r.text
    # Nor may the account take on another person's identity, even a real one.
    r = client.post(
        "/account/verify", data={"name": REAL[0], "id_number": REAL[1], "mobile": REAL[2]}
    )
    assert r.status_code == 400 and 'id="id_number-error"' in r.text and "不一致" in r.text
    assert not identity_proven(legacy)
    # The real holder of the number proves it.
    r = client.post(
        "/account/verify",
        data={"name": name, "id_number": number, "mobile": phone},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'id="proven"' in client.get(r.headers["location"]).text
    session.refresh(legacy)
    assert legacy.identity_method == "resident-register" and identity_proven(legacy)
    service.require_verified(legacy)
