"""Incident times to the letter: zone-less is Beijing time, the future is refused, each
clock runs from the moment its rule names, and a raised grade starts its clocks."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.compliance import incidents
from gongshu.errors import InvalidInput
from gongshu.ledger.models import LedgerEntry
from gongshu.timeutil import BEIJING, TimeRefused, typed_moment
from tests.compliance.test_incidents import FACTS

UTC = dt.UTC


def test_a_zone_less_time_is_beijing_time_never_utc() -> None:
    assert typed_moment("2026-12-06T10:00", "发现时间") == dt.datetime(
        2026, 12, 6, 2, 0, tzinfo=UTC
    )
    assert typed_moment("2026-12-06 10:00", "发现时间") == dt.datetime(
        2026, 12, 6, 2, 0, tzinfo=UTC
    )
    assert typed_moment("2026-12-06T10:00Z", "发现时间") == dt.datetime(
        2026, 12, 6, 10, 0, tzinfo=UTC
    )
    naive = dt.datetime(2026, 12, 6, 10, 0)
    assert typed_moment(naive, "发现时间") == dt.datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


def test_a_time_in_the_future_is_refused_naming_the_field() -> None:
    now = dt.datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    assert typed_moment("2026-12-06T10:04", "发现时间", now=now)  # within the 5 minutes' skew
    with pytest.raises(TimeRefused, match="发现时间不能晚于当前时间"):
        typed_moment("2026-12-06T10:06", "发现时间", now=now)
    with pytest.raises(TimeRefused, match="发现时间格式应为"):
        typed_moment("明天上午", "发现时间", now=now)


def test_exploit_an_incident_discovered_in_2030_is_refused(session, people) -> None:  # noqa: ANN001
    """The audit's exploit: an incident "discovered" in 2030 was accepted."""
    with pytest.raises(InvalidInput, match="事件发现时间不能晚于当前时间"):
        incidents.record_incident(
            session,
            actor=people.clerk_prov,
            found_at=dt.datetime(2030, 1, 1, 9, 0, tzinfo=BEIJING),
            grade="large",
            **FACTS,
        )


def test_exploit_a_zone_less_time_was_read_as_utc(client, login, people) -> None:  # noqa: ANN001
    """The audit's exploit: "2026-12-06T10:00" sent without a zone was read as UTC, so
    every deadline came 8 hours late. Now it is 02:00 UTC and the 1 hour ends 03:00 UTC."""
    login("clerk_prov")
    body = {
        "title": "门户网站被篡改",
        "system": "政务服务门户",
        "kind": "网页篡改",
        "grade": "large",
        "found_at": "2026-12-06T10:00",
        "occurred_at": "2026-12-06T09:00",
    }
    r = client.post("/api/v1/compliance/incidents", json=body)
    assert r.status_code == 201, r.text
    found = dt.datetime.fromisoformat(r.json()["found_at"])
    assert found == dt.datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    reports = r.json()["reports"]
    due = {x["code"]: dt.datetime.fromisoformat(x["due_at"]) for x in reports if x["due_at"]}
    assert due["cyber_1h"] == dt.datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
    r = client.post("/api/v1/compliance/incidents", json=body | {"found_at": "2030-01-01T09:00"})
    assert r.status_code == 400 and "事件发现时间不能晚于当前时间" in r.json()["message"]


def test_the_form_refuses_a_future_time_beside_the_form(client, login, people) -> None:  # noqa: ANN001
    login("clerk_prov")
    r = client.post(
        "/compliance/incidents/new",
        data={
            "title": "x",
            "system": "s",
            "kind": "k",
            "found_at": "2030-01-01T09:00",
            "occurred_at": "2026-12-01T09:00",
        },
    )
    assert r.status_code == 400 and "事件发现时间不能晚于当前时间" in r.text
    assert 'value="x"' in r.text


def test_each_clock_runs_from_the_moment_its_rule_names(session, people) -> None:  # noqa: ANN001
    """NDSMR 11 "在发生安全事件的八小时内" and PIA-A 27 "事件发生后72小时内" run from the
    occurrence; the incident measures' 1 and 24 hours from the discovery."""
    occurred = dt.datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING)
    found = dt.datetime(2026, 3, 3, 14, 0, tzinfo=BEIJING)
    inc = incidents.record_incident(
        session,
        actor=people.clerk_prov,
        found_at=found,
        occurred_at=occurred,
        grade="large",
        personal_info=True,
        people_affected=200_000,
        **FACTS,
    )
    due = {r.code: r.due_at.astimezone(BEIJING) for r in inc.reports if r.due_at}
    assert due["leak_8h"] == occurred + dt.timedelta(hours=8)
    assert due["pi_72h"] == occurred + dt.timedelta(hours=72)
    assert due["cyber_1h"] == found + dt.timedelta(hours=1)
    assert due["cyber_24h"] == found + dt.timedelta(hours=24)


def test_an_occurrence_after_the_discovery_is_refused(session, people) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput, match="事件发生时间不能晚于发现时间"):
        incidents.record_incident(
            session,
            actor=people.clerk_prov,
            found_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING),
            occurred_at=dt.datetime(2026, 3, 2, 10, 0, tzinfo=BEIJING),
            **FACTS,
        )


def test_raising_the_grade_starts_the_clocks_of_the_new_grade(session, people) -> None:  # noqa: ANN001
    found = dt.datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING)
    inc = incidents.record_incident(
        session, actor=people.clerk_prov, found_at=found, grade="general", **FACTS
    )
    assert inc.reports == []
    incidents.update_facts(session, inc.id, actor=people.clerk_prov, grade="major")
    codes = {r.code: r for r in inc.reports}
    assert set(codes) == {"cyber_1h", "cyber_24h", "cyber_5wd"}
    # From the discovery, as the rule says, not from the upgrade.
    assert codes["cyber_1h"].due_at.astimezone(BEIJING) == found + dt.timedelta(hours=1)
    entry = session.query(LedgerEntry).filter_by(action="incident.facts_updated").one()
    assert entry.payload["before"]["grade"] == "general"
    assert [a["code"] for a in entry.payload["added"]] == ["cyber_1h", "cyber_24h", "cyber_5wd"]
    # A downgrade does not cancel a running clock.
    incidents.update_facts(session, inc.id, actor=people.clerk_prov, grade="general")
    assert {r.code for r in inc.reports} == set(codes)


def test_raising_the_grade_on_the_page(client, login, people, session) -> None:  # noqa: ANN001
    inc = incidents.record_incident(
        session,
        actor=people.clerk_prov,
        found_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING),
        grade="general",
        **FACTS,
    )
    login("clerk_prov")
    r = client.post(
        f"/compliance/incidents/{inc.id}/facts",
        data={"grade": "large", "people_affected": "0"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "网络安全事件报告（1小时内）" in r.text
