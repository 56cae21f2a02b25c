"""The one lifecycle of statutory clocks (CLK-1..CLK-4, GOV-2): a clock starts with a
deadline or, when its period reaches a year without a schedule, with NULL and the one
warning; entering that year fills every capability's deadlines in the same transaction;
the job worker refreshes them on start and periodically; overdue lists what is late."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

import gongshu
from gongshu.capabilities import clocks as all_clock_specs
from gongshu.capabilities import load_job_handlers
from gongshu.exchange import service as sharing
from gongshu.exchange.clocks import SHARING_ANSWER
from gongshu.exchange.models import SharingApplication
from gongshu.jobs import Worker, periodic_tasks
from gongshu.ledger import entries
from gongshu.timeutil import BEIJING
from gongshu.workdays import (
    Calendar,
    ClockSpec,
    Period,
    enter_year,
    lifecycle,
    refresh,
    schedule_warning,
    start_clock,
)
from gongshu.workdays.jobs import REFRESH_EVERY, refresh_all
from tests.exchange.conftest import APPLICATION, publish
from tests.web.world import seed_world

from .test_schedule import DAYS_2027, SOURCE_2027


def bj(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BEIJING)


def test_a_period_is_working_days_natural_days_or_hours() -> None:
    cal = Calendar()
    # 27 Sep 2024 + 10 working days crosses National Day and two swapped working days.
    assert Period(workdays=10).ends(cal, bj(2024, 9, 27, 10)) == bj(2024, 10, 17)
    # 15 days from 20 Sep 2024 end on Sat 5 Oct, inside the holiday: moved to Tue 8 Oct.
    assert Period(days=15).ends(cal, bj(2024, 9, 20, 10)) == bj(2024, 10, 9)
    assert Period(hours=8).ends(cal, bj(2024, 10, 1, 3)) == bj(2024, 10, 1, 11)
    assert [Period(workdays=10).label(), Period(days=15).label(), Period(hours=72).label()] == [
        "10 个工作日",
        "15 日",
        "72 小时",
    ]
    for wrong in ({}, {"workdays": 1, "hours": 2}):
        with pytest.raises(ValueError):
            Period(**wrong)


def test_starting_a_clock_computes_the_deadline(session) -> None:  # noqa: ANN001
    app = SharingApplication(received_at=bj(2024, 9, 27, 10), deadline_warning="旧提示")
    assert start_clock(session, SHARING_ANSWER, app) == bj(2024, 10, 17)
    assert app.deadline == bj(2024, 10, 17) and app.deadline_warning is None


def test_a_year_without_a_schedule_leaves_null_and_the_one_warning(session) -> None:  # noqa: ANN001
    app = SharingApplication(received_at=bj(2026, 12, 28, 9))
    assert start_clock(session, SHARING_ANSWER, app) is None
    assert app.deadline is None
    assert app.deadline_warning == (
        "2027 年节假日安排尚未录入，无法计算答复期限（收到申请后 10 个工作日）；"
        "请管理员按国务院办公厅通知录入 2027 年放假调休安排，录入后自动计算；申请已受理。"
    )
    assert app.deadline_warning == schedule_warning(
        2027, what="答复期限", basis="收到申请后 10 个工作日", note="申请已受理"
    )


def test_no_period_or_no_start_is_said_not_guessed(session) -> None:  # noqa: ANN001
    spec = ClockSpec(
        name="probe",
        model=SharingApplication,
        start=lambda app: None,
        deadline="deadline",
        warning="deadline_warning",
        period=lambda _s, app: Period(workdays=3) if app.term_days else None,
        basis="测试",
        no_start="尚未起算",
        no_period="尚未设定期限",
    )
    app = SharingApplication(term_days=0)
    assert start_clock(session, spec, app) is None and app.deadline_warning == "尚未设定期限"
    app.term_days = 30
    assert start_clock(session, spec, app) is None and app.deadline_warning == "尚未起算"


def _move_into_late_2026(session, when: dt.datetime) -> None:  # noqa: ANN001
    """Every running clock of the world starts at ``when``, so it reaches into 2027."""
    from gongshu.compliance.models import AuditEngagement, Incident, IncidentReport
    from gongshu.exchange.models import ErrorReport
    from gongshu.federation.models import CrossSharing
    from gongshu.market.models import Dispute
    from gongshu.opendata.models import OpenApplication, OpenBreach
    from gongshu.privacy.models import RightsRequest
    from gongshu.quality.models import CorrectionTask

    for spec in all_clock_specs():
        for row in session.scalars(select(spec.model).where(*lifecycle.running(spec))):
            if isinstance(row, SharingApplication | RightsRequest):
                row.received_at = when
            elif isinstance(row, AuditEngagement):
                row.notified_at = when
            elif isinstance(row, IncidentReport):
                incident = session.get(Incident, row.incident_id)
                incident.found_at, incident.handled_at = when, when + dt.timedelta(hours=1)
            elif isinstance(row, CorrectionTask) and row.error_report_id is None:
                row.created_at = when
            elif isinstance(row, CorrectionTask):
                session.get(ErrorReport, row.error_report_id).reported_at = when
            elif isinstance(row, OpenApplication | OpenBreach):
                row.created_at = when
            elif isinstance(row, CrossSharing):
                row.submitted_at = when
            elif isinstance(row, Dispute):
                row.raised_at = when
                row.responded_at = when if row.status == "responded" else None
            setattr(row, spec.deadline, None)
    session.flush()


def _cross_node_application(session) -> None:  # noqa: ANN001
    """A city agency's application to another node, waiting for its answer."""
    from gongshu.federation.models import CrossSharing

    session.add(
        CrossSharing(
            side="consumer",
            ref="0011223344556677",
            consumer_node="city-360100",
            provider_node="province-360000",
            entry_id=1,
            org_ref=1,
            org_name="东湖区民政局",
            org_region="360102",
            applicant="user:1",
            request={},
            state="submitted",
            history=[],
        )  # fmt: skip
    )
    session.flush()


def test_entering_the_year_fills_every_capabilitys_deadlines(
    session, session_factory, settings
) -> None:  # noqa: ANN001
    seed_world(session, session_factory, settings)
    _cross_node_application(session)
    specs = all_clock_specs()
    assert {s.model.__tablename__ for s in specs} >= {
        "federation_sharing",
        "sharing_applications",
        "rights_requests",
        "compliance_incident_reports",
        "compliance_audits",
        "quality_correction_tasks",
        "market_disputes",
        "open_applications",
        "open_breaches",
    }
    _move_into_late_2026(session, bj(2026, 12, 28, 9))
    refresh(session, specs)  # hour clocks need no schedule; 2027 is still missing
    for spec in specs:
        waiting = session.scalars(lifecycle.pending(spec)).all()
        assert waiting, spec.name
        if spec.warning:
            assert all("2027 年节假日安排尚未录入" in getattr(r, spec.warning) for r in waiting)
    before = entries(session, limit=1)[0].position

    enter_year(session, 2027, DAYS_2027, source=SOURCE_2027, actor="user:admin", clocks=specs)
    for spec in specs:
        assert session.scalars(lifecycle.pending(spec)).all() == [], spec.name
    app = session.scalar(
        select(SharingApplication).where(SharingApplication.status == "submitted").limit(1)
    )
    # 29-31 Dec (3), 4-8 Jan (8), 11-12 Jan (10): 24:00 on Tue 12 Jan 2027.
    assert app.deadline == bj(2027, 1, 13) and app.deadline_warning is None
    logged = {e.action for e in entries(session, limit=200) if e.position > before}
    assert logged >= {s.action for s in specs}


def test_overdue_lists_open_clocks_past_their_deadline_in_an_area(session, people) -> None:  # noqa: ANN001
    entry = publish(session, people, code="360000-GA-0101", name="户籍人口信息", attr="conditional")
    late = sharing.apply(
        session, entry.id, actor=people.clerk_county, received_at=bj(2024, 9, 27, 10), **APPLICATION
    )
    answered = sharing.apply(
        session, entry.id, actor=people.clerk_county, received_at=bj(2024, 9, 20, 10), **APPLICATION
    )
    sharing.refuse(
        session, answered.id, actor=people.clerk_prov, reasons="不符合条件", legal_basis="测试依据"
    )
    in_time = sharing.apply(session, entry.id, actor=people.clerk_county, **APPLICATION)
    unknown = sharing.apply(
        session, entry.id, actor=people.clerk_county, received_at=bj(2026, 12, 28, 9), **APPLICATION
    )
    now = bj(2024, 10, 18, 9)
    assert lifecycle.overdue(session, SHARING_ANSWER, now) == [late]
    assert lifecycle.overdue(session, SHARING_ANSWER, now, area="36") == [late]
    assert lifecycle.overdue(session, SHARING_ANSWER, now, area="3601") == []  # a city elsewhere
    assert lifecycle.overdue(session, SHARING_ANSWER, bj(2024, 10, 16, 23)) == []
    # The deadline-unknown one is never late on a guessed date.
    far = bj(2030, 1, 1)
    assert unknown not in lifecycle.overdue(session, SHARING_ANSWER, far)
    assert in_time in lifecycle.overdue(session, SHARING_ANSWER, far)


def test_the_worker_refreshes_on_start_and_periodically(session, session_factory, people) -> None:  # noqa: ANN001
    load_job_handlers()
    assert periodic_tasks()["workdays.refresh"] == (REFRESH_EVERY, refresh_all)
    entry = publish(session, people, code="360000-GA-0101", name="户籍人口信息", attr="conditional")
    app = sharing.apply(
        session, entry.id, actor=people.clerk_county, received_at=bj(2024, 9, 27, 10), **APPLICATION
    )
    # A deadline left unknown that the schedule now covers (a chinese_calendar upgrade).
    app.deadline, app.deadline_warning = None, "旧提示"
    session.commit()

    stop = threading.Event()
    tasks = {"workdays.refresh": periodic_tasks()["workdays.refresh"]}
    tasks["zz.stop"] = (60.0, lambda _session: stop.set())  # runs after the refresh
    worker = Worker(session_factory, periodic=tasks)
    worker.run(stop)  # one loop: the periodic tasks run when it starts, then it stops
    session.refresh(app)
    assert app.deadline == bj(2024, 10, 17) and app.deadline_warning is None
    assert entries(session, action_prefix="sharing.deadline_computed", limit=1)

    app.deadline = None
    session.commit()
    started = 1000.0
    worker = Worker(session_factory)
    assert "workdays.refresh" in worker.run_periodic(now=started)
    session.refresh(app)
    assert app.deadline == bj(2024, 10, 17)
    app.deadline = None
    session.commit()
    # not due yet (other capabilities' tasks, e.g. federation.sync each second, may run)
    assert "workdays.refresh" not in worker.run_periodic(now=started + REFRESH_EVERY - 1)
    session.refresh(app)
    assert app.deadline is None
    assert "workdays.refresh" in worker.run_periodic(now=started + REFRESH_EVERY)
    session.refresh(app)
    assert app.deadline == bj(2024, 10, 17)


def test_workdays_imports_no_capability() -> None:
    """Capabilities import ``gongshu.workdays``, never the reverse."""
    code = (
        "import sys, gongshu.workdays, gongshu.workdays.lifecycle; "
        "print(' '.join({m.split('.')[1] for m in sys.modules if m.startswith('gongshu.')}))"
    )
    src = str(Path(gongshu.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    loaded = set(out.split())
    # the kernel only (capability: the declaration every package __init__ makes)
    assert loaded <= {"workdays", "errors", "timeutil", "db", "config", "capability"}, loaded


def test_entering_a_year_on_the_page_or_the_api_fills_deadlines_at_once(
    client, login, session, people
) -> None:  # noqa: ANN001
    entry = publish(session, people, code="360000-GA-0101", name="户籍人口信息", attr="conditional")
    app = sharing.apply(
        session, entry.id, actor=people.clerk_county, received_at=bj(2026, 12, 28, 9), **APPLICATION
    )
    session.commit()
    assert app.deadline is None
    login("admin")
    r = client.post(
        "/calendar",
        data={"year": "2027", "source": "国办发明电〔2026〕测试", "days": "2027-01-01,放假,元旦"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.refresh(app)
    assert app.deadline == bj(2027, 1, 13) and app.deadline_warning is None

    # Replacing the year through the API refreshes the same way.
    later = sharing.apply(
        session, entry.id, actor=people.clerk_county, received_at=bj(2027, 12, 28, 9), **APPLICATION
    )
    session.commit()
    assert later.deadline is None and "2028" in later.deadline_warning
    r = client.put(
        "/api/v1/calendar/years/2028",
        json={"source": "国办发明电〔2027〕测试", "days": [["2028-01-03", "holiday", "元旦"]]},
    )
    assert r.status_code == 200, r.text
    session.refresh(later)
    assert later.deadline is not None and later.deadline_warning is None
