"""The load enqueues the quality report (QUA-1); the job makes it once; a version
loaded later than its update frequency allows fails timeliness."""

from __future__ import annotations

import datetime as dt

from gongshu.config import Settings
from gongshu.datasets import service as datasets
from gongshu.jobs import attach
from gongshu.jobs.models import Job
from gongshu.quality import assessment, corrections
from gongshu.quality.jobs import run_quality_report
from gongshu.quality.models import QualityReport
from tests.quality.conftest import good_rows, planted_rows, write_csv

TODAY = dt.date.today()


def test_load_enqueues_the_report_and_the_job_runs_it_once(
    session, people, subsidy, datasets_dir, tmp_path
) -> None:  # noqa: ANN001
    version = datasets.load(
        session,
        subsidy.id,
        write_csv(tmp_path / "a.csv", good_rows(10, TODAY)),
        actor=people.clerk_county,
        datasets_dir=datasets_dir,
    )
    job = session.query(Job).filter_by(dedupe_key=f"quality:dataset_version:{version.id}").one()
    assert job.kind == "quality.report"
    assert job.payload == {"version_id": version.id}  # no path: the instance may move
    attach(session, Settings(data_dir=datasets_dir.parent))
    first = run_quality_report(session, job.payload)
    again = run_quality_report(session, job.payload)
    assert first == again and session.query(QualityReport).count() == 1
    assert first["overall"] == 100.0


def test_a_late_version_fails_timeliness(session, people, subsidy, load) -> None:  # noqa: ANN001
    v1, _ = load(good_rows(10, TODAY))
    v1.created_at = v1.created_at - dt.timedelta(days=40)  # 每月 allows 31 days
    session.flush()
    _, report = load(good_rows(10, TODAY), "v2.csv")
    late = next(r for r in report.results if r["expectation"] == "expect_version_on_schedule")
    assert late["dimension"] == "timeliness" and not late["passed"]
    assert "40 天" in late["detail"] or "39 天" in late["detail"]


def test_overdue_tasks_show_to_the_authority_and_rank_the_agency(session, people, load) -> None:  # noqa: ANN001
    corrections.set_deadline(session, 5, actor=people.reviewer_county)
    load(planted_rows(TODAY - dt.timedelta(days=120)))
    tasks = [t for t in corrections.queue(session, people.clerk_county) if t.status == "open"]
    assert tasks and all(t.deadline is not None or t.deadline_warning for t in tasks)
    assert corrections.overdue(session, people.reviewer_county) == []
    tasks[0].deadline = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    session.flush()
    assert corrections.overdue(session, people.reviewer_county) == [tasks[0]]
    assert corrections.overdue(session, people.reviewer_prov) == [tasks[0]]  # province sees all
    result = assessment.assess(
        session, actor=people.reviewer_prov, scope="agency", value=str(people.org["civil"].id)
    )
    (row,) = result.ranking
    assert row["rank"] == 1 and row["score"] < 100 and row["open_tasks"] == len(tasks)
    assert "东湖区民政局" in result.scope_value
    stats = assessment.statistics(session, actor=people.reviewer_prov, tier="county")
    (civil,) = stats
    assert civil.entries == 1 and civil.fields == 7 and civil.rows == 20
    assert civil.sharing == {"conditional": 1} and civil.fresh == 1 and civil.score == row["score"]
