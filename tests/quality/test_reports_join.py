"""QUA-3: a consumer's error report joins the provider's correction queue; answering
the task answers the report."""

from __future__ import annotations

import datetime as dt

from gongshu.capabilities import load_job_handlers
from gongshu.exchange import reports, service
from gongshu.jobs import Worker
from gongshu.quality import corrections
from tests.exchange.conftest import APPLICATION, publish


def test_error_report_becomes_a_task_and_its_answer(session, session_factory, people) -> None:  # noqa: ANN001
    entry = publish(session, people, code="360000-GA-0101", name="户籍人口信息", attr="conditional")
    app = service.apply(session, entry.id, actor=people.clerk_county, **APPLICATION)
    service.approve(session, app.id, actor=people.clerk_prov, conditions="仅限核验")
    rep = reports.report_error(
        session,
        entry.id,
        actor=people.clerk_county,
        field="公民身份号码",
        row_description="姓名为张伟的一行",
        description="身份号码校验位错误",
        found_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    )
    # Filing enqueued the job that takes it into the provider's queue; GETs only read.
    load_job_handlers()
    while Worker(session_factory).run_once():
        pass
    (task,) = corrections.queue(session, people.clerk_prov)
    assert task.source == "error_report" and task.error_report_id == rep.id
    assert "东湖区民政局反馈" in task.description and task.status == "open"
    corrections.resolve(
        session, task.id, actor=people.clerk_prov, status="fixed", reason="已在新版本中更正"
    )
    assert rep.status == "corrected" and rep.answer == "已在新版本中更正"
    assert corrections.queue(session, people.clerk_prov)[0].status == "fixed"
