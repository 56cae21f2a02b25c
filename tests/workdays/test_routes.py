"""The clock for people: coverage, a deadline that refuses to guess, entering a year (CLK-4)."""

from __future__ import annotations

from datetime import timedelta

from gongshu.accounts import service as accounts


def headers(session, user) -> dict:  # noqa: ANN001
    token, _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=1))
    session.flush()
    return {"Authorization": f"Bearer {token}"}


def test_deadline_across_national_day_and_into_an_unknown_year(client, session, people) -> None:
    h = headers(session, people.clerk_county)
    r = client.get(
        "/api/v1/calendar/deadline",
        params={"received": "2024-09-30T10:00:00+08:00", "workdays": 10},
        headers=h,
    )
    # Oct 1-7 2024 are holidays, Oct 12 a swapped working Saturday: 10 working days -> Oct 18.
    assert r.status_code == 200 and r.json()["deadline"].startswith("2024-10-18T16:00:00")
    r = client.get(
        "/api/v1/calendar/deadline",
        params={"received": "2026-12-28T10:00:00+08:00", "workdays": 10},
        headers=h,
    )
    assert r.status_code == 409 and "2027" in r.json()["message"]


def test_admin_enters_2027_and_the_deadline_becomes_computable(
    client, login, session, people
) -> None:
    login("admin")
    page = client.get("/calendar").text
    assert "节假日安排" in page
    r = client.post(
        "/calendar",
        data={
            "year": "2027",
            "source": "国办发明电〔2026〕7号",
            "days": "2027-01-01,放假,元旦\n2027-13-01,放假,坏日期",
        },
    )
    assert r.status_code == 400 and "第 2 行的日期无效" in r.text
    r = client.post(
        "/calendar",
        data={
            "year": "2027",
            "source": "国办发明电〔2026〕7号",
            "days": "2027-01-01,放假,元旦\n2027-01-02,放假,元旦",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "国办发明电〔2026〕7号" in client.get("/calendar").text
    r = client.get(
        "/api/v1/calendar/deadline",
        params={"received": "2026-12-28T10:00:00+08:00", "workdays": 10},
        headers=headers(session, people.clerk_county),
    )
    # Dec 29-31 (3), Jan 1-2 off, Jan 4-8 (5), Jan 11-12 (2): the 10th is Jan 12.
    assert r.status_code == 200 and r.json()["deadline"].startswith("2027-01-12T16:00:00")
