"""SEC-3: passwords (argon2), lockout after repeated failures, hashed expiring tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gongshu.accounts import service
from gongshu.accounts.errors import AccountLocked, LoginFailed, UnknownRole, WeakPassword
from gongshu.accounts.models import AuthToken
from gongshu.errors import InvalidInput

from ..conftest import PASSWORD  # noqa: TID252


def test_lockout_after_repeated_failures(session, people) -> None:
    for _ in range(2):
        with pytest.raises(LoginFailed, match="用户名或密码错误"):
            service.authenticate(session, "auditor", "wrong", max_failed=3, lockout_minutes=15)
    with pytest.raises(AccountLocked, match="连续登录失败 3 次"):
        service.authenticate(session, "auditor", "wrong", max_failed=3, lockout_minutes=15)
    with pytest.raises(AccountLocked, match="锁定"):
        service.authenticate(session, "auditor", PASSWORD, max_failed=3, lockout_minutes=15)
    # Another user is not affected, and success resets the counter.
    assert (
        service.authenticate(session, "admin", PASSWORD, max_failed=3, lockout_minutes=15).username
        == "admin"
    )


def test_tokens_are_stored_hashed_and_expire(session, people) -> None:
    plaintext, token = service.issue_token(
        session, people.admin, kind="api", ttl=timedelta(days=1), name="同步"
    )
    assert plaintext.startswith("gs_") and plaintext not in token.token_hash
    stored = session.get(AuthToken, token.id)
    assert plaintext not in (stored.token_hash, stored.prefix)
    assert service.resolve_token(session, plaintext, kind="api") == people.admin
    assert service.resolve_token(session, plaintext, kind="session") is None
    expired, _ = service.issue_token(session, people.admin, kind="api", ttl=timedelta(seconds=-1))
    assert service.resolve_token(session, expired) is None


def test_bad_accounts_are_refused(session, people) -> None:
    with pytest.raises(WeakPassword):
        service.create_user(session, "x", "short", roles=["public"])
    with pytest.raises(UnknownRole, match="superuser"):
        service.create_user(session, "x", PASSWORD, roles=["superuser"])
    with pytest.raises(InvalidInput, match="行政区划代码无效"):
        service.add_region(session, "369999", "不存在")
