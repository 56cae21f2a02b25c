"""Password recovery (issue 17 item 7; accounts/recovery.py, here for the register
fixtures of tests/privacy/conftest.py): a code to the register's mobile through the
notifier, the same answer for any username, then the code and a new password; wrong,
expired and used codes refused; every session ends."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from gongshu.accounts.models import OneTimeCode
from gongshu.accounts.notify import outbox
from gongshu.accounts.recovery import SENT_MESSAGE
from gongshu.ledger import entries as ledger
from gongshu.timeutil import utcnow
from tests.conftest import PASSWORD

NEW = "a-new-password-7"


def _ask(client, username: str, id_number: str):  # noqa: ANN001, ANN202
    return client.post("/account/recover/code", data={"username": username, "id_number": id_number})


def _reset(client, code: str, password: str = NEW, again: str | None = None):  # noqa: ANN001, ANN202
    return client.post(
        "/account/recover",
        data={
            "username": "citizen",
            "code": code,
            "password": password,
            "password_again": password if again is None else again,
        },
        follow_redirects=False,
    )


def _code(session) -> str:  # noqa: ANN001
    return re.search(r"\d{6}", outbox(session, limit=1)[0].text).group(0)


def test_a_code_to_the_register_mobile_then_a_new_password(
    client,
    login,
    session,
    citizen,
    entries,
    pi,
) -> None:
    login("citizen")
    old_session = dict(client.cookies)
    client.cookies.clear()
    assert "忘记密码" in client.get("/login").text
    before = len(outbox(session))
    page = _ask(client, "citizen", pi.me)
    assert page.status_code == 200 and SENT_MESSAGE in page.text
    sms = outbox(session, limit=1)[0]
    assert len(outbox(session)) == before + 1
    assert sms.recipient == pi.my_mobile and sms.purpose == "recover" and "找回密码" in sms.text
    assert pi.my_mobile not in page.text
    code = _code(session)

    # Field errors beside the field, the username kept, nothing used up.
    bad = _reset(client, code, again="something-else")
    assert bad.status_code == 400 and 'id="password_again-error"' in bad.text
    assert 'value="citizen"' in bad.text and "error-summary" in bad.text
    wrong = _reset(client, f"{(int(code) + 1) % 10**6:06d}")
    assert (
        wrong.status_code == 400 and "验证码错误" in wrong.text and 'id="code-error"' in wrong.text
    )
    assert "too short" not in _reset(client, code, password="short").text
    assert 'id="password-error"' in _reset(client, code, password="short").text

    done = _reset(client, code)
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
    assert "密码已重设" in client.get("/login?reset=1").text
    # The old session no longer works; the old password neither; the new one does.
    client.cookies.update(old_session)
    assert client.get("/me", follow_redirects=False).status_code in (303, 401)
    client.cookies.clear()
    r = client.post("/login", data={"username": "citizen", "password": PASSWORD})
    assert r.status_code == 401
    login("citizen", NEW)
    # The code is used once.
    client.cookies.clear()
    again = _reset(client, code, password="yet-another-9")
    assert again.status_code == 400 and "已使用" in again.text
    actions = [e.action for e in ledger(session, action_prefix="user.", limit=10)]
    assert "user.password_reset" in actions and "user.recovery_requested" in actions


def test_the_same_answer_whoever_asks_and_expired_codes_refused(
    client,
    session,
    citizen,
    entries,
    pi,
) -> None:
    sent = _ask(client, "citizen", pi.ids[0])  # someone else's ID number
    nobody = _ask(client, "no-such-user", pi.me)
    staff = _ask(client, "clerk_county", pi.me)
    for page in (sent, nobody, staff):
        assert page.status_code == 200 and SENT_MESSAGE in page.text
    assert not [m for m in outbox(session) if m.purpose == "recover"]
    # A stranger's reset is refused like a wrong code.
    r = client.post(
        "/account/recover",
        data={"username": "no-such-user", "code": "123456", "password": NEW, "password_again": NEW},
    )
    assert r.status_code == 400 and "验证码" in r.text

    _ask(client, "citizen", pi.me)
    code = _code(session)
    session.execute(update(OneTimeCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = _reset(client, code)
    assert r.status_code == 400 and "已过期" in r.text


def test_code_requests_are_throttled_per_address(client, session, citizen, entries, pi) -> None:
    codes = [_ask(client, f"someone-{i}", pi.me).status_code for i in range(8)]
    assert codes[0] == 200 and 429 in codes
    assert "过于频繁" in _ask(client, "citizen", pi.me).text
