"""Correction tasks (QUA-1): failed rules open tasks with the authority's deadline,
a passing version closes them, the provider may confirm with a reason."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.errors import InvalidInput
from gongshu.quality import corrections
from tests.quality.conftest import good_rows, planted_rows

TODAY = dt.date.today()


def test_failed_rules_open_tasks_and_a_fixed_version_closes_them(session, people, load) -> None:  # noqa: ANN001
    corrections.set_deadline(session, 10, actor=people.reviewer_county)
    load(planted_rows(TODAY - dt.timedelta(days=120)))
    tasks = [t for t in corrections.queue(session, people.clerk_county) if t.status == "open"]
    assert {t.dimension for t in tasks} >= {"completeness", "validity", "consistency", "timeliness"}
    assert all(t.deadline is not None or t.deadline_warning for t in tasks)
    load(good_rows(20, TODAY), "fixed.csv")
    after = corrections.queue(session, people.clerk_county)
    assert {t.status for t in after} == {"fixed"}


def test_provider_confirms_with_a_reason_not_by_marking_fixed(session, people, load) -> None:  # noqa: ANN001
    load(planted_rows(TODAY - dt.timedelta(days=120)))
    task = next(t for t in corrections.queue(session, people.clerk_county) if t.status == "open")
    assert task.deadline is None and "尚未设定" in task.deadline_warning
    with pytest.raises(InvalidInput):
        corrections.resolve(session, task.id, actor=people.clerk_county, status="fixed", reason="x")
    corrections.resolve(
        session, task.id, actor=people.clerk_county, status="confirmed", reason="经核实属实"
    )
    assert task.status == "confirmed" and task.closed_by == people.clerk_county.actor
