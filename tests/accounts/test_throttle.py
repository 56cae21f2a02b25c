"""Login throttled per address as well as per account; no stranger locks an account,
and no answer tells whether a username exists (issue 16 item 5)."""

from __future__ import annotations

import pytest

from gongshu.accounts import service
from gongshu.accounts.errors import AccountLocked, LoginFailed, LoginThrottled
from gongshu.accounts.throttle import LoginGuard

from ..conftest import PASSWORD  # noqa: TID252


def attempt(session, guard, username, password, address):  # noqa: ANN001, ANN201
    return service.authenticate(
        session,
        username,
        password,
        max_failed=3,
        lockout_minutes=15,
        address=address,
        guard=guard,
    )


def test_a_stranger_locks_only_their_own_address(session, people) -> None:  # noqa: ANN001
    guard = LoginGuard(max_failed=3, lockout_minutes=15)
    for _ in range(2):
        with pytest.raises(LoginFailed):
            attempt(session, guard, "auditor", "wrong", "203.0.113.9")
    with pytest.raises(AccountLocked) as stranger:
        attempt(session, guard, "auditor", "wrong", "203.0.113.9")
    with pytest.raises(AccountLocked):  # that address stays locked out, right password or not
        attempt(session, guard, "auditor", PASSWORD, "203.0.113.9")
    # The owner, elsewhere, signs in.
    assert attempt(session, guard, "auditor", PASSWORD, "198.51.100.7").username == "auditor"
    # An unknown username gives the same answers, message for message.
    for _ in range(2):
        with pytest.raises(LoginFailed):
            attempt(session, guard, "nobody-here", "wrong", "203.0.113.9")
    with pytest.raises(AccountLocked) as unknown:
        attempt(session, guard, "nobody-here", "wrong", "203.0.113.9")
    assert unknown.value.message == stranger.value.message


def test_many_addresses_together_lock_the_account(session, people) -> None:  # noqa: ANN001
    guard = LoginGuard(max_failed=3, lockout_minutes=15)
    for n in range(3):
        with pytest.raises(LoginFailed):
            attempt(session, guard, "auditor", "wrong", f"203.0.113.{n}")
    # Locked account-wide now; a wrong password still reads like any failure...
    with pytest.raises(LoginFailed, match="用户名或密码错误"):
        attempt(session, guard, "auditor", "wrong", "198.51.100.7")
    # ...and only the right password learns of the lock.
    with pytest.raises(AccountLocked, match="锁定"):
        attempt(session, guard, "auditor", PASSWORD, "198.51.100.8")


def test_one_address_guessing_across_accounts_is_throttled(session, people) -> None:  # noqa: ANN001
    guard = LoginGuard(max_failed=3, lockout_minutes=15, rate_per_minute=1, burst=4)
    for n in range(4):
        with pytest.raises(LoginFailed):
            attempt(session, guard, f"user{n}", "wrong", "203.0.113.9")
    with pytest.raises(LoginFailed):
        attempt(session, guard, "admin", "wrong", "203.0.113.9")  # the bucket is empty now
    with pytest.raises(LoginThrottled):
        attempt(session, guard, "admin", PASSWORD, "203.0.113.9")
    assert attempt(session, guard, "admin", PASSWORD, "198.51.100.7").username == "admin"


def test_the_login_page_says_the_same_for_unknown_and_known_users(client, people) -> None:  # noqa: ANN001
    known = client.post("/login", data={"username": "auditor", "password": "wrong"})
    unknown = client.post("/login", data={"username": "no-such-user", "password": "wrong"})
    assert known.status_code == unknown.status_code == 401
    message = 'class="error"'
    assert message in known.text
    pick = lambda t: t[t.index(message) :].split("</", 1)[0]  # noqa: E731
    assert pick(known.text) == pick(unknown.text)
