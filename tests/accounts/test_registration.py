"""OPN-2: members of the public register with real-name verification before reading open data."""

from __future__ import annotations

from datetime import date

import pytest

from gongshu.accounts import service
from gongshu.accounts.errors import UsernameTaken
from gongshu.accounts.models import User
from gongshu.errors import Forbidden, InvalidInput
from gongshu.identifiers import id_check_char

TODAY = date(2026, 11, 22)


def rid(body17: str) -> str:
    return body17 + id_check_char(body17)


ADULT = rid("36010219900307123")
CHILD = rid("36010220150101123")


def test_register_keeps_only_a_keyed_hash_and_one_account_per_person(session, people) -> None:
    user = service.register_public(
        session, "wang", "a-long-password", name="王小明", id_number=ADULT, secret="s", today=TODAY
    )
    assert user.roles == ["public"] and user.identity_method == "gb11643-checksum"
    assert ADULT not in (user.id_number_hash or "") and len(user.id_number_hash) == 64
    stored = session.get(User, user.id)
    assert ADULT not in str([getattr(stored, c.key) for c in User.__table__.columns])
    with pytest.raises(UsernameTaken, match="already registered"):
        service.register_public(
            session,
            "wang2",
            "a-long-password",
            name="王小明",
            id_number=ADULT.lower(),
            secret="s",
            today=TODAY,
        )


@pytest.mark.parametrize(
    ("number", "match"),
    [
        (ADULT[:17] + ("0" if ADULT[17] != "0" else "1"), "GB 11643"),
        (CHILD, "十四周岁"),
    ],
)
def test_bad_ids_and_children_are_refused(session, people, number: str, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        service.register_public(
            session, "x", "a-long-password", name="某", id_number=number, secret="s", today=TODAY
        )


def test_unverified_public_accounts_cannot_take_open_data(session, people) -> None:
    unverified = service.create_user(session, "anon", "a-long-password", roles=["public"])
    with pytest.raises(Forbidden, match="实名认证"):
        service.require_verified(unverified)
    service.require_verified(people.citizen)  # verified in the fixture
    service.require_verified(people.clerk_county)  # agencies are not members of the public


def test_register_page(client, people) -> None:
    r = client.post(
        "/register",
        data={"username": "li", "password": "a-long-password", "name": "李四", "id_number": "123"},
    )
    assert r.status_code == 400 and "GB 11643" in r.text and "李四" in r.text
    r = client.post(
        "/register",
        data={"username": "li", "password": "a-long-password", "name": "李四", "id_number": ADULT},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "registered=1" in r.headers["location"]
    assert "注册成功" in client.get(r.headers["location"]).text
