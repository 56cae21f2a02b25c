"""The obligations register (OBL-1..OBL-5, SEC-2) as a table of cases."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.compliance import obligations
from gongshu.compliance.obligations import Profile

TODAY = dt.date(2026, 2, 10)

CASES = [
    # (requirement, profile, codes that must apply, codes that must not)
    ("AUD-1 two-yearly", Profile(people=5_000), {"AUD-1", "SEC-7"}, {"OBL-3", "SEC-6", "OBL-2"}),
    ("OBL-3 1,000,000 people", Profile(people=1_000_000), {"OBL-3", "SEC-6", "AUD-1"}, {"SEC-2"}),
    ("SEC-2 important data", Profile(important_data=True), {"SEC-2", "SEC-6", "SEC-8"}, {"AUD-1"}),
    ("PIP-8 sensitive", Profile(people=10, sensitive_people=3), {"PIP-8"}, {"XBR-4"}),
    ("XBR-4 export", Profile(people=10, provides_abroad=True), {"XBR-4"}, {"OBL-2"}),
    (
        "OBL-2 large platform",
        Profile(
            kind="enterprise", platform_classes=["social"], users=60_000_000, market_value_yi=2_000
        ),
        {"OBL-2", "AUD-7"},
        {"SEC-2"},
    ),
    (
        "OBL-1 small platform",
        Profile(kind="enterprise", platform_classes=["life"], users=1_000_000),
        set(),
        {"OBL-2", "AUD-7"},
    ),
    (
        "OBL-4 algorithm",
        Profile(services=["algorithm_opinion"], service_started_on=TODAY),
        {"OBL-4"},
        set(),
    ),
    ("OBL-5 generative AI", Profile(services=["generative_ai", "games"]), {"OBL-5"}, {"OBL-4"}),
    ("agency without personal information", Profile(), set(), {"AUD-1", "SEC-7", "SEC-6"}),
]


@pytest.mark.parametrize(("req", "profile", "must", "must_not"), CASES, ids=[c[0] for c in CASES])
def test_register(session, req, profile, must, must_not) -> None:  # noqa: ANN001
    codes = {o.code for o in obligations.register(session, profile, today=TODAY)}
    assert must <= codes, req
    assert not (must_not & codes), req
    for o in obligations.register(session, profile, today=TODAY):
        assert o.rule, o.code  # every obligation cites its rule


@pytest.mark.parametrize(
    ("profile", "level"),
    [
        (
            Profile(
                platform_classes=["sales", "finance"], users=600_000_000, market_value_yi=12_000
            ),
            "super",
        ),
        (Profile(platform_classes=["sales"], users=600_000_000, market_value_yi=12_000), "large"),
        (Profile(platform_classes=["sales"], users=50_000_000, market_value_yi=1_000), "large"),
        (
            Profile(platform_classes=["sales"], users=49_999_999, market_value_yi=1_000),
            "small_medium",
        ),
        (Profile(), None),
    ],
)
def test_platform_levels_obl1(profile, level) -> None:  # noqa: ANN001
    assert obligations.platform_level(profile) == level


def test_important_data_filing_15_working_days_across_the_spring_festival(session) -> None:  # noqa: ANN001
    """SEC-2: identified Tuesday 10 February 2026; 15 working days with Sat 14 Feb worked and
    15-23 Feb off: 11,12,13,14,24,25,26,27,28 Feb, 2,3,4,5,6,9 March."""
    p = Profile(important_data=True, important_identified_on=dt.date(2026, 2, 10))
    [filing] = [o for o in obligations.register(session, p, today=TODAY) if o.code == "SEC-2"]
    assert filing.due == dt.date(2026, 3, 9)
    sec6 = next(o for o in obligations.register(session, p, today=TODAY) if o.code == "SEC-6")
    assert sec6.due == dt.date(2027, 1, 31)


def test_filing_reaching_2027_is_unknown(session) -> None:  # noqa: ANN001
    p = Profile(important_data=True, important_identified_on=dt.date(2026, 12, 20))
    [filing] = [o for o in obligations.register(session, p, today=TODAY) if o.code == "SEC-2"]
    assert filing.due is None and "2027" in filing.due_note


def test_algorithm_filing_10_working_days(session) -> None:  # noqa: ANN001
    """OBL-4: service started Wednesday 6 May 2026, after Labour Day; Saturday 9 May is a
    swapped working day: 7, 8, 9, 11, 12, 13, 14, 15, 18, 19 May."""
    p = Profile(services=["algorithm_opinion"], service_started_on=dt.date(2026, 5, 6))
    [o] = [o for o in obligations.register(session, p, today=TODAY) if o.code == "OBL-4"]
    assert o.due == dt.date(2026, 5, 19)
