"""One-time codes (PIP-5): six digits sent through the notifier, kept only hashed,
expiring, few attempts, used once; the outbox is the administrator's to read."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from gongshu.accounts import otp
from gongshu.accounts.models import OneTimeCode, OutboxMessage
from gongshu.accounts.notify import OutboxNotifier, notifier, outbox, set_notifier
from gongshu.timeutil import utcnow

SECRET = "test-secret-key-not-for-production"
MOBILE = "13812345678"


def send(session, user) -> tuple[OneTimeCode, str]:  # noqa: ANN001
    row = otp.issue(
        session, user, purpose="rights", mobile=MOBILE, notifier=OutboxNotifier(), secret=SECRET
    )
    return row, re.search(r"\d{6}", outbox(session, limit=1)[0].text).group(0)


def redeem(session, user, code: str) -> OneTimeCode:  # noqa: ANN001
    return otp.redeem(session, user, code, purpose="rights", secret=SECRET)


def test_the_code_is_sent_to_the_outbox_and_kept_only_hashed(session, people) -> None:
    row, code = send(session, people.citizen)
    sms = outbox(session, limit=1)[0]
    assert sms.recipient == MOBILE and sms.purpose == "rights" and "10 分钟内有效" in sms.text
    assert row.sent_to == "138****5678"
    assert code not in str([getattr(row, c.key) for c in OneTimeCode.__table__.columns])
    assert len(row.code_hash) == 64
    assert redeem(session, people.citizen, code).used_at is not None


def test_a_wrong_code_counts_and_five_wrong_codes_end_it(session, people) -> None:
    _row, code = send(session, people.citizen)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    with pytest.raises(otp.CodeRefused, match="还可尝试 4 次") as refused:
        redeem(session, people.citizen, wrong)
    assert refused.value.commit_anyway  # the attempt outlives the failed request
    for _ in range(4):
        with pytest.raises(otp.CodeRefused):
            redeem(session, people.citizen, wrong)
    with pytest.raises(otp.CodeRefused, match="已输错 5 次"):
        redeem(session, people.citizen, code)  # even the right code, now


def test_an_expired_code_is_refused(session, people) -> None:
    row, code = send(session, people.citizen)
    session.execute(update(OneTimeCode).where(OneTimeCode.id == row.id).values(expires_at=utcnow()))
    with pytest.raises(otp.CodeRefused, match="已过期"):
        redeem(session, people.citizen, code)


def test_a_code_is_used_once_and_a_new_one_replaces_the_old(session, people) -> None:
    row, code = send(session, people.citizen)
    redeem(session, people.citizen, code)
    with pytest.raises(otp.CodeRefused, match="已使用"):
        redeem(session, people.citizen, code)
    # A new code within a minute is refused (no flooding the person's phone) ...
    with pytest.raises(otp.CodeTooSoon):
        send(session, people.citizen)
    session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.id == row.id)
        .values(created_at=utcnow() - timedelta(minutes=2))
    )
    first, old = send(session, people.citizen)
    session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.id == first.id)
        .values(created_at=utcnow() - timedelta(minutes=2))
    )
    _second, new = send(session, people.citizen)
    if old != new:
        with pytest.raises(otp.CodeRefused):
            redeem(session, people.citizen, old)  # only the newest code counts
    redeem(session, people.citizen, new)


def test_a_code_is_the_users_own(session, people) -> None:
    _row, code = send(session, people.citizen)
    with pytest.raises(otp.CodeRefused, match="请先获取"):
        redeem(session, people.clerk_county, code)


def test_a_deployment_plugs_its_own_notifier(session, people) -> None:
    sent: list[str] = []

    class Gateway:
        def send(self, session, *, to: str, text: str, purpose: str) -> None:  # noqa: ANN001
            sent.append(to)

    assert isinstance(notifier(), OutboxNotifier)
    set_notifier(Gateway())
    try:
        otp.issue(
            session,
            people.citizen,
            purpose="rights",
            mobile=MOBILE,
            notifier=notifier(),
            secret=SECRET,
        )
    finally:
        set_notifier(None)
    assert sent == [MOBILE] and session.query(OutboxMessage).count() == 0


def test_only_an_administrator_reads_the_outbox(client, login, session, people) -> None:
    _row, code = send(session, people.citizen)
    session.flush()
    page = login("admin").get("/admin/outbox")
    assert page.status_code == 200 and code in page.text and MOBILE in page.text
    for role in ("citizen", "clerk_county", "reviewer_prov", "auditor"):
        r = login(role).get("/admin/outbox", follow_redirects=False)
        assert r.status_code == 403 and code not in r.text, role
    client.cookies.clear()
    r = client.get("/admin/outbox", follow_redirects=False)
    assert r.status_code in (303, 401) and code not in r.text
