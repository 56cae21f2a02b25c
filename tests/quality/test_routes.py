"""Quality JSON API: reports with scores, rules read and replaced, the task queue."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest

from gongshu.accounts import service as accounts
from tests.quality.conftest import good_rows, planted_rows

TODAY = dt.date.today()


@pytest.fixture
def auth(session, people):  # noqa: ANN001, ANN201
    def headers(user) -> dict:  # noqa: ANN001
        token, _ = accounts.issue_token(session, user, kind="api", ttl=timedelta(hours=1))
        session.flush()
        return {"Authorization": f"Bearer {token}"}

    return headers


def test_reports_rules_and_tasks(client, auth, people, load, subsidy) -> None:  # noqa: ANN001
    load(planted_rows(TODAY - dt.timedelta(days=120)))
    load(good_rows(20, TODAY), "fixed.csv")
    clerk = auth(people.clerk_county)
    reports = client.get(f"/api/v1/quality/entries/{subsidy.id}/reports", headers=clerk).json()
    assert [r["version_no"] for r in reports] == [1, 2]
    assert reports[0]["overall"] < reports[1]["overall"] == 100.0
    rules = client.get(f"/api/v1/quality/entries/{subsidy.id}/rules", headers=clerk).json()
    assert rules["version"] == 1
    r = client.put(
        f"/api/v1/quality/entries/{subsidy.id}/rules",
        json={"rules": rules["rules"][:3], "reason": "精简"},
        headers=clerk,
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    r = client.put(
        f"/api/v1/quality/entries/{subsidy.id}/rules",
        json={
            "rules": [{"expectation": "expect_column_values_to_not_be_null", "column": "无此字段"}]
        },
        headers=clerk,
    )
    assert r.status_code == 400 and "字段不在目录中" in r.text
    tasks = client.get("/api/v1/quality/tasks", headers=clerk).json()
    assert tasks and {t["status"] for t in tasks} == {"fixed"}
    other = client.put(
        f"/api/v1/quality/entries/{subsidy.id}/rules",
        json={"rules": rules["rules"]},
        headers=auth(people.clerk_prov),
    )
    assert other.status_code == 403
