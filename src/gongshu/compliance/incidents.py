"""Security incidents and their reporting clocks (SEC-10, SEC-11, SEC-12, CLK-1..4).

From the facts entered (cyber-incident grade, personal information or important
data involved, people affected, harm done) ``obligations`` derives every report
SEC-11 asks for. Each clock runs from the moment its rule names (occurrence or
discovery, see ``clocks``): hour clocks through nights and holidays (CLK-2),
working-day clocks to 24:00 of the n-th working day after that day or after the
end of handling (CLK-1). Every time a person gives is read by
``timeutil.typed_moment``: without a zone it is Beijing time, never UTC, and a time
in the future is refused. Raising the grade (or the facts) later starts the clocks
the new facts give rise to, from the same moments (``update_facts``). A clock that reaches a
year without a holiday schedule has no deadline and says why (CLK-4).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.accounts.models import User
from gongshu.compliance.clocks import (  # noqa: F401 (re-exported)
    CLOCKS,
    GRADE_LABELS,
    INCIDENT_REPORTS,
    RULES,
    Rule,
    obligations,
)
from gongshu.compliance.errors import IncidentNotFound, NotYourOrganization
from gongshu.compliance.models import Incident, IncidentNotification, IncidentReport
from gongshu.errors import InvalidField, InvalidInput
from gongshu.ledger import record
from gongshu.timeutil import TimeRefused, as_utc, typed_moment, utcnow
from gongshu.workdays import Calendar, lifecycle, start_clock


def _refresh(session: Session, incident: Incident) -> None:
    calendar = Calendar(session)
    for report in incident.reports:
        start_clock(session, INCIDENT_REPORTS, report, calendar)
    session.flush()


FIELDS_TEXT = (
    "system",
    "place",
    "kind",
    "harm",
    "measures",
    "trend",
    "cause",
    "clue_attacker",
    "clue_path",
    "clue_vulnerability",
    "further_measures",
    "help_needed",
    "scene_protection",
)


TIME_LABELS = {
    "found_at": "事件发现时间",
    "occurred_at": "事件发生时间",
    "handled_at": "处置结束时间",
    "notified_at": "通知时间",
    "submitted_at": "报送时间",
}


def moment(value: dt.datetime | str, field: str) -> dt.datetime:
    """A time a person gave for ``field``: zone-less is Beijing time, the future refused."""
    try:
        return typed_moment(value, TIME_LABELS[field])
    except TimeRefused as exc:
        raise InvalidField(str(exc), field=field, detail={"field": field}) from None


def _check_people(n: object, field: str = "people_affected") -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        said = "受影响人数" if field == "people_affected" else "通知人数"
        raise InvalidField(f"{said}必须是不小于 0 的整数，收到 {n!r}", field=field)
    return n


def _grade(grade: object) -> str:
    if grade not in GRADE_LABELS:
        raise InvalidField("请选择网络安全事件级别", field="grade")
    return str(grade)


def record_incident(
    session: Session, *, actor: User, org_id: int | None = None, **facts
) -> Incident:  # noqa: ANN003
    """Record an incident with the SEC-12 fields and derive its SEC-11 reports."""
    org_id = org_id if org_id is not None else actor.org_id
    if org_id is None:
        raise InvalidInput("事件必须属于一个单位")
    # Every problem of the record at once, each by its field (issue 17 item 6).
    problems: dict[str, str] = {}

    def keep(check, *args):  # noqa: ANN001, ANN002, ANN202
        try:
            return check(*args)
        except InvalidField as exc:
            problems.update(exc.fields)
            return None

    if not (facts.get("title") or "").strip():
        problems["title"] = "请填写事件名称"
    if not (facts.get("system") or "").strip():
        problems["system"] = "请填写受影响的设施、系统或平台"
    found_at = occurred_at = None
    if facts.get("found_at") is None:
        problems["found_at"] = "请填写事件发现时间"
    else:
        found_at = occurred_at = keep(moment, facts["found_at"], "found_at")
    if facts.get("occurred_at") is not None:
        occurred_at = keep(moment, facts["occurred_at"], "occurred_at")
        if occurred_at and found_at and occurred_at > found_at:
            problems["occurred_at"] = "事件发生时间不能晚于发现时间"
    if not (facts.get("kind") or "").strip():
        problems["kind"] = "请填写事件类型"
    keep(_grade, facts.get("grade") or "general")
    keep(_check_people, facts.get("people_affected", 0))
    if problems:
        raise InvalidField.of(problems)
    incident = Incident(
        org_id=org_id,
        title=facts["title"].strip(),
        found_at=found_at,
        occurred_at=occurred_at,
        grade=facts.get("grade") or "general",
        personal_info=bool(facts.get("personal_info")),
        important_data=bool(facts.get("important_data")),
        people_affected=_check_people(facts.get("people_affected", 0)),
        harm_done=bool(facts.get("harm_done")),
        ransom_amount=facts.get("ransom_amount") or None,
        ransom_method=facts.get("ransom_method") or None,
        ransom_date=facts.get("ransom_date"),
        created_by=actor.actor,
        **{k: (facts.get(k) or "").strip() for k in FIELDS_TEXT},
    )
    if not incident.system or not incident.kind:
        raise InvalidInput("请填写受影响的设施、系统或平台和事件类型")
    rules = obligations(
        grade=incident.grade,
        personal_info=incident.personal_info,
        important_data=incident.important_data,
        people_affected=incident.people_affected,
        harm_done=incident.harm_done,
    )
    incident.reports = [IncidentReport(code=r.code) for r in rules]
    session.add(incident)
    session.flush()
    _refresh(session, incident)
    record(
        session,
        "incident.recorded",
        actor=actor.actor,
        subject=f"incident:{incident.id}",
        payload={
            "org": org_id,
            "found_at": incident.found_at,
            "occurred_at": incident.occurred_at,
            "grade": incident.grade,
            "personal_info": incident.personal_info,
            "important_data": incident.important_data,
            "people_affected": incident.people_affected,
            "harm_done": incident.harm_done,
            "reports": [{"code": r.code, "due_at": r.due_at} for r in incident.reports],
        },
    )
    return incident


def get(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"安全事件不存在：{incident_id}")
    return incident


def can_see(incident: Incident, user: User) -> bool:
    from gongshu.compliance.access import supervises

    return user.org_id == incident.org_id or supervises(user)


def get_visible(session: Session, incident_id: int, user: User) -> Incident:
    incident = get(session, incident_id)
    if not can_see(incident, user):
        raise NotYourOrganization("只能查看本单位的安全事件")
    return incident


def _own(session: Session, incident_id: int, user: User) -> Incident:
    incident = get(session, incident_id)
    if user.org_id != incident.org_id and "admin" not in user.roles:
        raise NotYourOrganization("只能处理本单位的安全事件")
    return incident


def listing(session: Session, user: User) -> list[Incident]:
    from gongshu.compliance.access import supervises

    q = select(Incident).order_by(Incident.found_at.desc())
    if not supervises(user):
        q = q.where(Incident.org_id == user.org_id)
    return list(session.scalars(q))


def mark_handled(session: Session, incident_id: int, *, actor: User, at: dt.datetime) -> Incident:
    """The end of handling: starts the 5-working-day clocks (SEC-11)."""
    incident = _own(session, incident_id, actor)
    at = moment(at, "handled_at")
    if at < as_utc(incident.found_at):
        raise InvalidField(
            "处置结束时间不能早于发现时间", field="handled_at", detail={"field": "handled_at"}
        )
    incident.handled_at = at
    _refresh(session, incident)
    record(
        session,
        "incident.handled",
        actor=actor.actor,
        subject=f"incident:{incident.id}",
        payload={"handled_at": at, "due": {r.code: r.due_at for r in incident.reports}},
    )
    return incident


def update_facts(
    session: Session,
    incident_id: int,
    *,
    actor: User,
    grade: str | None = None,
    personal_info: bool | None = None,
    important_data: bool | None = None,
    people_affected: int | None = None,
    harm_done: bool | None = None,
) -> Incident:
    """Correct the facts found later, e.g. raise the grade: the reports the new facts
    give rise to are added with their clocks, which run from the moments their rules
    name (occurrence or discovery), not from the change. Obligations already arisen
    stay (a downgrade does not cancel a running clock)."""
    incident = _own(session, incident_id, actor)
    before = {
        "grade": incident.grade,
        "personal_info": incident.personal_info,
        "important_data": incident.important_data,
        "people_affected": incident.people_affected,
        "harm_done": incident.harm_done,
    }
    after = dict(before)
    if grade is not None:
        _grade(grade)
    for key, value in (
        ("grade", grade),
        ("personal_info", personal_info),
        ("important_data", important_data),
        ("harm_done", harm_done),
    ):
        if value is not None:
            after[key] = value
    if people_affected is not None:
        after["people_affected"] = _check_people(people_affected)
    rules = obligations(**after)
    for key, value in after.items():
        setattr(incident, key, value)
    have = {r.code for r in incident.reports}
    added = [IncidentReport(code=r.code) for r in rules if r.code not in have]
    incident.reports.extend(added)
    session.flush()
    _refresh(session, incident)
    record(
        session,
        "incident.facts_updated",
        actor=actor.actor,
        subject=f"incident:{incident.id}",
        payload={
            "before": before,
            "after": after,
            "added": [{"code": r.code, "due_at": r.due_at} for r in added],
        },
    )
    return incident


def submit_report(
    session: Session, incident_id: int, code: str, *, actor: User, at: dt.datetime | None = None
) -> IncidentReport:
    """Generate the report for the authority and record that it was submitted."""
    from gongshu.compliance import reports
    from gongshu.documents import render_pdf

    incident = _own(session, incident_id, actor)
    report = next((r for r in incident.reports if r.code == code), None)
    if report is None:
        raise InvalidInput(f"该事件没有此项报告义务：{code}")
    if report.submitted_at is not None:
        raise InvalidInput(f"“{RULES[code].title}”已于此前报送")
    pdf = render_pdf(reports.incident_report(incident, report))
    report.submitted_at = moment(at, "submitted_at") if at else utcnow()
    report.submitted_by = actor.actor
    report.sha256 = hashlib.sha256(pdf).hexdigest()
    session.flush()
    record(
        session,
        "incident.reported",
        actor=actor.actor,
        subject=f"incident:{incident.id}",
        payload={
            "code": code,
            "recipient": RULES[code].recipient,
            "due_at": report.due_at,
            "on_time": on_time(report),
            "sha256": report.sha256,
        },
    )
    return report


def notify(
    session: Session,
    incident_id: int,
    *,
    actor: User,
    channel: str,
    recipients: int,
    text: str,
    at: dt.datetime | None = None,
) -> IncidentNotification:
    """Record a notice to the affected people (SEC-10); it meets the 3-working-day report."""
    incident = _own(session, incident_id, actor)
    problems = {}
    if not channel.strip():
        problems["channel"] = "请填写通知方式"
    if not text.strip():
        problems["text"] = "请填写通知内容"
    if problems:
        raise InvalidField.of(problems)
    _check_people(recipients, "recipients")
    note = IncidentNotification(
        incident_id=incident.id,
        channel=channel.strip(),
        recipients=recipients,
        text=text.strip(),
        notified_at=moment(at, "notified_at") if at else utcnow(),
        actor=actor.actor,
    )
    incident.notifications.append(note)
    for report in incident.reports:
        if report.code == "notify_3wd" and report.submitted_at is None:
            report.submitted_at, report.submitted_by = note.notified_at, actor.actor
    session.flush()
    record(
        session,
        "incident.notified",
        actor=actor.actor,
        subject=f"incident:{incident.id}",
        payload={"channel": note.channel, "recipients": recipients, "at": note.notified_at},
    )
    return note


def on_time(report: IncidentReport) -> bool | None:
    """Whether the report was (or still can be) made in time; None when unknown."""
    return lifecycle.on_time(report.due_at, report.submitted_at)


def next_due(incident: Incident) -> IncidentReport | None:
    """The next report still to be made, earliest deadline first (shown with a countdown)."""
    open_ = [r for r in incident.reports if r.submitted_at is None]
    timed = sorted((r for r in open_ if r.due_at is not None), key=lambda r: as_utc(r.due_at))
    return timed[0] if timed else (open_[0] if open_ else None)


def countdown(report: IncidentReport, now: dt.datetime | None = None) -> str:
    """Time left (or overdue) in words, for the page."""
    if report.due_at is None:
        return "期限未定"
    delta = as_utc(report.due_at) - (now or utcnow())
    seconds = int(delta.total_seconds())
    sign, seconds = ("已逾期 ", -seconds) if seconds < 0 else ("剩余 ", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = (f"{days} 天 " if days else "") + f"{hours} 小时 {minutes} 分"
    return sign + text


def refresh_deadlines(session: Session) -> int:
    """Compute report deadlines left unknown once the missing year's schedule is entered
    (CLK-4) and ordered-audit deadlines likewise; returns how many were filled."""
    return len(lifecycle.refresh(session, CLOCKS))
